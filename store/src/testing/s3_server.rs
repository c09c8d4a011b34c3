//! A real S3-compatible server for tests: `s3s-fs` on a free loopback port
//! over a temporary folder, stopped when dropped. `scripts/test-services` installs it and sets
//! `CANVASS_S3S_FS`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::S3Config;

pub const BUCKET: &str = "evidence";
pub const ACCESS_KEY: &str = "canvass";
pub const SECRET_KEY: &str = "canvass-secret";

pub struct S3Server {
    child: Child,
    pub endpoint: String,
    port: u16,
    root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16, root: &tempfile::TempDir) -> Child {
    let child = Command::new(s3s_fs())
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs starts");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "s3s-fs did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn s3s_fs() -> PathBuf {
    let path = std::env::var_os("CANVASS_S3S_FS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/canvass/tools/bin/s3s-fs")
    });
    assert!(path.is_file(), "{} is missing: run scripts/test-services (it installs s3s-fs)", path.display());
    path
}

impl S3Server {
    /// Starts a server with one empty bucket, `BUCKET`.
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket folder");
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().unwrap().port();
        let child = spawn(port, &root);
        S3Server { child, endpoint: format!("http://127.0.0.1:{port}"), port, root }
    }

    /// Adds another empty bucket.
    pub fn create_bucket(&self, name: &str) {
        std::fs::create_dir_all(self.root.path().join(name)).expect("the bucket folder");
    }

    /// Stops the server: every request is refused until `resume`.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port over the same objects.
    pub fn resume(&mut self) {
        self.child = spawn(self.port, &self.root);
    }

    /// Where the server keeps object `key` (prefix included) on disk: what an attacker with
    /// access to the storage servers would read or change.
    pub fn file_of(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }

    /// A store configuration for the bucket under `prefix`. Sets the credentials in this
    /// process's environment, where the standard AWS chain finds them.
    pub fn config(&self, prefix: &str) -> S3Config {
        // SAFETY: tests set the same two values from any thread; nothing reads them concurrently
        // in a way a torn write could affect beyond a retried request.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
            std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        }
        S3Config {
            prefix: prefix.into(),
            endpoint: Some(self.endpoint.clone()),
            force_path_style: true,
            max_attempts: 2,
            allow_http: true,
            ..S3Config::new(BUCKET)
        }
    }
}
