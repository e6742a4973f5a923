//! Reading archive files back.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;

use crate::schema::col;
use crate::{Error, Result};

/// Every row of a file, as written (sorted by `ts_event`), optionally only some columns.
pub fn read_batches(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    decode_batches(file, path, columns)
}

/// [`read_batches`] on a file's bytes already in memory (`path` names it in errors).
pub(crate) fn decode_batches<R: ChunkReader + 'static>(
    source: R,
    path: &Path,
    columns: Option<&[&str]>,
) -> Result<Vec<RecordBatch>> {
    let pq = |source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let mut b = ParquetRecordBatchReaderBuilder::try_new(source).map_err(pq)?;
    if let Some(cols) = columns {
        let schema = b.parquet_schema();
        let idx: Vec<usize> = cols
            .iter()
            .map(|c| {
                (0..schema.num_columns())
                    .find(|&i| schema.column(i).name() == *c)
                    .ok_or_else(|| Error::Corrupt {
                        path: path.to_path_buf(),
                        reason: format!("has no column {c:?}"),
                    })
            })
            .collect::<Result<_>>()?;
        let mask = ProjectionMask::leaves(schema, idx);
        b = b.with_projection(mask);
    }
    let reader = b.with_batch_size(64 * 1024).build().map_err(pq)?;
    reader
        .map(|r| {
            r.map_err(|e| Error::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// `(seq, line)` of every record in a file, in seq order.
pub fn read_lines(path: &Path) -> Result<Vec<(u64, String)>> {
    with_lines(path, |lines| {
        lines
            .iter()
            .map(|&(seq, line)| (seq, line.to_string()))
            .collect()
    })
}

/// Calls `f` with `(seq, line)` of every record in a file, in seq order, each line
/// borrowed from the decoded `line` column (no copy per record).
pub fn with_lines<R>(path: &Path, f: impl FnOnce(&[(u64, &str)]) -> R) -> Result<R> {
    let batches = read_batches(path, Some(&[col::SEQ, col::LINE]))?;
    lines_in(&batches, path, f)
}

/// Calls `f` with `(seq, line)` of every row of `batches` (a file's `seq` and `line`
/// columns; `path` names it in errors), in seq order.
pub(crate) fn lines_in<R>(
    batches: &[RecordBatch],
    path: &Path,
    f: impl FnOnce(&[(u64, &str)]) -> R,
) -> Result<R> {
    let mut out = seq_lines(batches).ok_or_else(|| Error::Corrupt {
        path: path.to_path_buf(),
        reason: "the seq or line column is missing or has the wrong type".into(),
    })?;
    out.sort_by_key(|&(s, _)| s);
    Ok(f(&out))
}

/// Calls `f` with `(seq, row, line)` of every row of `batches` (a file's `seq` and
/// `line` columns; `path` names it in errors), in seq order: `row` is the record's
/// row in the file (the rows are in `ts_event` order).
pub(crate) fn placed_lines_in<R>(
    batches: &[RecordBatch],
    path: &Path,
    f: impl FnOnce(&[(u64, u32, &str)]) -> R,
) -> Result<R> {
    let lines = seq_lines(batches).ok_or_else(|| Error::Corrupt {
        path: path.to_path_buf(),
        reason: "the seq or line column is missing or has the wrong type".into(),
    })?;
    let rows = u32::try_from(lines.len()).map_err(|_| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("holds {} rows, more than a file can", lines.len()),
    })?;
    let mut out: Vec<(u64, u32, &str)> = (0..rows)
        .zip(lines)
        .map(|(row, (seq, line))| (seq, row, line))
        .collect();
    out.sort_by_key(|&(s, _, _)| s);
    Ok(f(&out))
}

/// `(seq, line)` of every row of `batches`, in file order, each line borrowed from
/// the `line` column; `None` if a batch lacks either column or has it with another type.
pub(crate) fn seq_lines(batches: &[RecordBatch]) -> Option<Vec<(u64, &str)>> {
    let mut out = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    for b in batches {
        let seq = b
            .column_by_name(col::SEQ)
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())?;
        let line = b
            .column_by_name(col::LINE)
            .and_then(|c| c.as_string_opt::<i32>())?;
        out.extend((0..b.num_rows()).map(|i| (seq.value(i), line.value(i))));
    }
    Some(out)
}
