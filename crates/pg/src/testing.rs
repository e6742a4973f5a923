//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory,
//! `pg_ctl start` on a unix socket in it (no TCP), `pg_ctl stop -m immediate` on drop.
//!
//! `initdb` refuses to run as root; as root the cluster runs as the `postgres` OS
//! user (created as a system user when there is none) and the directory is handed to
//! it. When the PostgreSQL binaries are not on `PATH`, [`TempCluster::start`] gives
//! `None` and says so loudly on stderr, unless `TRADETRAIL_REQUIRE_PG` is set, when
//! it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// The OS user a cluster runs as when the tests run as root.
const OS_USER: &str = "postgres";

/// A running throwaway cluster (see the module doc). Stopped and removed on drop.
#[derive(Debug)]
pub struct TempCluster {
    root: tempfile::TempDir,
    data: PathBuf,
    user: Option<String>,
    durable: bool,
    /// The port (the socket's name; with TLS, the TCP port on 127.0.0.1 too).
    port: u16,
    /// Whether TCP with TLS is on (see [`TempCluster::start_tls`]).
    tls: bool,
}

/// The port number in the socket's name (no TCP is opened).
const PORT: u16 = 5432;

impl TempCluster {
    /// Starts a cluster, or `None` (with a message) when PostgreSQL is not installed.
    /// It does not sync to disk (tests only need it to be correct).
    pub fn start() -> Result<Option<TempCluster>> {
        TempCluster::start_with(false, None)
    }

    /// Starts a cluster with PostgreSQL's durable defaults (fsync, synchronous commit,
    /// full-page writes, 128 MB of shared buffers), for benchmarks.
    pub fn start_durable() -> Result<Option<TempCluster>> {
        TempCluster::start_with(true, None)
    }

