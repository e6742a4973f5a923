//! `tradetrail sql "SELECT ..."` (built with `--features sql`)

use std::path::Path;

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The query, over one table `events` (archive + live journal)
    query: String,
    /// Output: table, csv or jsonl
    #[arg(long, default_value = "table")]
    format: String,
    /// Query this archive alone instead of the data directory: `s3://bucket/prefix`
    /// (what `archive --to` uploaded; AWS_* variables as for `archive --to`) or a
    /// directory (a data directory's `archive/`, or a copy of it)
    #[arg(long, value_name = "LOCATION")]
    archive: Option<String>,
}

#[cfg(feature = "sql")]
pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    use tradetrail_archive::{
        run_sql, run_sql_on_archive_dir, run_sql_on_bucket, write_results, Bucket, SqlFormat,
    };
    let format = match args.format.as_str() {
        "table" => SqlFormat::Table,
        "csv" => SqlFormat::Csv,
        "jsonl" => SqlFormat::Jsonl,
        other => {
            return Err(crate::exit::BadInput(format!(
                "--format: {other:?} is not table, csv or jsonl"
            ))
            .into())
        }
    };
    let batches = match &args.archive {
        Some(loc) if tradetrail_archive::is_object_location(loc) => {
            let bucket = Bucket::open(loc).map_err(|e| super::archive::cli_error(e.into()))?;
            run_sql_on_bucket(bucket, &args.query)
        }
        Some(loc) => run_sql_on_archive_dir(Path::new(loc), &args.query),
        None => {
            // Through the read door: a journal that was altered, or contradicts a
            // signed checkpoint, is refused here as by every other reader.
            let dir = tradetrail_core::DataDir::resolve(data);
            let read = tradetrail_store::Store::open_read(&dir)?;
            run_sql(read.data_dir(), &args.query)
        }
    }
    .map_err(|e| match e {
        tradetrail_archive::Error::Sql(s) => crate::exit::BadInput(format!("sql: {s}")).into(),
        e => super::archive::cli_error(e),
    })?;
    let mut out = std::io::stdout().lock();
    write_results(&batches, format, &mut out).map_err(super::archive::cli_error)?;
    Ok(())
}

#[cfg(not(feature = "sql"))]
pub fn run(_data: Option<&Path>, _args: Args) -> Result<()> {
    Err(crate::exit::BadInput(
        "this tradetrail was built without SQL; build it with \
         `cargo build --release -p tradetrail-cli --features sql` (DataFusion; a longer build), \
         or query the Parquet archive directly, e.g. DuckDB: \
         SELECT * FROM read_parquet('DIR/archive/**/*.parquet', hive_partitioning=true)"
            .into(),
    )
    .into())
}
