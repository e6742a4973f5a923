//! `tradetrail checkpoint` and `tradetrail key show`

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_core::checkpoints::{take_checkpoint, verifier_key};
use tradetrail_core::DataDir;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(data: Option<&Path>, _args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let taken = take_checkpoint(&rec)?;
    // The note exactly, on stdout; where it went, on stderr.
    std::io::stdout().lock().write_all(taken.note.as_bytes())?;
    eprintln!(
        "saved {} (tree size {}, recorded in the journal as seq {})",
        taken.path.display(),
        taken.size,
        taken.receipt.seq
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    action: KeyAction,
}

#[derive(Debug, clap::Subcommand)]
enum KeyAction {
    /// Print the verifier key to publish (C2SP vkey: name+keyid+base64 key)
    Show,
}

pub fn key(data: Option<&Path>, args: KeyArgs) -> Result<()> {
    let dir = DataDir::resolve(data);
    match args.action {
        KeyAction::Show => {
            let vkey = verifier_key(&dir)?;
            writeln!(std::io::stdout().lock(), "{vkey}")?;
        }
    }
    Ok(())
}