    /// Starts a cluster that also listens on TCP at 127.0.0.1 (a free port), where it
    /// accepts TLS connections only (`hostssl`), with the given PEM certificate chain
    /// and key; the unix socket stays open to the superuser for set-up.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Result<Option<TempCluster>> {
        TempCluster::start_with(false, Some((cert_pem, key_pem)))
    }

    fn start_with(durable: bool, tls: Option<(&str, &str)>) -> Result<Option<TempCluster>> {
        if !present("initdb") || !present("pg_ctl") {
            let msg = "PostgreSQL binaries (initdb, pg_ctl) are not on PATH: the PostgreSQL mirror tests are SKIPPED";
            if std::env::var_os("TRADETRAIL_REQUIRE_PG").is_some() {
                return Err(Error::Cluster(msg.replace(
                    "are SKIPPED",
                    "cannot run (TRADETRAIL_REQUIRE_PG is set)",
                )));
            }
            eprintln!("\n*** {msg} ***\n");
            return Ok(None);
        }
        // Socket paths are short (about 100 bytes): keep the directory near the root.
        let base = if Path::new("/tmp").is_dir() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let root = tempfile::Builder::new()
            .prefix("ttpg")
            .tempdir_in(&base)
            .map_err(|e| {
                Error::Cluster(format!("a temporary directory in {}: {e}", base.display()))
            })?;
        let user = if is_root()? {
            let uid = os_user_uid()?;
            std::os::unix::fs::chown(root.path(), Some(uid), None).map_err(|e| {
                Error::Cluster(format!(
                    "handing {} to {OS_USER}: {e}",
                    root.path().display()
                ))
            })?;
            Some(OS_USER.to_string())
        } else {
            None
        };
        let data = root.path().join("data");
        let port = match tls {
            Some(_) => free_port()?,
            None => PORT,
        };
        let c = TempCluster {
            root,
            data,
            user,
            durable,
            port,
            tls: tls.is_some(),
        };
        c.run(
            "initdb",
            &[
                "-D",
                &c.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ],
        )?;
        if let Some((cert, key)) = tls {
            c.write_tls(cert, key)?;
        }
        let opts = c.options();
        c.run(
            "pg_ctl",
            &[
                "-D",
                &c.data.to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &c.root.path().join("server.log").to_string_lossy(),
                "-t",
                "60",
                "-w",
                "start",
            ],
        )?;
        Ok(Some(c))
    }

    /// A connection string for the superuser `postgres` to database `postgres`.
    pub fn url(&self) -> String {
        self.url_as("postgres")
    }

    /// A connection string for `user` (trust authentication: no password).
    pub fn url_as(&self, user: &str) -> String {
        self.url_db(user, "postgres")
    }

    /// The same as a `postgres://` URL (the socket directory percent-encoded).
    pub fn url_form(&self) -> String {
        let host: String = self
            .root
            .path()
            .to_string_lossy()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                    c.to_string()
                } else {
                    format!("%{:02X}", c as u32)
                }
            })
            .collect();
        format!("postgres://postgres@{host}:{}/postgres", self.port)
    }

    /// The server's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("server.log")).unwrap_or_default()
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: as if it crashed).
    pub fn stop(&self) -> Result<()> {
        let data = self.data.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
    }

    /// Starts the server again after [`TempCluster::stop`], with the same settings.
    pub fn restart(&self) -> Result<()> {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.root.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-o",
                &self.options(),
                "-l",
                &log.to_string_lossy(),
                "-t",
                "60",
                "-w",
                "start",
            ],
        )
    }

    /// The server's settings: a unix socket in the directory, no TCP; no fsync unless
    /// durable.
    fn options(&self) -> String {
        let tls = if self.tls {
            let dir = self.root.path().display();
            format!(
                "-c listen_addresses='127.0.0.1' -c ssl=on -c ssl_cert_file='{dir}/server.crt' -c ssl_key_file='{dir}/server.key'"
            )
        } else {
            "-c listen_addresses=''".to_string()
        };
        let tuning = if self.durable {
            "-c shared_buffers=128MB -c max_wal_size=2GB"
        } else {
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
        };
        format!(
            "-p {} -k {} {tls} {tuning} -c max_connections=30",
            self.port,
            self.root.path().display()
        )
    }

    /// A connection string for `user` to database `db`.
    pub fn url_db(&self, user: &str, db: &str) -> String {
        format!(
            "host={} port={} user={user} dbname={db}",
            self.root.path().display(),
            self.port
        )
    }

    /// With TLS on: a connection string over TCP to `host` (`localhost` is the name a
    /// test certificate is for; `127.0.0.1` is not), for `user` to `postgres`.
    pub fn tcp_url(&self, host: &str, user: &str) -> String {
        format!("host={host} port={} user={user} dbname=postgres", self.port)
    }

    /// The certificate and key, readable by the server alone; `pg_hba.conf`: the socket
    /// trusted, TCP only with TLS.
    fn write_tls(&self, cert: &str, key: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let files = [
            (self.root.path().join("server.crt"), cert),
            (self.root.path().join("server.key"), key),
            (
                self.data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            ),
        ];
        for (path, text) in files {
            let failed =
                |e: std::io::Error| Error::Cluster(format!("writing {}: {e}", path.display()));
            std::fs::write(&path, text).map_err(failed)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
            if self.user.is_some() {
                std::os::unix::fs::chown(&path, Some(os_user_uid()?), None).map_err(failed)?;
            }
        }
        Ok(())
    }

    /// Runs a PostgreSQL program, as the cluster's OS user when there is one.
    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let mut cmd = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--", program]);
                c
            }
            None => Command::new(program),
        };
        let out = cmd
            .args(args)
            .current_dir(self.root.path())
            .output()
            .map_err(|e| Error::Cluster(format!("running {program}: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Cluster(format!(
                "{program} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                self.log()
            )))
        }
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

/// A TCP port free on 127.0.0.1 now.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Cluster(format!("finding a free port: {e}")))
}

fn present(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> Result<bool> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| Error::Cluster(format!("running id -u: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The uid of [`OS_USER`], creating it as a system user when it does not exist.
fn os_user_uid() -> Result<u32> {
    let lookup = || {
        Command::new("id")
            .args(["-u", OS_USER])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u32>()
                    .ok()
            })
    };
    if let Some(uid) = lookup() {
        return Ok(uid);
    }
    let _ = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            OS_USER,
        ])
        .output();
    lookup().ok_or_else(|| {
        Error::Cluster(format!(
            "running as root, initdb needs another OS user: there is no {OS_USER:?} user and `useradd` could not create one"
        ))
    })
}
