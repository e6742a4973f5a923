//! `tradetrail status`: a read door — it never opens the journal for writing, so it
//! changes nothing, runs beside `serve`, and works on a read-only file system.

use std::path::Path;

use std::io::Write;

use anyhow::Result;
use tradetrail_core::DataDir;
use tradetrail_journal::{FsStorage, Storage};

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
    let cfg = dir.load_config()?;
    let jdir = dir.journal();
    // What a writer would find on opening, changing nothing: a damaged or altered
    // record is an error here too (exit 1), named by seq.
    let check = tradetrail_journal::check_open(&FsStorage, &jdir)?;
    let i = tradetrail_journal::inspect(&FsStorage, &jdir)?;
    // Whether a writer holds the journal (taking and dropping the lock at once; a
    // read-only file system, where the lock file cannot be made, says "unknown").
    let busy = match FsStorage.lock_dir(&jdir) {
        Ok(_) => Some(false),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Some(true),
        Err(_) => None,
    };
    if args.json {
        let v = serde_json::json!({
            "data": dir.root(),
            "origin": cfg.origin,
            "records": i.records,
            "segments": i.segments,
            "bytes": i.bytes,
            "head_seq": i.records.saturating_sub(1),
            "head_hash": i.head_hash.to_hex(),
            "head_ts_recorded": i.head_ts_recorded,
            "durability": {
                "default": cfg.durability.default.as_str(),
                "fsync": cfg.durability.fsync,
                "os": cfg.durability.os,
            },
            "segment_max_bytes": cfg.journal.segment_max_bytes,
            "rotate_daily": cfg.journal.rotate_daily,
            "partial_bytes": check.partial_bytes,
            "open_by_another_process": busy,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    writeln!(
        out,
        "data        {}{}",
        dir.root().display(),
        match busy {
            Some(true) => " (open for writing by another process)",
            Some(false) => "",
            None => " (read-only view: the journal's lock could not be taken)",
        }
    )?;
    writeln!(out, "origin      {}", cfg.origin)?;
    writeln!(out, "records     {}", i.records)?;
    writeln!(
        out,
        "segments    {} (rotate at {} and {})",
        i.segments,
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
    if check.partial_bytes > 0 {
        writeln!(
            out,
            "unfinished  a last line of {} bytes that never completed (a write in progress, or cut short by a crash: never acknowledged; the next writer removes it)",
            check.partial_bytes
        )?;
    }
    Ok(())
}
