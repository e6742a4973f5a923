//! `tradetrail verify`

use std::io::IsTerminal;
use std::path::Path;

use std::io::Write;

use anyhow::Result;
use tradetrail_core::DataDir;
use tradetrail_journal::{FsStorage, Storage};

use crate::exit::{BadInput, Exit, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object: {"ok","records","first_bad_seq","reason",...}
    #[arg(long)]
    json: bool,
    /// Also prove the journal is a strict extension of this saved checkpoint (detects
    /// truncation and rewritten history, even with recomputed hashes)
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<std::path::PathBuf>,
    /// Verifier key for --checkpoint [default: DIR/keys/verifier.vkey]
    #[arg(long, value_name = "VKEY", requires = "checkpoint")]
    key: Option<String>,
    /// Verify the archive uploaded to object storage (s3://bucket/prefix, written by
    /// `archive --to`) on its own, instead of the data directory: every manifest,
    /// file hash, record chain and Merkle root
    #[arg(long, value_name = "S3_URL", conflicts_with = "checkpoint")]
    archive: Option<String>,
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    if let Some(location) = &args.archive {
        return verify_bucket(location, args.json);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let dir = DataDir::resolve(data);
    let jdir = dir.journal();
    let total: u64 = tradetrail_journal::list_segments(&FsStorage, &jdir)
        .map(|segs| {
            segs.iter()
                .map(|s| FsStorage.len(&s.path).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    // The journal and the archive are checked at once: one bar each.
    let bars = indicatif::MultiProgress::new();
    if args.json || !std::io::stderr().is_terminal() {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let pb = bars.add(super::progress_bar(total, "verifying"));
    pb.set_style(super::counting_style(
        "{spinner} verifying journal [{bar:40}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
    ));
    let archive_bar: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();
    // The one verify (journal, archive, every stored checkpoint): the server's
    // `GET /v1/verify` serialises the same verdict.
    let verdict =
        tradetrail_store::verify(&dir, &|bytes| pb.set_position(bytes), &|done, total| {
            let ab = archive_bar.get_or_init(|| {
                let ab = bars.add(super::progress_bar(total, "verifying archive"));
                ab.set_style(archive_style());
                ab
            });
            ab.set_length(total);
            ab.set_position(done)
        })?;
    let report = &verdict.journal;
    let first = verdict.journal_first_seq;
    let secs = verdict.journal_seconds;
    pb.finish_and_clear();
    if let Some(ab) = archive_bar.get() {
        ab.finish_and_clear();
    }
    let cp_check = match &args.checkpoint {
        None => None,
        Some(path) => Some(check_checkpoint(&dir, path, args.key.as_deref())?),
    };
    let cp_ok = cp_check.as_ref().is_none_or(|c| c.ok);
    if args.json {
        let mut v = serde_json::to_value(&verdict)?;
        if let Some(c) = &cp_check {
            v["checkpoint"] = serde_json::to_value(c)?;
            v["ok"] = serde_json::Value::Bool(verdict.ok && c.ok);
        }
        writeln!(out, "{v}")?;
    } else {
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        if report.ok {
            writeln!(
                out,
                "ok: {} records in {} segment(s), {} verified in {:.2} s ({:.0} records/s)",
                report.records,
                report.segments,
                super::human_bytes(report.bytes),
                secs,
                report.records as f64 / secs.max(1e-9)
            )?;
            if let Some(h) = report.head_hash {
                writeln!(out, "head: seq {} hash {h}", first + report.records - 1)?;
            }
            if first > 0 {
                writeln!(
                    out,
                    "the journal starts at seq {first}: records before it left journal/ after archiving, and it links to the archive's record {}",
                    first - 1
                )?;
            }
        } else {
            writeln!(
                out,
                "FAILED: first bad seq {}: {}",
                report
                    .first_bad_seq
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".into()),
                report.reason.as_deref().unwrap_or("unknown")
            )?;
            writeln!(out, "{} records before it are intact", report.records)?;
        }
    }
    if let (Some(a), false) = (&verdict.archive, args.json) {
        for w in &a.warnings {
            eprintln!("warning: archive: {w}");
        }
        if a.ok {
            writeln!(
                out,
                "archive: ok, {} records in {} file(s) over {} partition(s) match their manifests and Merkle roots{}{}; checked in {:.2} s ({:.0} records/s)",
                a.records,
                a.files,
                a.partitions,
                if a.compared_with_journal > 0 {
                    format!("; {} are byte-identical to the journal's", a.compared_with_journal)
                } else {
                    String::new()
                },
                if a.purged_records > 0 {
                    format!("; {} purged records are accounted for by journal.retention_purged records", a.purged_records)
                } else {
                    String::new()
                },
                verdict.archive_seconds,
                a.records as f64 / verdict.archive_seconds.max(1e-9)
            )?;
            if let Some(root) = a.root {
                writeln!(out, "archive: Merkle root at seq {} is {root}", a.end_seq)?;
            }
        } else {
            writeln!(
                out,
                "archive: FAILED: {}{}",
                a.first_bad_seq
                    .map(|s| format!("first bad seq {s}: "))
                    .unwrap_or_default(),
                a.reason.as_deref().unwrap_or("unknown")
            )?;
        }
    }
    if let Some(c) = &cp_check {
        if !args.json {
            if c.ok {
                writeln!(
                    out,
                    "checkpoint: ok, the first {} records are exactly those the signed checkpoint covers; the journal only grew since",
                    c.size
                )?;
                if c.purged > 0 {
                    writeln!(
                        out,
                        "checkpoint: {} of them were purged by retention and are accounted for by the Merkle subtrees their archive tombstones keep, not record by record",
                        c.purged
                    )?;
                }
            } else {
                writeln!(
                    out,
                    "checkpoint: {}: {}",
                    if c.uncheckable {
                        "CANNOT CHECK"
                    } else {
                        "FAILED"
                    },
                    c.reason.as_deref().unwrap_or("unknown")
                )?;
            }
        }
    }
    if !args.json {
        print_checkpoints(&mut out, &verdict)?;
    }
    if verdict.ok && cp_ok {
        Ok(())
    } else {
        Err(Exit(TAMPERED).into())
    }
}

fn check_checkpoint(
    dir: &DataDir,
    path: &std::path::Path,
    key: Option<&str>,
) -> Result<tradetrail_core::checkpoints::CheckpointCheck> {
    use tradetrail_checkpoint::{NoteError, VerifierKey};
    let note = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read checkpoint {}: {e}", path.display())))?;
    let vkey = match key {
        Some(k) => {
            // A key string, or a file holding one (like verify-proof).
            let text = if std::path::Path::new(k).is_file() {
                std::fs::read_to_string(k).map_err(|e| BadInput(format!("--key {k}: {e}")))?
            } else {
                k.to_string()
            };
            VerifierKey::parse(text.trim()).map_err(|e| BadInput(format!("--key: {e}")))?
        }
        None => tradetrail_core::checkpoints::verifier_key(dir)?,
    };
    let config = dir.load_config()?;
    match tradetrail_core::checkpoints::check_against(
        dir,
        &config.origin,
        &note,
        &vkey,
        tradetrail_store::cold_tier(dir)?.as_deref(),
    ) {
        Ok(c) => Ok(c),
        Err(tradetrail_core::Error::Note(e @ NoteError::Malformed { .. })) => {
            Err(BadInput(format!("{}: {e}", path.display())).into())
        }
        Err(tradetrail_core::Error::Note(e)) => {
            Ok(tradetrail_core::checkpoints::CheckpointCheck::unsigned(&e))
        }
        Err(e) => Err(e.into()),
    }
}

/// `verify --archive s3://...`: the archive in a bucket, on its own.
fn verify_bucket(location: &str, json: bool) -> Result<()> {
    let bucket = tradetrail_archive::Bucket::open(location)
        .map_err(|e| super::archive::cli_error(e.into()))?;
    let pb = super::progress_bar(0, "verifying");
    pb.set_style(archive_style());
    if json || !std::io::stderr().is_terminal() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let t0 = std::time::Instant::now();
    let a = tradetrail_archive::verify_remote(&bucket, &|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(super::archive::cli_error)?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(&a)?;
        v["location"] = serde_json::Value::String(bucket.location().to_string());
        v["seconds"] = serde_json::json!(secs);
        writeln!(out, "{v}")?;
    } else {
        for w in &a.warnings {
            eprintln!("warning: archive: {w}");
        }
        if a.ok {
            writeln!(
                out,
                "archive {}: ok, {} records in {} file(s) over {} partition(s) match their manifests and Merkle roots{}; checked in {:.2} s ({:.0} records/s)",
                bucket.location(),
                a.records,
                a.files,
                a.partitions,
                if a.purged_records > 0 {
                    format!("; {} purged records are accounted for by their tombstones' Merkle subtrees", a.purged_records)
                } else {
                    String::new()
                },
                secs,
                a.records as f64 / secs.max(1e-9)
            )?;
            if let Some(root) = a.root {
                writeln!(out, "archive: Merkle root at seq {} is {root}", a.end_seq)?;
            }
        } else {
            writeln!(
                out,
                "archive {}: FAILED: {}{}",
                bucket.location(),
                a.first_bad_seq
                    .map(|s| format!("first bad seq {s}: "))
                    .unwrap_or_default(),
                a.reason.as_deref().unwrap_or("unknown")
            )?;
        }
    }
    if a.ok {
        Ok(())
    } else {
        Err(Exit(TAMPERED).into())
    }
}

/// The progress bar's look while it counts archived records.
fn archive_style() -> indicatif::ProgressStyle {
    super::counting_style(
        "{spinner} verifying archive [{bar:40}] {human_pos}/{human_len} records ({elapsed}, {eta} left)",
    )
}

/// The stored checkpoints' and the index's parts of the verdict, and the overall first
/// bad seq when it comes from the checkpoints (the journal's and the archive's are
/// printed above).
fn print_checkpoints(out: &mut impl Write, v: &tradetrail_store::Verdict) -> Result<()> {
    let failed: Vec<_> = v
        .checkpoints
        .iter()
        .filter(|c| !c.check.ok && !c.check.uncheckable)
        .collect();
    if let Some(newest) = v.checkpoints.iter().rfind(|c| c.check.ok) {
        writeln!(
            out,
            "checkpoints: {} of {} signed checkpoint(s) this directory holds agree with the records (largest: tree size {}, {})",
            v.checkpoints.iter().filter(|c| c.check.ok).count(),
            v.checkpoints.len(),
            newest.check.size,
            newest.source
        )?;
    }
    for c in v.checkpoints.iter().filter(|c| c.check.uncheckable) {
        writeln!(
            out,
            "checkpoint {}: cannot be checked: {}",
            c.source,
            c.check.reason.as_deref().unwrap_or("unknown")
        )?;
    }
    for c in &failed {
        writeln!(
            out,
            "checkpoint FAILED: {} (tree size {}): {}",
            c.source,
            c.check.size,
            c.check.reason.as_deref().unwrap_or("unknown")
        )?;
    }
    if v.index.ok {
        if v.index.rows > 0 {
            writeln!(
                out,
                "index: ok, the query index's {} rows are what the records give",
                v.index.rows
            )?;
        }
    } else {
        writeln!(
            out,
            "index: FAILED: {} (delete DIR/index/query: it is rebuilt from the records)",
            v.index.reason.as_deref().unwrap_or("unknown")
        )?;
    }
    if !v.ok && v.journal.ok && v.archive.as_ref().is_none_or(|a| a.ok) && v.first_bad_seq.is_some()
    {
        writeln!(
            out,
            "FAILED: first bad seq {}: {}",
            v.first_bad_seq
                .map(|s| s.to_string())
                .unwrap_or_else(|| "?".into()),
            v.reason.as_deref().unwrap_or("unknown")
        )?;
    }
    Ok(())
}
