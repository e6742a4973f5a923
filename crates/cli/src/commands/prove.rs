//! `tradetrail prove inclusion | consistency`

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradetrail_core::checkpoints::{
    prove_consistency_for, prove_inclusion_for, ProofSizeFrom, SizedConsistency, SizedProof,
};
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
        /// The older tree size [default: the saved checkpoint before the new size]
        #[arg(long, conflicts_with = "old_checkpoint")]
        old: Option<u64>,
        /// The older size is this signed checkpoint's (one you were given earlier)
        #[arg(long, value_name = "FILE")]
        old_checkpoint: Option<PathBuf>,
        /// The newer tree size [default: the newest saved checkpoint's, else every
        /// record written]
        #[arg(long, conflicts_with = "new_checkpoint")]
        new: Option<u64>,
        /// The newer size is this signed checkpoint's (as printed by `tradetrail
        /// checkpoint`)
        #[arg(long, value_name = "FILE")]
        new_checkpoint: Option<PathBuf>,
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
        Kind::Consistency {
            old,
            old_checkpoint,
            new,
            new_checkpoint,
            json,
        } => {
            let SizedConsistency {
                proof,
                old_from,
                new_from,
            } = prove_consistency_for(
                &rec,
                &tree,
                old,
                old_checkpoint.as_deref(),
                new,
                new_checkpoint.as_deref(),
            )?;
            if let ProofSizeFrom::Newest(path) = &old_from {
                eprintln!(
                    "from tree size {}, the saved checkpoint {} (the one before the new size)",
                    proof.old,
                    path.display()
                );
            }
            match &new_from {
                ProofSizeFrom::Newest(path) => eprintln!(
                    "to tree size {}, the newest saved checkpoint's ({}): verify it with that checkpoint",
                    proof.new,
                    path.display()
                ),
                ProofSizeFrom::Everything => eprintln!(
                    "to tree size {} (every record; no checkpoint saved yet: `tradetrail checkpoint` signs one, then prove again)",
                    proof.new
                ),
                ProofSizeFrom::Asked | ProofSizeFrom::Checkpoint(_) => {}
            }
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
