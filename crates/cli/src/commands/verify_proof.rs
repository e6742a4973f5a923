//! `tradetrail verify-proof`: the auditor's offline check.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use tradetrail_core::checkpoints::{read_input, verify_offline, OfflineError};

use crate::exit::{Exit, BAD_INPUT, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The signed checkpoint (a note as printed by `tradetrail checkpoint`)
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// The journal's verifier key (`tradetrail key show`), or a file holding it
    #[arg(long, value_name = "VKEY")]
    key: String,
    /// The record: one journal line, as stored
    #[arg(long, value_name = "FILE")]
    record: PathBuf,
    /// The inclusion proof (`tradetrail prove inclusion --json`)
    #[arg(long, value_name = "FILE")]
    proof: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let outcome = (|| {
        let note = read_input("checkpoint", &args.checkpoint)?;
        let note = String::from_utf8(note).map_err(|_| OfflineError::Malformed {
            what: "checkpoint",
            reason: "not UTF-8".into(),
        })?;
        let key = if std::path::Path::new(&args.key).is_file() {
            String::from_utf8_lossy(&read_input("key", std::path::Path::new(&args.key))?)
                .into_owned()
        } else {
            args.key.clone()
        };
        let record = read_input("record", &args.record)?;
        let proof = read_input("proof", &args.proof)?;
        verify_offline(&note, &key, &record, &proof)
    })();
    match outcome {
        Ok(ok) => {
            writeln!(
                std::io::stdout().lock(),
                "ok: record {} is in {} as of the signed checkpoint of size {}",
                ok.seq,
                ok.origin,
                ok.size
            )?;
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
        Err(OfflineError::Failed(reason)) => {
            writeln!(std::io::stdout().lock(), "FAILED: {reason}")?;
            Err(Exit(TAMPERED).into())
        }
    }
}
