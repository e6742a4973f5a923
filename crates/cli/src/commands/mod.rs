//! One module per subcommand.

pub mod append;
pub mod archive;
pub mod backup;
pub mod bench;
pub mod bench_archive;
pub mod bench_http;
pub mod bench_nats;
pub mod bench_pg;
pub mod bench_query;
pub mod checkpoint;
pub mod demo;
pub mod demo_statement;
pub mod export;
pub mod hold;
pub mod import;
pub mod incident;
pub mod ingest;
pub mod init;
pub mod pg;
pub mod positions;
pub mod prove;
pub mod query;
pub mod reconcile;
pub mod repair;
pub mod replica;
pub mod report;
pub mod restore;
pub mod retention;
pub mod review;
pub mod schema;
pub mod seal;
pub mod serve;
pub mod shell;
pub mod sql;
pub mod stats;
pub mod status;
pub mod token;
pub mod trail;
pub mod verify;
pub mod verify_proof;

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Opens `dir` for reading through the one door's read side
/// ([`tradetrail_store::Store::open_read`]): no lock, nothing changed, a damaged journal
/// or one contradicting its newest signed checkpoint refused as `open_recorder` would.
pub fn open_read(dir: &tradetrail_core::DataDir) -> anyhow::Result<tradetrail_store::ReadStore> {
    Ok(tradetrail_store::Store::open_read(dir)?)
}

/// Opens `dir` for recording through the one door ([`tradetrail_store::Store`]),
/// saying on stderr when an unfinished last line was cut.
pub fn open_recorder(dir: &tradetrail_core::DataDir) -> anyhow::Result<tradetrail_core::Recorder> {
    let store = tradetrail_store::Store::open(dir)?;
    let report = store.recovery();
    if report.truncated_bytes > 0 {
        eprintln!(
            "recovered: cut an unfinished last line of {} bytes from {} (a write that never completed, so never acknowledged)",
            report.truncated_bytes,
            report
                .truncated_segment
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(store.into_recorder())
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(counting_style(&format!(
        "{{spinner}} {what} [{{bar:40}}] {{human_pos}}/{{human_len}} ({{rate}}/s, {{eta}} left)"
    )));
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// A progress style from `template`, where `{rate}` is the items per second as a whole
/// number with thousands separators (indicatif's `{per_sec}` prints four decimals).
pub fn counting_style(template: &str) -> ProgressStyle {
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    style
        .with_key(
            "rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let per_sec = s.per_sec();
                let n = if per_sec.is_finite() && per_sec > 0.0 {
                    per_sec.round() as u64
                } else {
                    0
                };
                let _ = write!(w, "{}", tradetrail_query::render::thousands(n));
            },
        )
        .progress_chars("=> ")
}

pub use tradetrail_core::human_bytes;

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

/// The data directory's time settings (`[time]` in tradetrail.toml); the defaults
/// (UTC, no sessions) when it has no configuration yet, so a bad flag is still
/// reported before "not initialised".
pub fn time_settings(
    data: Option<&std::path::Path>,
) -> anyhow::Result<tradetrail_model::TimeSettings> {
    let dir = tradetrail_core::DataDir::resolve(data);
    if !dir.config().exists() {
        return Ok(tradetrail_model::TimeSettings::default());
    }
    let cfg = dir.load_config()?;
    cfg.time
        .settings()
        .map_err(|r| crate::exit::BadInput(format!("{}: {r}", dir.config().display())).into())
}

/// The zone of `--tz`, else the configuration's `time.zone`, else UTC.
pub fn zone(
    data: Option<&std::path::Path>,
    tz: Option<&str>,
) -> anyhow::Result<tradetrail_model::Zone> {
    match tz {
        Some(tz) => tradetrail_model::Zone::parse(tz)
            .map_err(|r| crate::exit::BadInput(format!("--tz: {r}")).into()),
        None => Ok(time_settings(data)?.zone),
    }
}
