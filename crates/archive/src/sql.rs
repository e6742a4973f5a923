//! `tradetrail sql`: one `events` table over the archive and the live journal,
//! answered by DataFusion (feature `sql`).
//!
//! `events` is the union of the archive files that the manifests count (stray files
//! of an interrupted `archive` are not read) and the journal's records past the
//! archive, converted in memory to the same columns. Files no longer in
//! `DIR/archive` are read in place from the bucket `[archive] remote` names.
//! `sql --archive s3://bucket/prefix` (or a directory) queries an archive alone,
//! with the same columns: the files its manifests list, read in place. Parquet row groups are sorted by
//! `ts_event` with statistics, so time-window queries skip what they do not need.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{MemTable, TableProvider};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::{SessionConfig, SessionContext};
use tradetrail_core::DataDir;
use tradetrail_journal::{for_each_line, list_segments, FsStorage};

use tradetrail_objstore::Bucket;

use crate::archiver::archive_dir;
use crate::files::{configured_remote, partition_key};
use crate::index::ArchiveIndex;
use crate::manifest::MANIFEST_FILE;
use crate::remote::{check_listed, list_objects, listed_urls};
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("start", "the SQL runtime", e))
}

/// The archive files a query reads, as DataFusion addresses them, and the bucket
/// those not on local disk are read from (kept open while the query runs: its client
/// serves DataFusion's reads).
struct ArchiveTable {
    urls: Vec<ListingTableUrl>,
    bucket: Option<Bucket>,
}

impl ArchiveTable {
    /// The local files of the archive under `root`, or, for files no longer there, the
    /// objects of `remote` (present with their manifest's size). A listed file found
    /// in neither is refused, naming it.
    fn of_index(root: &Path, idx: &ArchiveIndex, remote: Option<Bucket>) -> Result<ArchiveTable> {
        let mut objects: Option<HashMap<String, u64>> = None;
        let mut urls = Vec::new();
        let mut from_bucket = false;
        for (p, f) in idx.files().filter(|(_, f)| f.purged_by.is_none()) {
            let path = p.dir.join(&f.file);
            if path.try_exists().map_err(|e| Error::io("open", &path, e))? {
                let path =
                    std::path::absolute(&path).map_err(|e| Error::io("resolve", &path, e))?;
                urls.push(ListingTableUrl::parse(path.to_string_lossy()).map_err(sql_err)?);
                continue;
            }
            let Some(bucket) = &remote else {
                return Err(Error::Corrupt {
                    path,
                    reason: format!(
                        "listed by its manifest (records {}..={}) but missing: restore it from a backup, or name the bucket that holds the archive's copy in `[archive] remote`",
                        f.first_seq, f.last_seq
                    ),
                });
            };
            let objects = match &mut objects {
                Some(o) => o,
                None => objects.insert(list_objects(bucket)?),
            };
            let key = format!("{}/{}", partition_key(root, &p.dir), f.file);
            check_listed(bucket, objects, &key, f)?;
            urls.push(ListingTableUrl::parse(bucket.url(&key)).map_err(sql_err)?);
            from_bucket = true;
        }
        Ok(ArchiveTable {
            urls,
            bucket: remote.filter(|_| from_bucket),
        })
    }

    /// Registers the files as `name` in `ctx` (an empty table when there are none),
    /// and the bucket's client for its `s3://bucket` URLs.
    fn register(&self, ctx: &SessionContext, name: &str) -> Result<()> {
        if let Some(bucket) = &self.bucket {
            let (store, base) = bucket.object_store();
            let url = ObjectStoreUrl::parse(&base).map_err(sql_err)?;
            ctx.register_object_store(url.as_ref(), store);
        }
        let table: Arc<dyn TableProvider> = if self.urls.is_empty() {
            Arc::new(MemTable::try_new(schema(), vec![vec![]]).map_err(sql_err)?)
        } else {
            Arc::new(listing_table(self.urls.clone())?)
        };
        ctx.register_table(name, table).map_err(sql_err)?;
        Ok(())
    }
}

async fn collect(ctx: &SessionContext, query: &str) -> Result<Vec<RecordBatch>> {
    let df = ctx.sql(query).await.map_err(sql_err)?;
    df.collect().await.map_err(sql_err)
}

/// Runs `query` against `events`, the archive of `data` (its files read from
/// `DIR/archive`, or from the bucket `[archive] remote` names for those no longer
/// there) and the journal's records past it, and returns the result.
pub fn run_sql(data: &DataDir, query: &str) -> Result<Vec<RecordBatch>> {
    let root = archive_dir(data);
    let idx = ArchiveIndex::load(&root)?;
    let archived = ArchiveTable::of_index(&root, &idx, configured_remote(data)?)?;
    let live = live_batch(data, idx.end())?;
    runtime()?.block_on(async {
        let ctx = session();
        archived.register(&ctx, "archived_events")?;
        let live_table = MemTable::try_new(schema(), vec![vec![live]]).map_err(sql_err)?;
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
        collect(&ctx, query).await
    })
}

/// Runs `query` against `events`, the archive in `bucket` alone (as `archive --to`
/// uploaded it): the files its manifests list and retention has not purged, each
/// present with its manifest's size, read in place (only the row groups and columns
/// the query needs). Refused, before the query runs, when the bucket holds no
/// archive, its files do not run from seq 0 without a gap, or a listed object is
/// missing or of another size. `tradetrail verify --archive` checks every object's
/// SHA-256 and records.
pub fn run_sql_on_bucket(bucket: Bucket, query: &str) -> Result<Vec<RecordBatch>> {
    let urls = listed_urls(&bucket)?
        .into_iter()
        .map(|u| ListingTableUrl::parse(u).map_err(sql_err))
        .collect::<Result<Vec<_>>>()?;
    let archived = ArchiveTable {
        urls,
        bucket: Some(bucket),
    };
    runtime()?.block_on(async {
        let ctx = session();
        archived.register(&ctx, "events")?;
        collect(&ctx, query).await
    })
}

/// Runs `query` against `events`, the archive in the directory `root` alone (a
/// data directory's `archive/`, or a copy of it): the files its manifests list.
/// Refused when `root` holds no archive or a listed file is missing.
pub fn run_sql_on_archive_dir(root: &Path, query: &str) -> Result<Vec<RecordBatch>> {
    let idx = ArchiveIndex::load(root)?;
    if idx.partitions.is_empty() {
        return Err(Error::BadInput(format!(
            "--archive {}: no archive here (no year=*/month=*/day=*/{MANIFEST_FILE} under it); name a data directory's archive/ or its copy",
            root.display()
        )));
    }
    let archived = ArchiveTable::of_index(root, &idx, None)?;
    runtime()?.block_on(async {
        let ctx = session();
        archived.register(&ctx, "events")?;
        collect(&ctx, query).await
    })
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
    runtime()?.block_on(async {
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
