//! For tests and benches (feature `testing`): a real RTSP server, GStreamer's, run by
//! `scripts/rtsp-server` (set up by `scripts/test-services`), serving a clip as a camera would.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RtspServer {
    child: Option<Child>,
    clip: PathBuf,
    port: u16,
    credentials: Option<(String, String)>,
}

impl RtspServer {
    /// Serves `clip` (H.264 in MP4) at `rtsp://127.0.0.1:PORT/live`; with `credentials`, only
    /// to clients that give them.
    pub fn start(clip: &Path, credentials: Option<(&str, &str)>) -> RtspServer {
        let mut server = RtspServer {
            child: None,
            clip: clip.to_path_buf(),
            port: 0,
            credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
        };
        server.launch();
        server
    }

    /// The stream's URL, with `credentials` when given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, password)) => format!("rtsp://{user}:{password}@127.0.0.1:{}/live", self.port),
            None => format!("rtsp://127.0.0.1:{}/live", self.port),
        }
    }

    /// Kills the server: clients see the connection drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, serving `clip` (the same one, or another: a camera
    /// whose resolution changed).
    pub fn restart(&mut self, clip: &Path) {
        self.stop();
        self.clip = clip.to_path_buf();
        self.launch();
    }

    fn launch(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/rtsp-server");
        let mut command = Command::new(&script);
        command.arg("--clip").arg(&self.clip).arg("--port").arg(self.port.to_string());
        if let Some((user, password)) = &self.credentials {
            command.args(["--user", user, "--password", password]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/test-services", script.display()));
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let Some(url) = line.trim().strip_prefix("READY ") else {
            let _ = child.kill();
            panic!(
                "the RTSP server did not start (GStreamer's RTSP server and python3-gi: scripts/test-services)"
            );
        };
        let port = url.rsplit_once(':').and_then(|(_, rest)| rest.split('/').next()?.parse().ok());
        self.port = port.expect("READY names the port");
        self.child = Some(child);
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.stop();
    }
}
