//! `tradetrail status`

use std::path::Path;

use std::io::Write;

use anyhow::Result;
use tradetrail_core::{DataDir, Recorder};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let dir = DataDir::resolve(data);
    let (rec, report) = Recorder::open(&dir)?;
    let st = rec.journal().status()?;
    let cfg = rec.config();
    let head_time = tradetrail_model::format_time(st.head_ts_recorded);
    if args.json {
        let v = serde_json::json!({
            "data": dir.root(),
            "origin": cfg.origin,
            "records": st.records,
            "segments": st.segments,
            "bytes": st.bytes,
            "head_seq": st.records.saturating_sub(1),
            "head_hash": st.head_hash.to_hex(),
            "head_ts_recorded": st.head_ts_recorded,
            "durability": {
                "default": cfg.durability.default.as_str(),
                "fsync": cfg.durability.fsync,
                "os": cfg.durability.os,
            },
            "segment_max_bytes": cfg.journal.segment_max_bytes,
            "rotate_daily": cfg.journal.rotate_daily,
            "recovered_bytes": report.truncated_bytes,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    writeln!(out, "data        {}", dir.root().display())?;
    writeln!(out, "origin      {}", cfg.origin)?;
    writeln!(out, "records     {}", st.records)?;
    writeln!(
        out,
        "segments    {} (rotate at {} and {})",
        st.segments,
        super::human_bytes(cfg.journal.segment_max_bytes),
        if cfg.journal.rotate_daily {
            "UTC midnight"
        } else {
            "size only"
        }
    )?;
    writeln!(
        out,
        "bytes       {} ({})",
        st.bytes,
        super::human_bytes(st.bytes)
    )?;
    writeln!(
        out,
        "head        seq {} hash {}",
        st.records.saturating_sub(1),
        st.head_hash
    )?;
    writeln!(out, "last record {head_time}")?;
    writeln!(
        out,
        "durability  fsync for [{}]; {} otherwise{}",
        cfg.durability.fsync.join(", "),
        cfg.durability.default.as_str(),
        if cfg.durability.os.is_empty() {
            String::new()
        } else {
            format!("; os for [{}]", cfg.durability.os.join(", "))
        }
    )?;
    if !report.is_clean() {
        writeln!(
            out,
            "recovered   cut a torn last record of {} bytes (never acknowledged)",
            report.truncated_bytes
        )?;
    }
    Ok(())
}
