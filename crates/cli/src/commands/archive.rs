//! `tradetrail archive`

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use tradetrail_archive::{archive, archive_dir, mirror, ArchiveOptions, Bucket, MirrorReport};
use tradetrail_core::DataDir;

use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// zstd level for the Parquet files (1 fastest .. 22 smallest; on these records 1 is
    /// both faster and smaller than 3)
    #[arg(long, default_value_t = 1)]
    zstd_level: i32,
    /// Print one JSON object instead of a summary
    #[arg(long)]
    json: bool,
    /// Then upload the archive to object storage, s3://bucket/prefix (same layout;
    /// files before their manifest; only what is new or changed); default: [archive]
    /// remote in tradetrail.toml. Configured from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_REGION
    #[arg(long, value_name = "S3_URL")]
    to: Option<String>,
    /// First seal the active segment (a journal.sealed record starts a new one), so
    /// everything recorded so far is archived; needs the journal's lock (not beside serve)
    #[arg(long)]
    seal: bool,
}

/// Maps the archive crate's errors onto the CLI's exit codes (bad input: 2).
pub fn cli_error(e: tradetrail_archive::Error) -> anyhow::Error {
    match e {
        tradetrail_archive::Error::BadInput(s) => BadInput(s).into(),
        tradetrail_archive::Error::Core(c) => c.into(),
        tradetrail_archive::Error::Journal(j) => j.into(),
        tradetrail_archive::Error::Store(e @ tradetrail_archive::StoreError::Location { .. }) => {
            BadInput(e.to_string()).into()
        }
        e => e.into(),
    }
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    if !(1..=22).contains(&args.zstd_level) {
        return Err(BadInput(format!(
            "--zstd-level: {} is not between 1 and 22",
            args.zstd_level
        ))
        .into());
    }
    // A bad location is refused before anything is archived.
    let bucket = match &args.to {
        Some(to) => Some(Bucket::open(to).map_err(|e| cli_error(e.into()))?),
        // `[archive] remote` in the configuration: every run uploads there.
        None => tradetrail_archive::configured_remote(&dir).map_err(cli_error)?,
    };
    if args.seal {
        let rec = super::open_recorder(&dir)?;
        let r = rec.seal(
            "system",
            "archive --seal: archive everything recorded so far",
        )?;
        if !args.json {
            eprintln!(
                "sealed: journal.sealed at seq {} starts a new segment",
                r.seq
            );
        }
    }
    let opts = ArchiveOptions {
        zstd_level: args.zstd_level,
        ..ArchiveOptions::default()
    };
    let pb = super::progress_bar(0, "archiving");
    if args.json || !std::io::stderr().is_terminal() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let t0 = Instant::now();
    let report = archive(&dir, &opts, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(cli_error)?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let upload = match &bucket {
        Some(b) => Some(upload(&dir, b, args.json)?),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some((u, secs)) = &upload {
            v["upload"] = serde_json::to_value(u)?;
            v["upload"]["seconds"] = serde_json::json!(secs);
        }
        writeln!(out, "{v}")?;
        return Ok(());
    }
    if report.records == 0 {
        writeln!(
            out,
            "nothing to archive: {} sealed segment(s) already archived, archive ends at seq {}",
            report.already_archived, report.end_seq
        )?;
    } else {
        writeln!(
            out,
            "archived {} records from {} segment(s) into {} file(s) in {:.2} s ({:.0} records/s)",
            report.records,
            report.segments,
            report.files,
            secs,
            report.records as f64 / secs.max(1e-9)
        )?;
        writeln!(
            out,
            "size: {} of JSON Lines -> {} of Parquet ({:.1} B/record -> {:.1} B/record)",
            super::human_bytes(report.jsonl_bytes),
            super::human_bytes(report.parquet_bytes),
            report.jsonl_bytes as f64 / report.records as f64,
            report.parquet_bytes as f64 / report.records as f64
        )?;
        writeln!(
            out,
            "archive ends at seq {} (the active segment is archived once sealed)",
            report.end_seq
        )?;
    }
    if report.partition_zone != "UTC" && report.records > 0 {
        writeln!(out, "partitions are days in {}", report.partition_zone)?;
    }
    if let Some(note) = &report.zone_note {
        writeln!(out, "note: {note}")?;
    }
    if report.removed_temps > 0 {
        writeln!(
            out,
            "removed {} temporary file(s) of an interrupted run",
            report.removed_temps
        )?;
    }
    if let Some((u, secs)) = upload {
        if u.unchanged() {
            writeln!(
                out,
                "{}: up to date, {} file(s) over {} partition(s), archive ends at seq {}",
                u.location, u.present_files, u.partitions, u.end_seq
            )?;
        } else {
            writeln!(
                out,
                "uploaded {} file(s) ({}) and {} manifest(s) to {} in {:.2} s ({}/s); {} file(s) were already there{}{}",
                u.uploaded_files,
                super::human_bytes(u.uploaded_bytes),
                u.uploaded_manifests,
                u.location,
                secs,
                super::human_bytes((u.uploaded_bytes as f64 / secs.max(1e-9)) as u64),
                u.present_files,
                if u.resumed_files > 0 {
                    format!(", {} complete from an interrupted run (SHA-256 checked)", u.resumed_files)
                } else {
                    String::new()
                },
                if u.deleted_purged > 0 {
                    format!(", {} purged by retention were deleted", u.deleted_purged)
                } else {
                    String::new()
                },
            )?;
            writeln!(
                out,
                "{}: archive ends at seq {} ({} records)",
                u.location, u.end_seq, u.records
            )?;
        }
    }
    Ok(())
}

/// Mirrors `DIR/archive` into the bucket, with a progress bar in bytes.
fn upload(dir: &DataDir, bucket: &Bucket, quiet: bool) -> Result<(MirrorReport, f64)> {
    let pb = super::progress_bar(0, "uploading");
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} uploading [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .map_err(|e| anyhow::anyhow!("progress template: {e}"))?
        .progress_chars("=> "),
    );
    if quiet || !std::io::stderr().is_terminal() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let t0 = Instant::now();
    let report = mirror(&archive_dir(dir), bucket, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
        true
    })
    .map_err(cli_error)?;
    pb.finish_and_clear();
    Ok((report, t0.elapsed().as_secs_f64()))
}
