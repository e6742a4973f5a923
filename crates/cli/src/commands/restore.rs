//! `tradetrail restore --from DIR|s3://bucket/prefix --data NEW_DIR [--key VKEY]`

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Result;
use tradetrail_backup::{open_store, restore, RestoreOptions};

use super::backup::map_err;
use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup: a directory, or s3://bucket/prefix
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    from: String,
    /// Verifier key to check the checkpoints with (a vkey string or a file holding one)
    /// [default: the backed-up keys/verifier.vkey]
    #[arg(long, value_name = "VKEY")]
    key: Option<String>,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let Some(dest) = data else {
        return Err(BadInput(
            "--data: name the new data directory to restore into (it must not exist or be empty)"
                .into(),
        )
        .into());
    };
    let key = match &args.key {
        Some(k) if Path::new(k).is_file() => {
            Some(std::fs::read_to_string(k).map_err(|e| BadInput(format!("--key {k}: {e}")))?)
        }
        other => other.clone(),
    };
    if !args.from.contains("://") && !Path::new(&args.from).is_dir() {
        return Err(BadInput(format!(
            "--from {}: no such directory (give the directory a `tradetrail backup --to` wrote, or s3://bucket/prefix)",
            args.from
        ))
        .into());
    }
    let store = open_store(&args.from).map_err(map_err)?;
    let pb = super::progress_bar(0, "restoring");
    pb.set_style(
        super::counting_style(
            "{spinner} restoring and verifying [{bar:40}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
        ),
    );
    if !std::io::stderr().is_terminal() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let r = restore(
        store.as_ref(),
        dest,
        &RestoreOptions { key },
        &|done, total| {
            pb.set_length(total);
            pb.set_position(done);
        },
    )
    .map_err(|e| {
        pb.finish_and_clear();
        map_err(e)
    })?;
    pb.finish_and_clear();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "restored {} from {} (taken {}) into {}: {} records, {} files, {}",
        r.origin,
        store.describe(),
        r.created,
        r.dest.display(),
        r.records,
        r.files,
        super::human_bytes(r.bytes)
    )?;
    writeln!(out, "verified: every record's seq and chain, every file's SHA-256, the manifest's head hash and root")?;
    if r.purged_records > 0 {
        writeln!(
            out,
            "purged: {} records a retention purge removed are accounted for by their archive tombstones (hash links and Merkle subtrees), not record by record",
            r.purged_records
        )?;
    }
    match &r.checkpoint {
        Some((size, root)) => writeln!(
            out,
            "checkpoint: ok, {} checkpoint(s) signed by the verifier key; the latest (size {size}) has root {root}, the restored tree's",
            r.checkpoints_checked
        )?,
        None => writeln!(out, "checkpoint: none in the backup (only the chain and the manifest were checked)")?,
    }
    if r.keys == tradetrail_backup::KeysIncluded::VerifierOnly {
        writeln!(out, "note: the backup holds no signing key: new checkpoints need the original keys/signing.key copied in")?;
    }
    Ok(())
}
