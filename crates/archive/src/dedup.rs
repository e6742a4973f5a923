//! The `event_id`s of archived records, so that the journal's deduplication still
//! covers records that have left `journal/`.

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::Array;
use tradetrail_core::DataDir;
use tradetrail_journal::{dedup_key_of, DedupKey};

use crate::archiver::archive_dir;
use crate::files::ArchiveFiles;
use crate::index::ArchiveIndex;
use crate::schema::col;
use crate::{Error, Result};

/// `(key, seq)` of every archived record below `below` that has an `event_id`, read
/// from the `seq` and `event_id` columns of the files that hold such records (the
/// manifests say which). Purged files are gone, and so are their keys.
pub fn event_id_keys(data: &DataDir, below: u64) -> Result<Vec<(DedupKey, u64)>> {
    let root = archive_dir(data);
    if !root.exists() {
        return Ok(Vec::new());
    }
    let idx = ArchiveIndex::load(&root)?;
    let files = ArchiveFiles::open(data)?;
    let mut out = Vec::new();
    for (p, f) in idx.files() {
        if f.purged_by.is_some() || f.first_seq >= below {
            continue;
        }
        let path = files.name(&p.dir, f);
        let bad = || Error::Corrupt {
            path: path.clone(),
            reason: "the seq or event_id column has the wrong type".into(),
        };
        for b in files.batches(&p.dir, f, Some(&[col::SEQ, col::EVENT_ID]))? {
            let seq = b
                .column_by_name(col::SEQ)
                .and_then(|c| c.as_primitive_opt::<UInt64Type>())
                .ok_or_else(bad)?;
            let id = b
                .column_by_name(col::EVENT_ID)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(bad)?;
            if id.null_count() == id.len() {
                continue;
            }
            for i in 0..b.num_rows() {
                if id.is_valid(i) && seq.value(i) < below {
                    out.push((dedup_key_of(id.value(i)), seq.value(i)));
                }
            }
        }
    }
    Ok(out)
}
