//! `tradetrail verify-proof`: the auditor's offline check, of an inclusion proof (a
//! record is in the journal as of a checkpoint) or a consistency proof (the journal as
//! of one checkpoint extends the journal as of an older one).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use tradetrail_core::checkpoints::{
    read_input, verify_consistency_offline, verify_offline, OfflineError,
};

use crate::exit::{Exit, BAD_INPUT, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The signed checkpoint (a note as printed by `tradetrail checkpoint`)
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// The journal's verifier key (`tradetrail key show`), or a file holding it
    #[arg(long, value_name = "VKEY")]
    key: String,
    /// The record: one journal line, as stored (for an inclusion proof)
    #[arg(long, value_name = "FILE", required_unless_present = "old_checkpoint")]
    record: Option<PathBuf>,
    /// An older signed checkpoint: check a consistency proof from it to --checkpoint
    /// instead of an inclusion proof
    #[arg(long, value_name = "FILE", conflicts_with = "record")]
    old_checkpoint: Option<PathBuf>,
    /// The proof (`tradetrail prove inclusion --json`, or `prove consistency --json`
    /// with --old-checkpoint)
    #[arg(long, value_name = "FILE")]
    proof: PathBuf,
}

fn note(what: &'static str, path: &Path) -> Result<String, OfflineError> {
    String::from_utf8(read_input(what, path)?).map_err(|_| OfflineError::Malformed {
        what,
        reason: "not UTF-8".into(),
    })
}

pub fn run(args: Args) -> Result<()> {
    let outcome = (|| {
        let new = note("checkpoint", &args.checkpoint)?;
        let key = if Path::new(&args.key).is_file() {
            String::from_utf8_lossy(&read_input("key", Path::new(&args.key))?).into_owned()
        } else {
            args.key.clone()
        };
        let proof = read_input("proof", &args.proof)?;
        match (&args.old_checkpoint, &args.record) {
            (Some(old), _) => {
                let old = note("old checkpoint", old)?;
                let ok = verify_consistency_offline(&old, &new, &key, &proof)?;
                Ok(format!(
                    "ok: {} as of the signed checkpoint of size {} extends its signed checkpoint of size {}: the first {} records are unchanged",
                    ok.origin, ok.new, ok.old, ok.old
                ))
            }
            (None, Some(record)) => {
                let record = read_input("record", record)?;
                let ok = verify_offline(&new, &key, &record, &proof)?;
                Ok(format!(
                    "ok: record {} is in {} as of the signed checkpoint of size {}",
                    ok.seq, ok.origin, ok.size
                ))
            }
            (None, None) => Err(OfflineError::Malformed {
                what: "record",
                reason: "give --record FILE (inclusion) or --old-checkpoint FILE (consistency)"
                    .into(),
            }),
        }
    })();
    match outcome {
        Ok(line) => {
            writeln!(std::io::stdout().lock(), "{line}")?;
            Ok(())
        }
        Err(e @ OfflineError::Malformed { .. }) => {
            eprintln!("error: {e}");
            Err(Exit(BAD_INPUT).into())
        }
        Err(e @ OfflineError::SizeMismatch { .. }) => {
            eprintln!("error: {e}");
            if let OfflineError::SizeMismatch { seq, .. } = e {
                eprintln!(
                    "hint: on the journal's host, `tradetrail prove inclusion --seq {seq} --checkpoint {} --json --record-out line.json > p.json` makes the proof for this checkpoint",
                    args.checkpoint.display()
                );
            }
            Err(Exit(BAD_INPUT).into())
        }
        Err(e @ OfflineError::ConsistencySizes { .. }) => {
            eprintln!("error: {e}");
            if let Some(old) = &args.old_checkpoint {
                eprintln!(
                    "hint: on the journal's host, `tradetrail prove consistency --old-checkpoint {} --new-checkpoint {} --json > p.json` makes the proof for these checkpoints",
                    old.display(),
                    args.checkpoint.display()
                );
            }
            Err(Exit(BAD_INPUT).into())
        }
        Err(OfflineError::Failed(reason)) => {
            writeln!(std::io::stdout().lock(), "FAILED: {reason}")?;
            Err(Exit(TAMPERED).into())
        }
    }
}
