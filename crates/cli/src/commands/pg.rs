//! `tradetrail pg init | sync | status | verify`: PostgreSQL as a verifiable mirror of
//! the journal (docs/postgres.md). The logic is in `tradetrail_pg`; this parses and
//! prints.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_core::DataDir;
use tradetrail_pg::{Roles, SyncOptions};

use crate::exit::{BadInput, Exit, TAMPERED};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Create (or bring up to date) the tradetrail schema, its roles and guards; run as an administrator
    Init(InitArgs),
    /// Copy the records the mirror does not have yet, in seq order, then exit
    Sync(SyncArgs),
    /// Rows, last mirrored seq, the journal's head seq, lag in records
    Status(UrlArgs),
    /// Compare every row with the journal; exit 1 on any changed, missing or extra row
    Verify(UrlArgs),
}

#[derive(Debug, clap::Args)]
struct UrlArgs {
    /// postgres://user[:password]@host[:port]/db, or key=value pairs (no TLS in this version)
    #[arg(
        long,
        env = "TRADETRAIL_PG_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    url: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    #[command(flatten)]
    conn: UrlArgs,
    /// The NOLOGIN role that owns the schema and its tables
    #[arg(long, value_name = "ROLE", default_value = "tradetrail_owner")]
    owner_role: String,
    /// The role that may only INSERT (and SELECT): grant it to the login `pg sync` uses
    #[arg(long, value_name = "ROLE", default_value = "tradetrail_writer")]
    writer_role: String,
    /// The role that reads every row
    #[arg(long, value_name = "ROLE", default_value = "tradetrail_compliance")]
    compliance_role: String,
    /// The role whose members read the rows of the traders tradetrail.trader_roles maps them to
    #[arg(long, value_name = "ROLE", default_value = "tradetrail_trader")]
    trader_role: String,
}

#[derive(Debug, clap::Args)]
struct SyncArgs {
    #[command(flatten)]
    conn: UrlArgs,
    /// Records per transaction
    #[arg(long, value_name = "N", default_value_t = SyncOptions::default().batch)]
    batch: usize,
    /// How to write: binary COPY (needs a superuser or a BYPASSRLS login), INSERT, or
    /// auto (COPY when the login may)
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    method: MethodArg,
    /// Delete the mirror's rows of records a retention purge removed, once the purge's
    /// record is mirrored (each recorded in tradetrail.followed_purges); without it
    /// the mirror keeps them
    #[arg(long)]
    follow_purges: bool,
    /// Keep the mirror current until Ctrl-C: copy, wait --interval, copy again; while
    /// the database is down, retry with backoff (the journal never waits for it)
    #[arg(long)]
    follow: bool,
    /// With --follow: seconds between passes (fractions allowed)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 1.0,
        requires = "follow"
    )]
    interval: f64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MethodArg {
    Auto,
    Copy,
    Insert,
}

