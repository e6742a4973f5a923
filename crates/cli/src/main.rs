//! `tradetrail`: the command-line door onto the tradetrail library.
//!
//! Each subcommand lives in `commands/` and only parses arguments, calls the library
//! and prints. Exit codes: 0 success, 1 tampering or
//! corruption found (by `verify`, or by a door that refuses to open), 2 bad usage or bad input, 3 runtime or I/O failure.

mod commands;
mod exit;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The flight recorder of a trading system: an append-only, tamper-evident audit trail.
#[derive(Debug, Parser)]
#[command(name = "tradetrail", version, about, long_about = None)]
struct Cli {
    /// Data directory [default: $TRADETRAIL_DATA, else ./tradetrail-data; for `demo`,
    /// ./tradetrail-demo]
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a data directory: configuration and a journal whose record 0 is journal.created
    Init(commands::init::Args),
    /// Append JSON Lines events (from FILE or stdin); prints one receipt per event as it is acknowledged
    Append(commands::append::Args),
    /// The event types and their fields (--json-schema: one JSON Schema; --markdown: docs/events.md)
    Schema(commands::schema::Args),
    /// Re-read every record and check the chain; exit 1 if anything was changed
    Verify(commands::verify::Args),
    /// Records, segments, bytes, head hash and durability of a journal (changes nothing)
    Status(commands::status::Args),
    /// Remove damaged records after SEQ, keeping them aside and recording journal.repaired
    Repair(commands::repair::Args),
    /// Sign the current tree head, save it under DIR/checkpoints and print the note
    Checkpoint(commands::checkpoint::Args),
    /// The journal's signing key
    Key(commands::checkpoint::KeyArgs),
    /// Merkle proofs: that a record is in the journal, or that the journal only grew
    Prove(commands::prove::Args),
    /// Check offline that a record is in a journal as of a signed checkpoint (no data directory)
    VerifyProof(commands::verify_proof::Args),
    /// Records that match filters: time range, type pattern, source, actor, trader, ...
    Query(commands::query::Args),
    /// The whole decision chain around an order, recommendation or signal, as a story
    Trail(commands::trail::Args),
    /// Everything within a window around an instant, grouped by source and type
    Incident(commands::incident::Args),
    /// Counts by type, source, trader, ...; or the conversion funnel from signals to fills
    Stats(commands::stats::Args),
    /// Record a realistic simulated trading day through the library, then verify it
    Demo(commands::demo::Args),
    /// Measure append throughput and latency beside this machine's own floor (`bench query`: the query figures)
    Bench(commands::bench::Args),
    /// Consume events from a stream: `ingest nats --url nats://h:4222 --stream AUDIT --consumer recorder` (docs/ingest.md)
    Ingest(commands::ingest::Args),
    /// Compare this data directory with a replica's: `replica status --peer DIR` (docs/ingest.md)
    Replica(commands::replica::Args),
    /// Serve the HTTP API (docs/server.md): events in, answers out, roles enforced
    Serve(commands::serve::Args),
    /// Reports: daily, monthly, execution, tax, compliance, reconciliation (table, json, csv, html)
    Report(commands::report::Args),
    /// Bearer tokens for the server: `token create --role R [--trader ID] --name N`
    Token(commands::token::Args),
    /// Positions, average cost, P&L and cash derived from the trail, as of any instant (--at)
    Positions(commands::positions::Args),
    /// Compare the books with a broker statement (IBKR Flex XML, generic CSV/JSON); record corrections and reviews
    Reconcile(commands::reconcile::Args),
    /// Reviews of major reconciliation discrepancies: list, show, resolve
    Review(commands::review::Args),
    /// Copy the data directory, consistently and incrementally, to a directory or s3://bucket/prefix
    Backup(commands::backup::Args),
    /// Rebuild a data directory from a backup (--data NEW_DIR), verifying every record and checkpoint
    Restore(commands::restore::Args),
    /// A bundle of records with proofs and a readable report, checkable offline (docs/backup.md)
    Export(commands::export::Args),
    /// Seal the active segment (a journal.sealed record starts a new one), so `archive` takes everything recorded so far
    Seal(commands::seal::Args),
    /// Sealed segments into zstd Parquet under DIR/archive/year=/month=/day=, with a manifest per day
    Archive(commands::archive::Args),
    /// Retention: `status`, `plan` (exactly what `apply` would remove) and `apply`
    Retention(commands::retention::Args),
    /// Legal holds: `hold add --entity O-123 --reason ...`, `hold list`, `hold release`
    Hold(commands::hold::Args),
    /// PostgreSQL as a verifiable mirror: `pg init`, `pg sync`, `pg status`, `pg verify` (docs/postgres.md)
    Pg(commands::pg::Args),
    /// Bring an existing audit trail in (a PostgreSQL table, CSV, JSON Lines) through a mapping file, all or nothing
    Import(commands::import::Args),
    /// SQL over one `events` table spanning archive and live journal (needs `--features sql`)
    Sql(commands::sql::Args),
    /// Shell completions: `tradetrail completions bash > /etc/bash_completion.d/tradetrail`
    Completions(commands::shell::CompletionArgs),
    /// Man pages, one per command, into a directory: `tradetrail man --dir /usr/local/share/man/man1`
    Man(commands::shell::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data = cli.data.as_deref();
    let result = match cli.command {
        Command::Init(a) => commands::init::run(data, a),
        Command::Append(a) => commands::append::run(data, a),
        Command::Schema(a) => commands::schema::run(a),
        Command::Verify(a) => commands::verify::run(data, a),
        Command::Status(a) => commands::status::run(data, a),
        Command::Repair(a) => commands::repair::run(data, a),
        Command::Checkpoint(a) => commands::checkpoint::run(data, a),
        Command::Key(a) => commands::checkpoint::key(data, a),
        Command::VerifyProof(a) => commands::verify_proof::run(a),
        Command::Prove(a) => commands::prove::run(data, a),
        Command::Query(a) => commands::query::run(data, a),
        Command::Trail(a) => commands::trail::run(data, a),
        Command::Incident(a) => commands::incident::run(data, a),
        Command::Stats(a) => commands::stats::run(data, a),
        Command::Demo(a) => commands::demo::run(data, a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Ingest(a) => commands::ingest::run(data, a),
        Command::Replica(a) => commands::replica::run(data, a),
        Command::Serve(a) => commands::serve::run(data, a),
        Command::Token(a) => commands::token::run(data, a),
        Command::Positions(a) => commands::positions::run(data, a),
        Command::Reconcile(a) => commands::reconcile::run(data, a),
        Command::Review(a) => commands::review::run(data, a),
        Command::Backup(a) => commands::backup::run(data, a),
        Command::Restore(a) => commands::restore::run(data, a),
        Command::Export(a) => commands::export::run(data, a),
        Command::Report(a) => commands::report::run(data, a),
        Command::Archive(a) => commands::archive::run(data, a),
        Command::Seal(a) => commands::seal::run(data, a),
        Command::Retention(a) => commands::retention::run(data, a),
        Command::Hold(a) => commands::hold::run(data, a),
        Command::Sql(a) => commands::sql::run(data, a),
        Command::Import(a) => commands::import::run(data, a),
        Command::Pg(a) => commands::pg::run(data, a),
        Command::Completions(a) => {
            commands::shell::completions(<Cli as clap::CommandFactory>::command(), a)
        }
        Command::Man(a) => commands::shell::man(<Cli as clap::CommandFactory>::command(), a),
    };
    exit::finish(result)
}
