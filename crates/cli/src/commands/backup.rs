//! `tradetrail backup --to DIR|s3://bucket/prefix [--include-keys]`

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Result;
use tradetrail_backup::{backup, open_store, BackupOptions};
use tradetrail_core::DataDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to: a directory, or s3://bucket/prefix (endpoint and credentials from the AWS_* variables)
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    to: String,
    /// Also copy the secret signing key and the server's tokens (the manifest says so)
    #[arg(long)]
    include_keys: bool,
    /// Print the manifest as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let store = open_store(&args.to).map_err(map_err)?;
    let pb = super::progress_bar(0, "backing up");
    pb.set_style(
        super::counting_style(
            "{spinner} backing up [{bar:40}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
        ),
    );
    if !std::io::stderr().is_terminal() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let m = backup(
        &dir,
        store.as_ref(),
        &BackupOptions {
            include_keys: args.include_keys,
        },
        &|done, total| {
            pb.set_length(total);
            pb.set_position(done);
        },
    )
    .map_err(map_err)?;
    pb.finish_and_clear();
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&m)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "backup of {} to {}: {} records, {} files ({} copied, {} unchanged since the last backup), {} copied",
        m.origin,
        store.describe(),
        m.records,
        m.files.len(),
        m.copied_files,
        m.reused_files,
        super::human_bytes(m.copied_bytes)
    )?;
    writeln!(
        out,
        "head  seq {} hash {}",
        m.records.saturating_sub(1),
        m.head_hash
    )?;
    writeln!(out, "root  {} (size {})", m.root, m.records)?;
    match &m.checkpoint {
        Some(c) => writeln!(out, "checkpoint {} (size {}), verified against the copy", c.path, c.size)?,
        None => writeln!(out, "checkpoint none (take one with `tradetrail checkpoint` so restores can check a signature)")?,
    }
    writeln!(
        out,
        "keys  {}",
        match m.keys {
            tradetrail_backup::KeysIncluded::Included =>
                "included (signing key and tokens: keep this backup secret)",
            tradetrail_backup::KeysIncluded::VerifierOnly =>
                "verifier key only (--include-keys to copy the signing key)",
        }
    )?;
    Ok(())
}

/// Library errors to the CLI's exit codes: refused = 1, bad input = 2, else 3.
pub fn map_err(e: tradetrail_backup::Error) -> anyhow::Error {
    match e {
        tradetrail_backup::Error::Refused { file, reason } => {
            eprintln!("REFUSED: {file}: {reason}");
            crate::exit::Exit(crate::exit::TAMPERED).into()
        }
        tradetrail_backup::Error::BadInput { what, reason } => {
            crate::exit::BadInput(format!("{what}: {reason}")).into()
        }
        tradetrail_backup::Error::Core(e) => e.into(),
        tradetrail_backup::Error::Journal(e) => e.into(),
        tradetrail_backup::Error::Door(e) => e.into(),
        tradetrail_backup::Error::Query(e) => super::query::bad(e),
        other => other.into(),
    }
}
