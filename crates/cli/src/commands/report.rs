//! `tradetrail report KIND [--date D | --month M | --year Y | --from T --to T]
//! [--tz ZONE | --session VENUE] [--trader ID] [--strategy ID] [--account ID] [--format table|json|csv|html]`

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradetrail_reports::{Format, ReportKind, ReportRequest};

use super::query::open_investigator;
use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// daily, monthly, execution, tax, compliance or reconciliation
    #[arg(value_name = "KIND")]
    kind: String,
    /// One day, YYYY-MM-DD (in --tz, or a --session's trading day; the daily summary's usual range)
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
    /// One month, YYYY-MM
    #[arg(long, value_name = "YYYY-MM")]
    month: Option<String>,
    /// One year, YYYY (the tax report's usual range)
    #[arg(long, value_name = "YYYY")]
    year: Option<String>,
    /// Records at or after this time (RFC 3339, a date, or ns since the epoch) [ts_event]
    #[arg(long, value_name = "T")]
    from: Option<String>,
    /// Records before this time (exclusive)
    #[arg(long, value_name = "T")]
    to: Option<String>,
    /// Days are calendar days in this zone (IANA name such as America/New_York, +02:00, or UTC); dates and times without an offset are read in it [default: the configuration's time.zone, else UTC]
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Days are this venue's trading days ([[time.sessions]] in tradetrail.toml) [default: the configuration's time.session]
    #[arg(long, value_name = "VENUE")]
    session: Option<String>,
    /// Only this trader's records (exact id)
    #[arg(long, value_name = "ID")]
    trader: Option<String>,
    /// Only this strategy's records (exact id)
    #[arg(long, value_name = "ID")]
    strategy: Option<String>,
    /// Only this account's records (exact id)
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// table, json, csv or html (a self-contained page with charts)
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    format: String,
    /// With --format csv: only this table (by its name, e.g. by_venue), as plain CSV
    #[arg(long, value_name = "NAME")]
    section: Option<String>,
    /// Write to this file instead of stdout (replaced only once the report is complete)
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

fn bad(e: tradetrail_reports::Error) -> anyhow::Error {
    if e.is_bad_input() {
        BadInput(e.to_string()).into()
    } else {
        e.into()
    }
}

/// The request the flags describe; every value checked before anything is read.
fn request(data: Option<&Path>, args: &Args) -> Result<(ReportRequest, Format)> {
    let kind = ReportKind::parse(&args.kind).map_err(bad)?;
    let format = Format::parse(&args.format).map_err(bad)?;
    if args.section.is_some() && format != Format::Csv {
        return Err(BadInput("--section: only with --format csv".into()).into());
    }
    let mut req = ReportRequest::with_time(kind, super::time_settings(data)?);
    let pairs = [
        ("tz", &args.tz),
        ("session", &args.session),
        ("date", &args.date),
        ("month", &args.month),
        ("year", &args.year),
        ("from", &args.from),
        ("to", &args.to),
        ("trader", &args.trader),
        ("strategy", &args.strategy),
        ("account", &args.account),
    ];
    for (name, value) in pairs {
        if let Some(v) = value {
            req.set(name, v).map_err(bad)?;
        }
    }
    Ok((req, format))
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let (req, format) = request(data, &args)?;
    let inv = open_investigator(data)?;
    let report = tradetrail_reports::run(&inv, &req).map_err(bad)?;
    let mut buf = Vec::with_capacity(1 << 16);
    tradetrail_reports::write(&mut buf, &report, format, args.section.as_deref()).map_err(bad)?;
    match &args.output {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("creating a file in {}", dir.display()))?;
            tmp.write_all(&buf)
                .with_context(|| format!("writing {}", path.display()))?;
            // A report is for reading: not the temporary file's private mode.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            tmp.persist(path)
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote the {} report ({}, {} bytes) to {}",
                req.kind.name(),
                args.format,
                tradetrail_query::numfmt::count(buf.len() as u64),
                path.display()
            );
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
    }
    for n in report.tabular().notes() {
        if format != Format::Table {
            eprintln!("note: {n}");
        }
    }
    Ok(())
}
