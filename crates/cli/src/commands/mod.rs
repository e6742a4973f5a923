//! One module per subcommand.

pub mod append;
pub mod archive;
pub mod backup;
pub mod bench;
pub mod bench_archive;
pub mod bench_http;
pub mod bench_query;
pub mod checkpoint;
pub mod demo;
pub mod demo_statement;
pub mod export;
pub mod hold;
pub mod incident;
pub mod init;
pub mod positions;
pub mod prove;
pub mod query;
pub mod reconcile;
pub mod report;
pub mod restore;
pub mod retention;
pub mod review;
pub mod serve;
pub mod sql;
pub mod stats;
pub mod status;
pub mod token;
pub mod trail;
pub mod verify;
pub mod verify_proof;

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr, hidden when stderr is not a terminal.
/// The archive of `dir` as the cold tier of its journal (records that left
/// `journal/` after the hot window), when it has an archive.
pub fn cold_tier(
    dir: &tradetrail_core::DataDir,
) -> anyhow::Result<Option<std::sync::Arc<dyn tradetrail_journal::ColdLines>>> {
    use anyhow::Context;
    let lines = tradetrail_archive::ArchiveLines::open(dir)
        .with_context(|| format!("reading the archive of {}", dir.root().display()))?;
    Ok(lines.map(|l| std::sync::Arc::new(l) as std::sync::Arc<dyn tradetrail_journal::ColdLines>))
}

/// Opens the recorder of `dir` with its archive as the cold tier.
pub fn open_recorder(dir: &tradetrail_core::DataDir) -> anyhow::Result<tradetrail_core::Recorder> {
    let (rec, _) = tradetrail_core::Recorder::open(dir)?;
    with_archive(rec, dir)
}

/// `rec` with the archive of `dir` as its cold tier, and the `event_id`s of archived
/// records in its deduplication (so a repeated event is still caught after its first
/// record left `journal/`).
pub fn with_archive(
    rec: tradetrail_core::Recorder,
    dir: &tradetrail_core::DataDir,
) -> anyhow::Result<tradetrail_core::Recorder> {
    let cold = cold_tier(dir)?;
    if let Some(lines) = &cold {
        let d = dir.clone();
        rec.journal().set_cold_dedup(
            lines.clone(),
            std::sync::Arc::new(move |below| {
                tradetrail_archive::event_id_keys(&d, below).map_err(|e| {
                    tradetrail_journal::Error::Cold {
                        seq: below.saturating_sub(1),
                        reason: format!("reading the archived event ids: {e}"),
                    }
                })
            }),
        )?;
    }
    Ok(rec.with_cold(cold))
}

pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:40}}] {{human_pos}}/{{human_len}} ({{per_sec}}, {{eta}} left)"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Bytes in a human unit.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Takes a checkpoint if the data directory's policy says one is due, reporting on
/// stderr. A failure here does not undo what was appended, so it is a warning.
pub fn checkpoint_if_due(rec: &tradetrail_core::Recorder) {
    match tradetrail_core::checkpoints::checkpoint_if_due(rec) {
        Ok(Some(t)) => eprintln!(
            "checkpoint: signed tree size {} (policy), saved to {}",
            t.size,
            t.path.display()
        ),
        Ok(None) => {}
        Err(e) => eprintln!("warning: a checkpoint was due but not taken: {e}"),
    }
}
