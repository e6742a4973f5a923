//! `tradetrail ingest nats`: consume a NATS JetStream stream into the journal
//! (docs/ingest.md). The loop lives in `tradetrail-ingest`; this parses and prints.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tradetrail_core::DataDir;
use tradetrail_ingest::{Error, Metrics, NatsOptions};
use tradetrail_journal::Durability;

use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, clap::Subcommand)]
enum Source {
    /// A durable pull consumer on a JetStream stream; each message is acked only after
    /// its event is journaled; bad messages go to the dead-letter subject
    Nats(NatsArgs),
}

#[derive(Debug, clap::Args)]
pub struct NatsArgs {
    /// NATS servers, comma-separated (the client moves between them)
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        value_name = "URL[,URL...]"
    )]
    url: Vec<String>,
    /// The JetStream stream
    #[arg(long, value_name = "NAME")]
    stream: String,
    /// The durable consumer (created when missing; its position survives restarts)
    #[arg(long, value_name = "NAME")]
    consumer: String,
    /// The stream's subjects, when --create-stream creates it [default: <stream in lowercase>.>]
    #[arg(long, value_delimiter = ',', value_name = "SUBJECT[,SUBJECT...]")]
    subjects: Vec<String>,
    /// Where messages that cannot be recorded go [default: deadletter.<stream>]
    #[arg(long, value_name = "SUBJECT")]
    dead_letter: Option<String>,
    /// Most messages delivered and not yet acknowledged (also the largest batch)
    #[arg(long, default_value_t = 4096, value_name = "N")]
    max_in_flight: usize,
    /// Create the stream, and <stream>_DEAD for dead letters, when missing
    #[arg(long)]
    create_stream: bool,
    /// Seconds the server waits for an ack before delivering a message again (set when
    /// the consumer is created)
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    ack_wait: u64,
    /// Override the configured durability for every event
    #[arg(long, value_parser = parse_durability)]
    durability: Option<Durability>,
    /// Exit once the consumer has nothing pending and nothing unacknowledged
    #[arg(long)]
    stop_when_drained: bool,
    /// Seconds between progress lines on stderr
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    progress_every: u64,
    /// Replica mode: journal strictly in stream order, at the stream's timestamps, so
    /// recorders initialised alike (`init --origin X --created-at T`) hold the same
    /// bytes; the journal must be written by this ingest alone
    #[arg(long)]
    replica: bool,
    /// With --replica: sign a checkpoint right after the record of every message whose
    /// stream sequence is a multiple of N, stamped with its stream time, so replicas
    /// with the same key hold byte-identical checkpoints (0: none)
    #[arg(long, default_value_t = 0, value_name = "N")]
    checkpoint_every: u64,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    s.parse()
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let Source::Nats(a) = args.source;
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let opts = NatsOptions {
        subjects: a.subjects,
        dead_letter: a.dead_letter,
        max_in_flight: a.max_in_flight,
        create_stream: a.create_stream,
        ack_wait: Duration::from_secs(a.ack_wait.max(1)),
        durability: a.durability,
        stop_when_drained: a.stop_when_drained,
        progress_every: Duration::from_secs(a.progress_every.max(1)),
        replica: a.replica,
        checkpoint_every: a.checkpoint_every,
        ..NatsOptions::new(a.url, &a.stream, &a.consumer)
    };
    run_loop(rec, &opts, Arc::new(Metrics::default()))
}

/// Runs the ingest loop on a runtime of its own until SIGINT or SIGTERM (or drained),
/// printing progress on stderr: `ingest nats`, and `serve --ingest-nats` beside the
/// server.
pub fn run_loop(
    rec: tradetrail_core::Recorder,
    opts: &NatsOptions,
    metrics: Arc<Metrics>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(tradetrail_ingest::run(
        rec,
        opts,
        metrics,
        stop_signal(),
        |p| eprintln!("{p}"),
    ));
    match result {
        Ok(s) => {
            eprintln!(
                "ingest: stopped; {} recorded, {} duplicates, {} rejected, {} acked",
                s.recorded, s.duplicates, s.rejected, s.acked
            );
            Ok(())
        }
        Err(e @ Error::Options { .. }) => Err(BadInput(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}

/// Resolves on SIGINT or SIGTERM (never, when they cannot be listened to).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut i), Ok(mut t)) => {
            tokio::select! {
                _ = i.recv() => {}
                _ = t.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
