//! `tradetrail completions SHELL` and `tradetrail man --dir DIR`: generated from the
//! same argument definitions the commands parse with (clap_complete, clap_mangen), so
//! they cannot drift from the binary.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// bash, zsh, fish, elvish or powershell
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Where to write tradetrail.1 and one page per command (tradetrail-query.1, ...)
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
}

/// Prints the completion script for a shell on stdout.
pub fn completions(mut cmd: clap::Command, a: CompletionArgs) -> Result<()> {
    // Into memory first: the generator panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "tradetrail", &mut script);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Writes the man pages into `--dir` (created if missing) and lists them on stderr.
pub fn man(cmd: clap::Command, a: ManArgs) -> Result<()> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    clap_mangen::generate_to(cmd, &a.dir)
        .with_context(|| format!("writing man pages into {}", a.dir.display()))?;
    let mut n = 0;
    for e in std::fs::read_dir(&a.dir).with_context(|| format!("listing {}", a.dir.display()))? {
        let e = e?;
        if e.path().extension().is_some_and(|x| x == "1") {
            n += 1;
        }
    }
    eprintln!("wrote {n} man pages into {}", a.dir.display());
    Ok(())
}
