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
    let (rec, report) = match Recorder::open(&dir) {
        Ok(r) => r,
        Err(tradetrail_core::Error::Journal(tradetrail_journal::Error::Locked { .. })) => {
            return read_only(&dir, args.json, &mut out);
        }
        Err(e) => return Err(e.into()),
    };
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

/// Another process is appending: report from the files without opening the journal.
fn read_only(dir: &DataDir, json: bool, out: &mut impl Write) -> Result<()> {
    let cfg = tradetrail_core::Config::load(&dir.config())?;
    let i = tradetrail_journal::inspect(&tradetrail_journal::FsStorage, &dir.journal())?;
    if json {
        let v = serde_json::json!({
            "data": dir.root(),
            "origin": cfg.origin,
            "records": i.records,
            "segments": i.segments,
            "bytes": i.bytes,
            "head_seq": i.records.saturating_sub(1),
            "head_hash": i.head_hash.to_hex(),
            "head_ts_recorded": i.head_ts_recorded,
            "open_by_another_process": true,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    writeln!(
        out,
        "data        {} (open for writing by another process; read-only view)",
        dir.root().display()
    )?;
    writeln!(out, "origin      {}", cfg.origin)?;
    writeln!(out, "records     {}", i.records)?;
    writeln!(out, "segments    {}", i.segments)?;
    writeln!(
        out,
        "bytes       {} ({})",
        i.bytes,
        super::human_bytes(i.bytes)
    )?;
    writeln!(
        out,
        "head        seq {} hash {}",
        i.records.saturating_sub(1),
        i.head_hash
    )?;
    writeln!(
        out,
        "last record {}",
        tradetrail_model::format_time(i.head_ts_recorded)
    )?;
    Ok(())
}
