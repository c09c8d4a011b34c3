//! What the benchmarks share: for those that drive `canvass serve`, the configuration of one
//! investigator who sees every source and the server process, waited for and stopped; for the
//! ingest benches, their clips (`clips`) and whole-process measurements (`measure`).

pub mod clips;
pub mod measure;

use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::bail;

/// `[[agencies]]` and `[[users]]`: investigator `ana` of an agency over every source, signing
/// in with `token`.
pub fn investigator_config(token: &str) -> String {
    use sha2::Digest;
    let hash = canvass_store::secret::hex(&sha2::Sha256::digest(token.as_bytes()));
    format!(
        "[[agencies]]\nname = \"bench\"\nsources = [\"*\"]\n\n\
         [[users]]\nname = \"ana\"\nrole = \"investigator\"\nagency = \"bench\"\ntoken_sha256 = \"{hash}\"\n"
    )
}

/// A free port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process (a `canvass serve`, a worker, a broker), stopped when dropped.
pub struct Process(pub Child);

/// A running `canvass serve`.
pub type Serve = Process;

impl Process {
    /// Spawns `cmd` (a server listening on `port`) and waits until it accepts.
    pub fn start(cmd: &mut Command, port: u16) -> anyhow::Result<Process> {
        let process = Process(cmd.spawn()?);
        wait_for_port(port)?;
        Ok(process)
    }
}

/// Waits until something accepts connections on loopback `port` (30 s at most).
pub fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("nothing listens on port {port} after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
