//! `tradetrail sql`: one `events` table over the archive and the live journal,
//! answered by DataFusion (feature `sql`).
//!
//! `events` is the union of the archive files that the manifests count (stray files
//! of an interrupted `archive` are not read) and the journal's records past the
//! archive, converted in memory to the same columns. Parquet row groups are sorted by
//! `ts_event` with statistics, so time-window queries skip what they do not need.

use std::io::Write;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use tradetrail_core::DataDir;
use tradetrail_journal::{for_each_line, list_segments, FsStorage};

use crate::archiver::archive_dir;
use crate::index::ArchiveIndex;
use crate::row::{build_batch, Row};
use crate::schema::schema;
use crate::{Error, Result};

/// How `sql` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON object per row.
    Jsonl,
}

fn sql_err(e: impl std::fmt::Display) -> Error {
    Error::Sql(e.to_string())
}

/// Runs `query` against `events` and returns the result.
pub fn run_sql(data: &DataDir, query: &str) -> Result<Vec<RecordBatch>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("start", "the SQL runtime", e))?;
    rt.block_on(async {
        let ctx = events_context(data).await?;
        let df = ctx.sql(query).await.map_err(sql_err)?;
        df.collect().await.map_err(sql_err)
    })
}

/// A DataFusion session with `events` registered.
pub async fn events_context(data: &DataDir) -> Result<SessionContext> {
    let ctx = session();
    let idx = ArchiveIndex::load(&archive_dir(data))?;
    let mut urls = Vec::new();
    for (p, f) in idx.files() {
        if f.purged_by.is_none() {
            let path = p.dir.join(&f.file);
            let path = std::path::absolute(&path).map_err(|e| Error::io("resolve", &path, e))?;
            urls.push(ListingTableUrl::parse(path.to_string_lossy()).map_err(sql_err)?);
        }
    }
    let live = live_batch(data, idx.end())?;
    let live_table = MemTable::try_new(schema(), vec![vec![live]]).map_err(sql_err)?;
    if urls.is_empty() {
        ctx.register_table("events", Arc::new(live_table))
            .map_err(sql_err)?;
        return Ok(ctx);
    }
    ctx.register_table("archived_events", Arc::new(listing_table(urls)?))
        .map_err(sql_err)?;
    ctx.register_table("live_events", Arc::new(live_table))
        .map_err(sql_err)?;
    let union = ctx
        .table("archived_events")
        .await
        .map_err(sql_err)?
        .union(ctx.table("live_events").await.map_err(sql_err)?)
        .map_err(sql_err)?;
    ctx.register_table("events", union.into_view())
        .map_err(sql_err)?;
    Ok(ctx)
}

fn session() -> SessionContext {
    let cfg = SessionConfig::new()
        .with_target_partitions(2)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true)
        .set_bool("datafusion.execution.collect_statistics", true)
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        );
    SessionContext::new_with_config(cfg)
}

/// A table over exactly these archive files.
fn listing_table(urls: Vec<ListingTableUrl>) -> Result<ListingTable> {
    let opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(opts)
        .with_schema(schema());
    ListingTable::try_new(config).map_err(sql_err)
}

/// Runs `query` over a table `events` made of these archive files alone (for the
/// benchmark's synthetic history).
pub fn run_sql_on_files(files: &[std::path::PathBuf], query: &str) -> Result<Vec<RecordBatch>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("start", "the SQL runtime", e))?;
    rt.block_on(async {
        let ctx = session();
        let urls = files
            .iter()
            .map(|p| {
                ListingTableUrl::parse(
                    std::path::absolute(p)
                        .unwrap_or(p.clone())
                        .to_string_lossy(),
                )
                .map_err(sql_err)
            })
            .collect::<Result<Vec<_>>>()?;
        ctx.register_table("events", Arc::new(listing_table(urls)?))
            .map_err(sql_err)?;
        ctx.sql(query)
            .await
            .map_err(sql_err)?
            .collect()
            .await
            .map_err(sql_err)
    })
}

/// The journal's records from `from` on (those not archived yet), in seq order.
fn live_batch(data: &DataDir, from: u64) -> Result<RecordBatch> {
    let jdir = data.journal();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let segs = list_segments(&FsStorage, &jdir)?;
    if let Some(first) = segs.first() {
        for_each_line(
            &FsStorage,
            &jdir,
            from.max(first.first_seq),
            None,
            |_, line| {
                lines.push(line.to_vec());
                Ok(true)
            },
        )?;
    }
    let rows: Vec<Row<'_>> = lines
        .iter()
        .map(|l| {
            Row::parse(l).map_err(|reason| Error::Chain {
                seq: tradetrail_journal::parse_header(l).map_or(0, |h| h.seq),
                reason,
            })
        })
        .collect::<Result<_>>()?;
    let order: Vec<usize> = (0..rows.len()).collect();
    build_batch(&rows, &order)
}

/// Prints `batches` in `format`.
pub fn write_results(
    batches: &[RecordBatch],
    format: SqlFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let io = |e: std::io::Error| Error::io("write", "stdout", e);
    match format {
        SqlFormat::Table => {
            let t = arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{t}").map_err(io)?;
        }
        SqlFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for b in batches {
                w.write(b)?;
            }
        }
        SqlFormat::Jsonl => {
            let mut w = arrow::json::LineDelimitedWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}
