//! `tradetrail import --map MAP.toml (--from-pg URL --table T | --from-csv FILE |
//! --from-jsonl FILE)`: bring an existing audit trail in (docs/import.md).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use tradetrail_core::DataDir;
use tradetrail_import::{Error, Mapping};

use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("from").required(true).args(["from_pg", "from_csv", "from_jsonl"])))]
pub struct Args {
    /// The mapping file: which column gives each field of the event (docs/import.md)
    #[arg(long, value_name = "FILE")]
    map: PathBuf,
    /// Read a PostgreSQL table (with --table) at this URL
    #[arg(long, value_name = "URL", requires = "table")]
    from_pg: Option<String>,
    /// The table to read (table or schema.table)
    #[arg(long, value_name = "TABLE")]
    table: Option<String>,
    /// With --from-pg: the column rows are read in order of [default: the mapping's id column]
    #[arg(long, value_name = "COLUMN")]
    order_by: Option<String>,
    /// Read a CSV file with a header line
    #[arg(long, value_name = "FILE")]
    from_csv: Option<PathBuf>,
    /// Read JSON Lines, one object per line
    #[arg(long, value_name = "FILE")]
    from_jsonl: Option<PathBuf>,
    /// The name of the source, recorded in import.completed and part of every event_id
    /// (importing the same rows under the same name again records nothing new)
    /// [default: postgres:TABLE, csv:FILE NAME or jsonl:FILE NAME]
    #[arg(long, value_name = "NAME")]
    source_name: Option<String>,
    /// Map and validate every row, report every bad one, write nothing
    #[arg(long)]
    dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.map)
        .map_err(|e| BadInput(format!("--map {}: {e}", args.map.display())))?;
    let mapping = Mapping::from_toml(&text)
        .map_err(|e| BadInput(format!("--map {}: {e}", args.map.display())))?;
    let open = |p: &Path, flag: &str| {
        std::fs::File::open(p).map_err(|e| BadInput(format!("{flag} {}: {e}", p.display())))
    };
    let (rows, default_name) = if let (Some(url), Some(table)) = (&args.from_pg, &args.table) {
        let order = args.order_by.as_deref().unwrap_or(mapping.id_column());
        let rows = tradetrail_pg::table_rows(url, table, order)?;
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, columns)| tradetrail_import::Row {
                number: i + 1,
                columns,
            })
            .collect();
        (rows, format!("postgres:{table}"))
    } else if let Some(p) = &args.from_csv {
        let rows = tradetrail_import::csv_rows(open(p, "--from-csv")?).map_err(import_error)?;
        (rows, format!("csv:{}", file_name(p)))
    } else if let Some(p) = &args.from_jsonl {
        let rows = tradetrail_import::jsonl_rows(open(p, "--from-jsonl")?).map_err(import_error)?;
        (rows, format!("jsonl:{}", file_name(p)))
    } else {
        return Err(
            BadInput("give --from-pg with --table, --from-csv or --from-jsonl".into()).into(),
        );
    };
    let source = args.source_name.unwrap_or(default_name);
    let dir = DataDir::resolve(data);
    let rec = super::open_recorder(&dir)?;
    let done = tradetrail_import::import(&rec, &source, &rows, &mapping, args.dry_run)
        .map_err(import_error)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&done)?)?;
    } else if args.dry_run {
        writeln!(
            out,
            "{} rows of {source} are valid; nothing written (--dry-run)",
            done.rows
        )?;
    } else {
        let span = match (done.first_seq, done.last_seq) {
            (Some(a), Some(b)) => format!(" (seq {a}..={b})"),
            _ => String::new(),
        };
        writeln!(
            out,
            "imported {} of {} rows of {source}{span}, {} already imported; import.completed at seq {}",
            done.imported,
            done.rows,
            done.duplicates,
            done.completed_seq.map_or("-".into(), |s| s.to_string())
        )?;
    }
    Ok(())
}

fn import_error(e: Error) -> anyhow::Error {
    if e.is_bad_input() {
        BadInput(e.to_string()).into()
    } else {
        anyhow::Error::new(e).context("importing")
    }
}