impl MethodArg {
    fn method(self) -> Option<tradetrail_pg::Method> {
        match self {
            MethodArg::Auto => None,
            MethodArg::Copy => Some(tradetrail_pg::Method::Copy),
            MethodArg::Insert => Some(tradetrail_pg::Method::Insert),
        }
    }
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match args.what {
        What::Init(a) => {
            let roles = Roles {
                owner: a.owner_role,
                writer: a.writer_role,
                compliance: a.compliance_role,
                trader: a.trader_role,
            };
            let r = tradetrail_pg::init(&a.conn.url, &roles)?;
            if a.conn.json {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
                return Ok(());
            }
            for role in &r.created_roles {
                writeln!(out, "created role {role} (NOLOGIN)")?;
            }
            if r.applied.is_empty() {
                writeln!(
                    out,
                    "{}: the tradetrail schema is up to date (version {})",
                    r.url, r.version
                )?;
            } else {
                writeln!(
                    out,
                    "{}: applied schema version {} (tradetrail.events and trader_roles, append-only triggers, row-level security, and the views execution_logs, audit_trail, reconciliation_results, daily_summaries, checkpoints)",
                    r.url,
                    r.applied
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
        }
        What::Sync(a) if a.follow => {
            let dir = DataDir::resolve(data);
            let mut opts = follow_options(a.batch, a.interval, "--interval")?;
            opts.sync.method = a.method.method();
            opts.sync.follow_purges = a.follow_purges;
            let stop = super::query::stop_flag();
            let json = a.conn.json;
            let mut failed = false;
            tradetrail_pg::follow(&dir, &a.conn.url, &opts, &stop, &mut |pass| match pass {
                tradetrail_pg::Pass::Synced(r) => {
                    if failed {
                        eprintln!("{}: reached again", r.url);
                        failed = false;
                    }
                    if r.copied == 0 {
                        return;
                    }
                    let line = if json {
                        serde_json::to_string(r).unwrap_or_default()
                    } else {
                        format!(
                            "copied {} rows (seq {}..={})",
                            r.copied,
                            r.first_seq.unwrap_or_default(),
                            r.last_seq.unwrap_or_default()
                        )
                    };
                    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
                }
                tradetrail_pg::Pass::Failed { error, retry_in } => {
                    failed = true;
                    eprintln!(
                        "warning: {error}; trying again in {:.1} s",
                        retry_in.as_secs_f64()
                    );
                }
            })?;
        }
        What::Sync(a) => {
            let dir = DataDir::resolve(data);
            let r = tradetrail_pg::sync(
                &dir,
                &a.conn.url,
                &SyncOptions {
                    batch: a.batch,
                    method: a.method.method(),
                    follow_purges: a.follow_purges,
                },
            )?;
            if a.conn.json {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
                return Ok(());
            }
            let last = r.last_seq.map_or("none".to_string(), |s| s.to_string());
            match r.first_seq {
                Some(first) => writeln!(
                    out,
                    "copied {} rows (seq {first}..={last}, {}); last mirrored seq {last}",
                    r.copied,
                    match r.method {
                        tradetrail_pg::Method::Copy => "binary COPY",
                        tradetrail_pg::Method::Insert => "INSERT",
                    }
                )?,
                None => writeln!(
                    out,
                    "copied 0 rows: the mirror is up to date; last mirrored seq {last}"
                )?,
            }
            if r.purged_rows_deleted > 0 {
                writeln!(
                    out,
                    "deleted {} rows of records a retention purge removed (see tradetrail.followed_purges)",
                    r.purged_rows_deleted
                )?;
            }
        }
        What::Status(a) => {
            let dir = DataDir::resolve(data);
            let s = tradetrail_pg::status(&dir, &a.url)?;
            if a.json {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
                if s.journal_refused.is_some() {
                    return Err(Exit(TAMPERED).into());
                }
                return Ok(());
            }
            writeln!(out, "mirror:            {}", s.url)?;
            writeln!(out, "rows:              {}", s.rows)?;
            writeln!(
                out,
                "last mirrored seq: {}",
                s.last_mirrored_seq
                    .map_or("none (empty)".to_string(), |v| v.to_string())
            )?;
            writeln!(out, "journal head seq:  {}", s.journal_head_seq)?;
            writeln!(
                out,
                "lag:               {} records, {:.1} s",
                s.lag, s.lag_seconds
            )?;
            if let Some(why) = &s.journal_refused {
                writeln!(out, "journal REFUSED:   {why}")?;
                return Err(Exit(TAMPERED).into());
            }
        }
        What::Verify(a) => {
            let dir = DataDir::resolve(data);
            let r = tradetrail_pg::verify(&dir, &a.url)?;
            if a.json {
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
            } else {
                print_verify(&mut out, &r)?;
            }
            if !r.ok {
                return Err(Exit(TAMPERED).into());
            }
        }
    }
    Ok(())
}

fn print_verify(out: &mut impl Write, r: &tradetrail_pg::VerifyReport) -> Result<()> {
    if let Some(why) = &r.journal_refused {
        writeln!(
            out,
            "JOURNAL REFUSED: {why} (the comparison below is with the journal as it is now)"
        )?;
    }
    for c in &r.changed {
        let what = match (c.line, c.hash) {
            (true, true) => "line and hash differ from the journal's record",
            (true, false) => "line differs from the journal's record",
            _ => "hash is not the SHA-256 of the journal's record",
        };
        writeln!(out, "CHANGED seq {}: {what}", c.seq)?;
    }
    for m in &r.missing {
        if m.first == m.last {
            writeln!(
                out,
                "MISSING seq {}: no row for this journal record",
                m.first
            )?;
        } else {
            writeln!(
                out,
                "MISSING seq {}..={}: no rows for these journal records",
                m.first, m.last
            )?;
        }
    }
    for s in &r.extra {
        writeln!(out, "EXTRA   seq {s}: a row that is no journal record")?;
    }
    let listed = r.changed.len() as u64 + r.extra.len() as u64;
    if listed < r.changed_count + r.extra_count
        || r.missing_count > 0 && r.missing.len() == tradetrail_pg::DETAIL_LIMIT
    {
        writeln!(
            out,
            "(the first {} of each kind are listed)",
            tradetrail_pg::DETAIL_LIMIT
        )?;
    }
    let last = r
        .last_mirrored_seq
        .map_or("none".to_string(), |s| s.to_string());
    if r.ok {
        writeln!(
            out,
            "OK: the mirror at {} equals the journal: {} rows, last mirrored seq {last}",
            r.url, r.equal
        )?;
    } else if r.changed_count + r.missing_count + r.extra_count == 0 {
        writeln!(
            out,
            "the mirror at {} equals the journal as it is now ({} rows), but the journal is refused (above): run `tradetrail verify`",
            r.url, r.equal
        )?;
    } else {
        writeln!(
            out,
            "DIFFERS: the mirror at {} does not equal the journal: {} changed, {} missing, {} extra ({} rows equal)",
            r.url, r.changed_count, r.missing_count, r.extra_count, r.equal
        )?;
    }
    if r.purged_kept > 0 {
        writeln!(
            out,
            "{} rows are kept for records a retention purge removed (nothing left to check them against; `pg sync --follow-purges` deletes them)",
            r.purged_kept
        )?;
    }
    if r.behind > 0 {
        writeln!(
            out,
            "{} journal records after seq {last} are not mirrored yet (run `tradetrail pg sync`)",
            r.behind
        )?;
    }
    Ok(())
}

/// The follower's pace: `batch` records per transaction, `interval` seconds between
/// passes (`flag` names it in the error), backing off to 30 s while failing.
pub fn follow_options(
    batch: usize,
    interval: f64,
    flag: &str,
) -> Result<tradetrail_pg::FollowOptions> {
    if !(interval.is_finite() && interval > 0.0 && interval <= 3600.0) {
        return Err(BadInput(format!(
            "{flag}: must be a number of seconds above 0, at most 3600"
        ))
        .into());
    }
    Ok(tradetrail_pg::FollowOptions {
        sync: SyncOptions {
            batch: batch.max(1),
            ..SyncOptions::default()
        },
        interval: std::time::Duration::from_secs_f64(interval),
        max_backoff: std::time::Duration::from_secs(30),
    })
}
