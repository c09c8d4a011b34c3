//! HTTPS: `[serve] tls_cert` and `tls_key` (PEM files) make `serve` terminate TLS itself.
//! Without them, `serve` on a non-loopback address still speaks HTTPS, with a self-signed
//! certificate it makes on first start (`self_signed`); plain HTTP there only when told that a
//! proxy in front terminates TLS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client that has not finished its handshake in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const READY_QUEUE: usize = 64;

/// The server's TLS settings from a certificate chain and its private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{}: not a PEM private key: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not go together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A self-signed certificate and key in `dir` (`cert.pem`, `key.pem`), made on first use for
/// `names` (host names or IP addresses); returns their paths and the certificate's SHA-256
/// fingerprint, which clients pin or compare.
pub fn self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf, String), String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !(cert_path.is_file() && key_path.is_file()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let made = rcgen::generate_simple_self_signed(names.to_vec())
            .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
        let write = |path: &Path, text: &str, mode: u32| -> Result<(), String> {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(mode)
                .open(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            file.write_all(text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        write(&key_path, &made.key_pair.serialize_pem(), 0o600)?;
        write(&cert_path, &made.cert.pem(), 0o644)?;
    }
    let der = CertificateDer::from_pem_file(&cert_path)
        .map_err(|e| format!("{}: not a PEM certificate: {e}", cert_path.display()))?;
    use sha2::Digest;
    let fingerprint =
        sha2::Sha256::digest(der.as_ref()).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
    Ok((cert_path, key_path, fingerprint))
}

/// Accepts TCP connections and hands over those that complete a TLS handshake. Handshakes run
/// concurrently, so a slow or silent client does not hold up the others.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if sender.is_closed() {
                    return; // the server is gone
                }
                let (acceptor, handed_over) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = handed_over.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "tls handshake failed"),
                        Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local_addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task ended (the server is going away): wait to be dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}
