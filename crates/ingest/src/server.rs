//! A throwaway `nats-server` with JetStream on loopback, for tests and `bench nats`:
//! started from the Debian package's binary (installed with apt-get when missing and
//! we may), killed and restarted over the same store directory.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to install the server, said in errors.
pub const INSTALL_HINT: &str =
    "install it with `apt-get install -y nats-server` (Debian's package, 2.9 or newer, has JetStream)";

/// Why a test server could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// `nats-server` is not installed and could not be installed.
    #[error("nats-server is not installed and installing it failed ({reason}); {INSTALL_HINT}")]
    NotInstalled {
        /// What went wrong.
        reason: String,
    },
    /// It did not start or did not answer.
    #[error("nats-server on port {port}: {reason} (its log: {log})")]
    Start {
        /// The port it was given.
        port: u16,
        /// What went wrong.
        reason: String,
        /// Its log file.
        log: PathBuf,
    },
}

/// The `nats-server` binary: on `PATH`, or installed now (apt-get, as root).
pub fn ensure_installed() -> Result<PathBuf, ServerError> {
    if let Some(p) = find_binary() {
        return Ok(p);
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg("(apt-get update -qq && apt-get install -y -qq nats-server) >/dev/null 2>&1")
        .status();
    match status {
        Ok(s) if s.success() => find_binary().ok_or_else(|| ServerError::NotInstalled {
            reason: "apt-get succeeded but nats-server is not on PATH".into(),
        }),
        Ok(s) => Err(ServerError::NotInstalled {
            reason: format!("apt-get exited with {s}"),
        }),
        Err(e) => Err(ServerError::NotInstalled {
            reason: e.to_string(),
        }),
    }
}

fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// A free TCP port on loopback (free when asked).
pub fn free_port() -> Result<u16, std::io::Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One `nats-server -js` on 127.0.0.1, killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    bin: PathBuf,
    port: u16,
    cluster: Option<(u16, Vec<u16>, String)>,
    store: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a single node whose JetStream store is `dir/store` (log: `dir/nats.log`).
    pub fn start(dir: &Path) -> Result<NatsServer, ServerError> {
        let port = free_port().map_err(|e| ServerError::Start {
            port: 0,
            reason: format!("no free port: {e}"),
            log: dir.join("nats.log"),
        })?;
        NatsServer::start_on(dir, port, None)
    }

    /// Starts a node on `port`; `cluster` is (its cluster port, every node's cluster
    /// port, the cluster's name) for a node of a cluster on loopback.
    pub fn start_on(
        dir: &Path,
        port: u16,
        cluster: Option<(u16, Vec<u16>, String)>,
    ) -> Result<NatsServer, ServerError> {
        let bin = ensure_installed()?;
        let mut s = NatsServer {
            bin,
            port,
            cluster,
            store: dir.join("store"),
            log: dir.join("nats.log"),
            child: None,
        };
        s.restart()?;
        Ok(s)
    }

    /// Starts three nodes of one cluster (JetStream replicated by RAFT) on loopback,
    /// under `dir/n1`, `dir/n2`, `dir/n3`.
    pub fn start_cluster(dir: &Path) -> Result<Vec<NatsServer>, ServerError> {
        let err = |e: std::io::Error| ServerError::Start {
            port: 0,
            reason: format!("no free port: {e}"),
            log: dir.to_path_buf(),
        };
        let mut ports = Vec::new();
        let mut routes = Vec::new();
        for _ in 0..3 {
            ports.push(free_port().map_err(err)?);
            routes.push(free_port().map_err(err)?);
        }
        let mut nodes = Vec::new();
        for (i, (&p, &r)) in ports.iter().zip(&routes).enumerate() {
            let d = dir.join(format!("n{}", i + 1));
            let _ = std::fs::create_dir_all(&d);
            let mut s = NatsServer {
                bin: ensure_installed()?,
                port: p,
                cluster: Some((r, routes.clone(), "tt".into())),
                store: d.join("store"),
                log: d.join("nats.log"),
                child: None,
            };
            s.spawn()?;
            nodes.push(s);
        }
        for n in &mut nodes {
            n.wait_up()?;
        }
        Ok(nodes)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with SIGKILL (its store stays).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// (Re)starts the server on the same port over the same store and waits until it
    /// accepts connections.
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.spawn()?;
        self.wait_up()
    }

    fn spawn(&mut self) -> Result<(), ServerError> {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| self.start_error(format!("opening the log: {e}")))?;
        let mut c = Command::new(&self.bin);
        c.args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(&self.store);
        if let Some((cport, all, name)) = &self.cluster {
            let routes: Vec<String> = all
                .iter()
                .filter(|p| *p != cport)
                .map(|p| format!("nats://127.0.0.1:{p}"))
                .collect();
            c.args(["--cluster_name", name, "--cluster"])
                .arg(format!("nats://127.0.0.1:{cport}"))
                .arg("--routes")
                .arg(routes.join(","))
                .arg("-n")
                .arg(format!("n{cport}"));
        }
        let err = log
            .try_clone()
            .map_err(|e| self.start_error(format!("opening the log: {e}")))?;
        c.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err));
        self.child = Some(
            c.spawn()
                .map_err(|e| self.start_error(format!("spawning: {e}")))?,
        );
        Ok(())
    }

    fn wait_up(&mut self) -> Result<(), ServerError> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(self.start_error(format!("exited with {status}")));
                }
            }
            if Instant::now() > deadline {
                return Err(self.start_error("no connection within 20 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn start_error(&self, reason: String) -> ServerError {
        ServerError::Start {
            port: self.port,
            reason,
            log: self.log.clone(),
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
