//! `tradetrail serve`: the HTTP server (docs/server.md).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tradetrail_core::DataDir;
use tradetrail_server::{AppState, ConsoleOptions, ReconcileSchedule, ServerOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (put a TLS reverse proxy in front for anything but localhost)
    #[arg(long, default_value = "127.0.0.1:7070", value_name = "ADDR")]
    listen: String,
    /// Largest request body accepted, in bytes (413 above it)
    #[arg(long, default_value_t = 8 << 20, value_name = "BYTES")]
    max_body_bytes: usize,
    /// Seconds a request may take before it is answered 503 timeout
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    timeout: u64,
    /// Seconds a client has to send a request's headers (also how long an idle
    /// keep-alive connection is kept)
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    header_timeout: u64,
    /// Most connections served at once; more wait, unaccepted, until one closes
    #[arg(long, default_value_t = 512, value_name = "N")]
    max_connections: usize,
    /// Seconds in-flight requests get to finish after SIGTERM or ctrl-c before their
    /// connections are cut (the journal is flushed either way)
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    shutdown_grace: u64,
    /// Seconds between applications of the checkpoint policy (0: never)
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    checkpoint_interval: u64,
    /// Seconds between reconciliations of the statement inbox (0: never)
    /// [default: [reconciliation.schedule] every_seconds of tradetrail.toml]
    #[arg(long, value_name = "SECONDS")]
    reconcile_interval: Option<u64>,
    /// Console: minutes of inactivity after which a session ends
    #[arg(
        long,
        default_value_t = 30,
        value_name = "MINUTES",
        conflicts_with = "session_idle_seconds"
    )]
    session_idle: u64,
    /// Console: the idle expiry in seconds instead (for tests and demos)
    #[arg(long, value_name = "SECONDS", hide = true)]
    session_idle_seconds: Option<u64>,
    /// Console: hours after sign-in at which a session ends, used or not
    #[arg(long, default_value_t = 12, value_name = "HOURS")]
    session_max: u64,
    /// Console: the server is reached over HTTPS through a TLS proxy, so session
    /// cookies are marked Secure (and named with the __Host- prefix)
    #[arg(long)]
    behind_tls: bool,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    tradetrail_server::init_logging();
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let mut schedule = ReconcileSchedule::from_config(&rec.config().reconciliation.schedule);
    if let Some(n) = args.reconcile_interval {
        schedule.every = (n > 0).then(|| Duration::from_secs(n));
    }
    let opts = ServerOptions {
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.timeout.max(1)),
        checkpoint_interval: (args.checkpoint_interval > 0)
            .then(|| Duration::from_secs(args.checkpoint_interval)),
        reconcile: Some(schedule),
        header_read_timeout: Duration::from_secs(args.header_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        console: ConsoleOptions {
            idle: Duration::from_secs(
                args.session_idle_seconds
                    .unwrap_or(args.session_idle.saturating_mul(60))
                    .max(1),
            ),
            absolute: Duration::from_secs(args.session_max.saturating_mul(3600).max(60)),
            behind_tls: args.behind_tls,
        },
    };
    let state = Arc::new(AppState::new(rec, opts).context("reading the token store")?);
    if !tradetrail_server::tokens::store_path(dir.root()).exists() {
        eprintln!(
            "warning: no tokens yet; every authenticated route answers 401. Create one with \
             `tradetrail token create --role writer --name NAME`"
        );
    }
    tradetrail_server::run(state, &args.listen)?;
    Ok(())
}
