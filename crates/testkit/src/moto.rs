//! A local S3-compatible server for tests: moto's `moto_server` (installed by `.ci/run`
//! with `pip install 'moto[server]'`) on a free loopback port, stopped on drop.

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};

/// A running `moto_server`.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts `moto_server` and waits until it accepts connections. Panics with the
    /// command to install it when it is missing.
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free local port: {e}"));
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}): install it with pip install 'moto[server]' (.ci/run does)")
            });
        let mut moto = Moto { child, port };
        // Readiness, not timing: wait until it accepts connections (or died).
        for _ in 0..600 {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited before it was ready: {status}");
            }
            // Answering HTTP, not only accepting: a server still starting may accept
            // a connection and reset it.
            if moto
                .request("GET / HTTP/1.1")
                .is_ok_and(|r| r.starts_with("HTTP/1."))
            {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("moto_server did not accept connections on port {port} within 60 s");
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS variables that point a client at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Creates a bucket with a plain HTTP PUT (moto does not check signatures). A
    /// connection reset (moto's server drops one now and then under load) is retried
    /// a few times; any answer but 200 fails at once.
    pub fn create_bucket(&self, bucket: &str) {
        let mut last = None;
        for _ in 0..20 {
            match self.request(&format!("PUT /{bucket} HTTP/1.1")) {
                Ok(resp) => {
                    assert!(
                        resp.starts_with("HTTP/1.1 200"),
                        "creating the bucket {bucket}: {resp}"
                    );
                    return;
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("creating the bucket {bucket}: {last:?}");
    }

    /// Sends one request line with no body and reads the whole answer.
    fn request(&self, line: &str) -> std::io::Result<String> {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            c,
            "{line}\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut resp = String::new();
        c.read_to_string(&mut resp)?;
        Ok(resp)
    }
}
