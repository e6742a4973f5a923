//! One journal line as a row of the archive, and rows into Arrow batches.
//!
//! A row is the journal's one view of a recorded line ([`RecordView`]), parsed once,
//! borrowing from the segment's bytes; the `line` column always holds every byte.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampNanosecondArray, UInt64Array};
use arrow_buffer::{BooleanBufferBuilder, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;
pub use tradetrail_journal::RecordView as Row;

use crate::schema::schema;

/// The ten string columns from `type` to `entity_id` in file order, then `prev`,
/// `refs` and `data`.
fn string_columns<'r>(r: &'r Row<'_>) -> [Option<&'r str>; 13] {
    [
        Some(&r.ty),
        r.source.as_deref(),
        r.actor.as_deref(),
        r.event_id.as_deref(),
        r.trader_id.as_deref(),
        r.strategy_id.as_deref(),
        r.account_id.as_deref(),
        r.instrument_id.as_deref(),
        r.entity_kind.as_deref(),
        r.entity_id.as_deref(),
        Some(&r.prev),
        r.refs,
        r.data,
    ]
}

/// Builds one batch of the archive schema from `rows`, in the given order.
pub fn build_batch(rows: &[Row<'_>], order: &[usize]) -> crate::Result<RecordBatch> {
    ColumnBuffers::default().build(rows, order)
}

/// The memory a batch's columns are built in, given back after the batch is written
/// and used again for the next one.
///
/// A row group's columns are tens of MB. Fresh for every row group, that memory is
/// faulted in page by page each time (the allocator hands large blocks back to the
/// kernel when they are freed); on a 2-core machine those faults cost a tenth of the
/// archive's CPU. Kept here, they are faulted in once per worker.
///
/// Each column of the schema has its own slot, so a column gets back memory of its
/// own size.
#[derive(Default)]
pub struct ColumnBuffers {
    bytes: Vec<Vec<u8>>,
    offsets: Vec<Vec<i32>>,
    words: Vec<Vec<u64>>,
    stamps: Vec<Vec<i64>>,
}

/// The schema's index of each of `string_columns`, then of `line`: the slot each
/// string column takes its memory from (where it lands in the batch is `build`'s order).
const STRING_SLOTS: [usize; 14] = [3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 2, 14, 15, 16];

/// Takes the vector in slot `i` of `pool`, empty and with room for `n` more.
fn take<T>(pool: &mut [Vec<T>], i: usize, n: usize) -> Vec<T> {
    let mut v = pool.get_mut(i).map(std::mem::take).unwrap_or_default();
    v.clear();
    // Exact: a column a little longer than the last would otherwise double.
    v.reserve_exact(n);
    v
}

/// Puts `v` in slot `i` of `pool`.
fn put<T>(pool: &mut Vec<Vec<T>>, i: usize, v: Vec<T>) {
    if pool.len() <= i {
        pool.resize_with(i + 1, Vec::new);
    }
    pool[i] = v;
}

/// One string column being built: its bytes, offsets and nulls.
struct StringColumn {
    values: Vec<u8>,
    offsets: Vec<i32>,
    valid: BooleanBufferBuilder,
    nulls: usize,
}

impl StringColumn {
    fn new(pool: &mut ColumnBuffers, slot: usize, n: usize, bytes: usize) -> StringColumn {
        let values = take(&mut pool.bytes, slot, bytes);
        let mut offsets = take(&mut pool.offsets, slot, n + 1);
        offsets.push(0);
        StringColumn {
            values,
            offsets,
            valid: BooleanBufferBuilder::new(n),
            nulls: 0,
        }
    }

    #[inline]
    fn push(&mut self, v: Option<&str>) {
        if let Some(v) = v {
            self.values.extend_from_slice(v.as_bytes());
        } else {
            self.nulls += 1;
        }
        self.valid.append(v.is_some());
        self.offsets.push(self.values.len() as i32);
    }

    fn finish(mut self) -> crate::Result<ArrayRef> {
        if i32::try_from(self.values.len()).is_err() {
            return Err(crate::Error::BadInput(format!(
                "a row group's column holds {} bytes, more than a Parquet string column's 2 GiB",
                self.values.len()
            )));
        }
        let nulls = (self.nulls > 0).then(|| NullBuffer::new(self.valid.finish()));
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        let array = StringArray::try_new(offsets, Buffer::from_vec(self.values), nulls)?;
        Ok(Arc::new(array))
    }
}

impl ColumnBuffers {
    /// Builds one batch of the archive schema from `rows`, in the given order, in
    /// this pool's memory.
    pub fn build(&mut self, rows: &[Row<'_>], order: &[usize]) -> crate::Result<RecordBatch> {
        let n = order.len();
        // Exact sizes, in one pass: a column that grows copies what it holds.
        let mut sizes = [0usize; 13];
        let mut line_bytes = 0;
        for &i in order {
            let r = &rows[i];
            line_bytes += r.line.len();
            let cols = string_columns(r);
            for (size, v) in sizes.iter_mut().zip(cols) {
                *size += v.map_or(0, str::len);
            }
        }
        let mut seq = take(&mut self.words, 0, n);
        let mut ts_recorded = take(&mut self.stamps, 1, n);
        let mut ts_event = take(&mut self.stamps, 4, n);
        let mut ts_event_valid = BooleanBufferBuilder::new(n);
        let mut ts_event_nulls = 0usize;
        let mut strings: Vec<StringColumn> = sizes
            .iter()
            .zip(STRING_SLOTS)
            .map(|(&size, slot)| StringColumn::new(self, slot, n, size))
            .collect();
        let mut line = StringColumn::new(self, STRING_SLOTS[13], n, line_bytes);
        for &i in order {
            let r = &rows[i];
            seq.push(r.seq);
            ts_recorded.push(r.ts_recorded);
            ts_event.push(r.ts_event.unwrap_or(0));
            ts_event_valid.append(r.ts_event.is_some());
            ts_event_nulls += usize::from(r.ts_event.is_none());
            for (b, v) in strings.iter_mut().zip(string_columns(r)) {
                b.push(v);
            }
            line.push(Some(r.line));
        }
        let ts = |v: Vec<i64>, nulls: Option<NullBuffer>| -> ArrayRef {
            Arc::new(
                TimestampNanosecondArray::new(ScalarBuffer::from(v), nulls).with_timezone("UTC"),
            )
        };
        let ts_event_nulls = (ts_event_nulls > 0).then(|| NullBuffer::new(ts_event_valid.finish()));
        // In `string_columns` order: type, the nine optional strings, prev, refs, data.
        let mut s = strings.into_iter().map(StringColumn::finish);
        let mut next = || s.next().expect("thirteen string columns");
        let ty = next()?;
        let optional = (0..9).map(|_| next()).collect::<crate::Result<Vec<_>>>()?;
        let prev = next()?;
        let refs = next()?;
        let data = next()?;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::new(ScalarBuffer::from(seq), None)),
            ts(ts_recorded, None),
            prev,
            ty,
            ts(ts_event, ts_event_nulls),
        ];
        columns.extend(optional);
        columns.extend([refs, data, line.finish()?]);
        Ok(RecordBatch::try_new(schema(), columns)?)
    }

    /// Takes back the memory of a batch built here, once nothing else holds it.
    pub fn give_back(&mut self, batch: RecordBatch) {
        let (_, columns, _) = batch.into_parts();
        for (i, column) in columns.into_iter().enumerate() {
            let data = column.to_data();
            drop(column);
            let ty = data.data_type().clone();
            let mut buffers = data.buffers().to_vec();
            // `buffers` is now the last holder of the column's memory, if it is not
            // shared (then it is simply dropped).
            drop(data);
            match ty {
                DataType::Utf8 => {
                    let values = buffers.pop().map(|b| b.into_vec::<u8>());
                    let offsets = buffers.pop().map(|b| b.into_vec::<i32>());
                    if let (Some(Ok(values)), Some(Ok(offsets))) = (values, offsets) {
                        put(&mut self.bytes, i, values);
                        put(&mut self.offsets, i, offsets);
                    }
                }
                DataType::UInt64 => {
                    if let Some(Ok(v)) = buffers.pop().map(|b| b.into_vec::<u64>()) {
                        put(&mut self.words, i, v);
                    }
                }
                DataType::Timestamp(..) => {
                    if let Some(Ok(v)) = buffers.pop().map(|b| b.into_vec::<i64>()) {
                        put(&mut self.stamps, i, v);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The order rows take in a file: by `ts_event` (else `ts_recorded`), then `seq`.
pub fn file_order(rows: &[Row<'_>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (rows[i].sort_ts(), rows[i].seq));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn pooled_batches_equal_fresh_ones_and_reuse_their_memory() {
        let lines: Vec<String> = (0..50)
            .map(|i| {
                let ts_event = if i % 3 == 0 { String::new() } else { format!(r#","ts_event":{}"#, 100 - i) };
                let trader = if i % 2 == 0 { r#","trader_id":"T-\"1""# } else { "" };
                format!(
                    r#"{{"seq":{i},"ts_recorded":{},"prev":"{}","type":"order.filled"{ts_event}{trader},"data":{{"n":{i}}}}}"#,
                    10 + i,
                    "0".repeat(64)
                )
            })
            .collect();
        let rows: Vec<Row<'_>> = lines
            .iter()
            .map(|l| Row::parse(l.as_bytes()).unwrap())
            .collect();
        let order = file_order(&rows);
        let mut pool = ColumnBuffers::default();
        let first = pool.build(&rows, &order).unwrap();
        assert_eq!(first, build_batch(&rows, &order).unwrap());
        let line_at = |b: &RecordBatch| b.column(16).to_data().buffers()[1].as_ptr();
        let was = line_at(&first);
        pool.give_back(first);
        // Fewer rows the second time: the same memory holds them.
        let second = pool.build(&rows, &order[..40]).unwrap();
        assert_eq!(second, build_batch(&rows, &order[..40]).unwrap());
        assert_eq!(
            line_at(&second),
            was,
            "the line column reuses the pooled bytes"
        );
        let no_ts_event = order[..40].iter().filter(|&&i| i % 3 == 0).count();
        assert!(no_ts_event > 0);
        assert_eq!(second.column(4).null_count(), no_ts_event);
        assert!(second.column(8).null_count() > 0);
    }
}
