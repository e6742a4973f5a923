//! `tradetrail serve`: the HTTP server (docs/server.md).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tradetrail_core::DataDir;

use crate::exit::BadInput;
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
    /// Keep a PostgreSQL mirror current while serving (what `tradetrail pg sync
    /// --follow` does, docs/postgres.md); appends never wait for the database
    #[arg(
        long,
        value_name = "URL",
        env = "TRADETRAIL_PG_URL",
        hide_env_values = true
    )]
    pg_url: Option<String>,
    /// With --pg-url: seconds between mirror passes
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0.2,
        requires = "pg_url"
    )]
    pg_interval: f64,
    /// With --pg-url: run `pg verify` every SECONDS (first right after start); the result
    /// goes to /metrics (tradetrail_pg_verify_ok, _changed_rows, ...) and /healthz
    #[arg(long, value_name = "SECONDS", requires = "pg_url")]
    pg_verify_every: Option<f64>,
    /// With --pg-url: delete the mirror's rows of records a retention purge removed
    /// (as `pg sync --follow-purges`)
    #[arg(long, requires = "pg_url")]
    pg_follow_purges: bool,
    /// Also consume a NATS JetStream stream into the journal, as `ingest nats` does
    /// (docs/ingest.md): the NATS servers, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "URL[,URL...]")]
    ingest_nats: Vec<String>,
    /// The stream for --ingest-nats
    #[arg(long, default_value = "AUDIT", value_name = "NAME")]
    ingest_stream: String,
    /// The durable consumer for --ingest-nats
    #[arg(long, default_value = "recorder", value_name = "NAME")]
    ingest_consumer: String,
    /// The dead-letter subject for --ingest-nats [default: deadletter.<stream>]
    #[arg(long, value_name = "SUBJECT")]
    ingest_dead_letter: Option<String>,
    /// Create the stream (and <stream>_DEAD) for --ingest-nats when missing
    #[arg(long)]
    ingest_create_stream: bool,
    /// --ingest-nats in replica mode (as `ingest nats --replica`): also turns off the
    /// checkpoint timer and scheduled reconciliation, whose records would come at this
    /// server's own moments; nothing but the ingest may write to a replica's journal
    #[arg(long, requires = "ingest_nats")]
    ingest_replica: bool,
    /// With --ingest-replica: a signed checkpoint after every stream message whose
    /// sequence is a multiple of N, stamped with its stream time (as `ingest nats
    /// --checkpoint-every`), so replicas with the same key sign identical checkpoints
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        requires = "ingest_replica"
    )]
    ingest_checkpoint_every: u64,
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
    /// Log lines on stderr: text (colours only on a terminal) or json (one object per line)
    #[arg(long, default_value = "text", value_name = "FORMAT")]
    log_format: tradetrail_server::LogFormat,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    tradetrail_server::init_logging(args.log_format);
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let mut schedule = ReconcileSchedule::from_config(&rec.config().reconciliation.schedule);
    if let Some(n) = args.reconcile_interval {
        schedule.every = (n > 0).then(|| Duration::from_secs(n));
    }
    if args.ingest_replica {
        schedule.every = None;
        schedule.daily_at = None;
        schedule.on_fill = None;
    }
    let opts = ServerOptions {
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.timeout.max(1)),
        checkpoint_interval: (args.checkpoint_interval > 0 && !args.ingest_replica)
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
            ..ConsoleOptions::default()
        },
    };
    let mut state = AppState::new(rec.clone(), opts).context("reading the token store")?;
    if !tradetrail_server::tokens::store_path(dir.root()).exists() {
        eprintln!(
            "warning: no tokens yet; every authenticated route answers 401. Create one with \
             `tradetrail token create --role writer --name NAME`"
        );
    }
    // What runs beside the server reports to /metrics and /healthz.
    let mirror = match &args.pg_url {
        Some(url) => {
            let opts = super::pg::follow_options(
                tradetrail_pg::SyncOptions::default().batch,
                args.pg_interval,
                "--pg-interval",
            )?;
            let mut opts = opts;
            opts.sync.follow_purges = args.pg_follow_purges;
            let m = tradetrail_pg::Follower::spawn(&dir, url, opts)
                .context("starting the PostgreSQL mirror")?;
            state.add_component(m.component());
            Some(m)
        }
        None => None,
    };
    let verifier = match (&args.pg_url, args.pg_verify_every) {
        (Some(url), Some(every)) => {
            if !(every.is_finite() && (1.0..=7.0 * 86_400.0).contains(&every)) {
                return Err(BadInput(
                    "--pg-verify-every: must be a number of seconds from 1 to 604800 (a week)"
                        .into(),
                )
                .into());
            }
            let v = tradetrail_pg::Verifier::spawn(&dir, url, Duration::from_secs_f64(every))
                .context("starting the scheduled PostgreSQL verify")?;
            state.add_component(v.component());
            Some(v)
        }
        _ => None,
    };
    // The ingest loop on a thread of its own, through the same recorder; it stops on
    // the same SIGINT/SIGTERM, finishing (journaling, then acking) its batch in hand.
    let ingest = if args.ingest_nats.is_empty() {
        None
    } else {
        let opts = tradetrail_ingest::NatsOptions {
            dead_letter: args.ingest_dead_letter,
            create_stream: args.ingest_create_stream,
            replica: args.ingest_replica,
            checkpoint_every: args.ingest_checkpoint_every,
            ..tradetrail_ingest::NatsOptions::new(
                args.ingest_nats,
                &args.ingest_stream,
                &args.ingest_consumer,
            )
        };
        let metrics = Arc::new(tradetrail_ingest::Metrics::default());
        state.add_component(metrics.clone());
        Some(
            std::thread::Builder::new()
                .name("ingest-nats".into())
                .spawn(move || {
                    let r = super::ingest::run_loop(rec, &opts, metrics);
                    if let Err(e) = &r {
                        // Said at once: the server goes on serving without it.
                        eprintln!("ingest: stopped: {e:#}");
                    }
                    r
                })
                .context("starting the ingest thread")?,
        )
    };
    let state = Arc::new(state);
    let served = tradetrail_server::run(state, &args.listen);
    if let Some(m) = mirror {
        m.stop();
    }
    if let Some(v) = verifier {
        v.stop();
    }
    if let Some(t) = ingest {
        match t.join() {
            Ok(r) => r?,
            Err(_) => anyhow::bail!("the ingest thread panicked"),
        }
    }
    served?;
    Ok(())
}
