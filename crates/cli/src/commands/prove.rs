//! `tradetrail prove inclusion | consistency`

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradetrail_core::checkpoints::{prove_inclusion_for, ProofSizeFrom, SizedProof};
use tradetrail_core::{DataDir, Tree};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(Debug, clap::Subcommand)]
enum Kind {
    /// Prove that record SEQ is in the tree of the first SIZE records
    Inclusion {
        /// The record's seq
        #[arg(long)]
        seq: u64,
        /// Tree size the proof is for [default: the newest saved checkpoint's, else
        /// every record written]
        #[arg(long, conflicts_with = "checkpoint")]
        size: Option<u64>,
        /// Prove against this signed checkpoint (as printed by `tradetrail checkpoint`):
        /// the proof is for its tree size
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// Also write the record's line (the leaf, with its newline) to this file
        #[arg(long, value_name = "FILE")]
        record_out: Option<PathBuf>,
        /// Print the proof as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Prove that the tree of the first OLD records is a prefix of the first NEW
    Consistency {
        /// The older tree size (e.g. a saved checkpoint's)
        #[arg(long)]
        old: u64,
        /// The newer tree size [default: every record written]
        #[arg(long)]
        new: Option<u64>,
        /// Print the proof as one JSON object
        #[arg(long)]
        json: bool,
    },
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let (tree, _) = Tree::load(&rec)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.kind {
        Kind::Inclusion {
            seq,
            size,
            checkpoint,
            record_out,
            json,
        } => {
            let SizedProof { proof, from } =
                prove_inclusion_for(&rec, &tree, seq, size, checkpoint.as_deref())?;
            match &from {
                ProofSizeFrom::Newest(path) => eprintln!(
                    "proof at tree size {}, the newest saved checkpoint's ({}): verify it with that checkpoint",
                    proof.size,
                    path.display()
                ),
                ProofSizeFrom::Everything => eprintln!(
                    "proof at tree size {} (every record; no checkpoint saved yet: `tradetrail checkpoint` signs one, then prove again)",
                    proof.size
                ),
                ProofSizeFrom::Asked | ProofSizeFrom::Checkpoint(_) => {}
            }
            if let Some(path) = record_out {
                let mut line = rec.journal().read_line(seq)?;
                line.push(b'\n');
                std::fs::write(&path, line)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if json {
                writeln!(out, "{}", serde_json::to_string(&proof)?)?;
            } else {
                writeln!(
                    out,
                    "inclusion of seq {} in the tree of size {}",
                    proof.seq, proof.size
                )?;
                writeln!(out, "leaf_hash {}", proof.leaf_hash)?;
                writeln!(out, "root      {}", proof.root)?;
                for (i, h) in proof.proof.iter().enumerate() {
                    writeln!(out, "proof[{i:2}] {h}")?;
                }
            }
        }
        Kind::Consistency { old, new, json } => {
            let proof = tree.prove_consistency(old, new)?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&proof)?)?;
            } else {
                writeln!(
                    out,
                    "consistency of tree size {} with tree size {}",
                    proof.old, proof.new
                )?;
                writeln!(out, "old_root  {}", proof.old_root)?;
                writeln!(out, "new_root  {}", proof.new_root)?;
                for (i, h) in proof.proof.iter().enumerate() {
                    writeln!(out, "proof[{i:2}] {h}")?;
                }
            }
        }
    }
    Ok(())
}
