//! `export`: a bundle a regulator or an auditor can read and check offline
//! (SEC 17a-4(f)(2)(iv): records produced in a human-readable and a machine-usable form).
//!
//! ```text
//! bundle/
//!   README.md           how to verify offline (tradetrail verify-proof or any RFC 9162 verifier)
//!   records.jsonl       the records, the journal's lines byte for byte
//!   records.csv         the same, one row each (RFC 4180)
//!   report.html         a self-contained report for people: timeline and key fields
//!   checkpoint.txt      the signed checkpoint (C2SP signed note) the proofs are against
//!   verifier.vkey       the journal's verifier key
//!   records/SEQ.jsonl   each record alone (the --record of verify-proof)
//!   proofs/SEQ.json     its inclusion proof at the checkpoint's size (`prove inclusion --json`)
//!   bundle.json         what was selected, the checkpoint, and the SHA-256 of every file
//! ```
//!
//! Records are chosen by the query index ([`Investigator`]): a trail for an id, or a
//! filter. The proofs are against the latest checkpoint if it covers every record;
//! otherwise a new checkpoint is taken first. The checkpoint is checked against the
//! journal, and every proof is verified offline before the bundle is written. The
//! bundle is built in a hidden directory beside the destination and renamed into
//! place, so a failed export leaves nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use tradetrail_checkpoint::{open_note, VerifierKey, VERIFIER_KEY_FILE};
use tradetrail_core::checkpoints::{latest_checkpoint, take_checkpoint, verify_offline};
use tradetrail_core::{Config, DataDir, Recorder, Tree};
use tradetrail_query::render::RecordWriter;
use tradetrail_query::{Filter, Format, Investigator, QueryOptions, Record, TimeZone};

use crate::backup::{is_empty_or_missing, sha256_hex};
use crate::{Error, Result};

/// Which records to export.
#[derive(Debug, Clone)]
pub enum Selection {
    /// The whole decision chain around an id (as `tradetrail trail ID`).
    Trail(String),
    /// The records that match a filter (as `tradetrail query`).
    Query(Box<Filter>),
}

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The records.
    pub selection: Selection,
    /// The bundle directory (must not exist or be empty).
    pub out: PathBuf,
    /// The selection in words, for the README and the report (e.g. the command line).
    pub description: String,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// The bundle directory.
    pub out: PathBuf,
    /// Records exported.
    pub records: usize,
    /// The checkpoint's size and root (hex).
    pub checkpoint: (u64, String),
    /// True when no saved checkpoint covered the records and one was taken.
    pub took_checkpoint: bool,
    /// Remarks of a trail (gaps, ids not followed).
    pub notes: Vec<String>,
}

/// The records a selection picks, with a trail's gaps and notes. Nothing picked is
/// bad input: an empty bundle proves nothing.
type Picked = (Vec<Record>, Vec<(u64, String)>, Vec<String>);

fn pick(inv: &Investigator, selection: &Selection, description: &str) -> Result<Picked> {
    let picked = match selection {
        Selection::Trail(id) => {
            let t = inv.trail(id)?;
            let gaps: Vec<(u64, String)> =
                t.gaps.iter().map(|g| (g.seq, g.message.clone())).collect();
            (t.records, gaps, t.notes)
        }
        Selection::Query(f) => {
            let (r, s) = inv.query(f, &QueryOptions::default())?;
            (r, Vec::new(), s.notes)
        }
    };
    if picked.0.is_empty() {
        return Err(Error::bad(
            "selection",
            format!("no record matches {description}; nothing written"),
        ));
    }
    Ok(picked)
}

/// A bundle's files by their path inside it, and what it holds.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Every file of the bundle (see the module's layout), by relative path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Records exported.
    pub records: usize,
    /// The checkpoint's size and root (hex).
    pub checkpoint: (u64, String),
    /// True when no saved checkpoint covered the records and one was taken.
    pub took_checkpoint: bool,
    /// Remarks of a trail (gaps, ids not followed).
    pub notes: Vec<String>,
}

impl Bundle {
    /// The bundle as one ZIP file (deflated), every file under `folder/`: what a
    /// browser downloads. The files are the same bytes `export` writes to a directory,
    /// so `bundle.json`'s SHA-256 sums and the offline checks hold for both.
    pub fn to_zip(&self, folder: &str) -> Result<Vec<u8>> {
        use std::io::Write as _;
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let fail = |e: zip::result::ZipError| Error::refused("bundle.zip", e.to_string());
        for (rel, bytes) in &self.files {
            w.start_file(format!("{folder}/{rel}"), opts)
                .map_err(fail)?;
            w.write_all(bytes).map_err(Error::io("bundle.zip"))?;
        }
        Ok(w.finish().map_err(fail)?.into_inner())
    }
}

/// Writes an export bundle for the records `opts.selection` picks.
pub fn export(dir: &DataDir, inv: &Investigator, opts: &ExportOptions) -> Result<ExportReport> {
    if !is_empty_or_missing(&opts.out)? {
        return Err(Error::bad(
            "--out",
            format!(
                "{} exists and is not empty; export into a new directory",
                opts.out.display()
            ),
        ));
    }
    let picked = pick(inv, &opts.selection, &opts.description)?;
    let last = picked.0.last().map_or(0, |r| r.seq);
    let vkey = read_vkey(dir)?;
    let saved = latest_checkpoint(dir)?;
    // Through the one door: a damaged journal, or one contradicting a signed
    // checkpoint, is refused rather than exported. Beside a process recording into
    // `dir` (the journal is locked), through its read side, proving against a saved
    // checkpoint only (none can be taken here).
    let (note, cp_path, tree, took) = match tradetrail_store::Store::open(dir) {
        Ok(store) => {
            let rec = store.into_recorder();
            let (note, path, took) = covering_checkpoint(&rec, &vkey.1, saved, last)?;
            let (tree, _) = Tree::load(&rec)?;
            (note, path, tree, took)
        }
        Err(tradetrail_store::Error::Core(tradetrail_core::Error::Journal(
            tradetrail_journal::Error::Locked { .. },
        ))) => {
            let read = tradetrail_store::Store::open_read(dir)?;
            let Some((path, note)) =
                saved.filter(|(_, n)| covers(&vkey.1, n, last).ok().flatten().is_some())
            else {
                return Err(Error::bad(
                    "checkpoint",
                    format!(
                        "no saved checkpoint covers seq {last} and the journal is open for writing by another process; take a checkpoint there and export again"
                    ),
                ));
            };
            (note, path, read.tree()?, false)
        }
        Err(e) => return Err(e.into()),
    };
    let bundle = build(
        dir,
        &vkey,
        picked,
        &opts.description,
        (&note, &cp_path),
        &tree,
        took,
    )?;
    write_dir(&bundle, &opts.out)?;
    Ok(ExportReport {
        out: opts.out.clone(),
        records: bundle.records,
        checkpoint: bundle.checkpoint,
        took_checkpoint: bundle.took_checkpoint,
        notes: bundle.notes,
    })
}

/// An export bundle built in memory by a process that holds the journal open (the
/// server): proofs from its tree, against the newest saved checkpoint if it covers the
/// records, else a checkpoint taken now. At most `max_records` records: a larger
/// selection is bad input (narrow it), since each record carries its own proof.
/// The caller serializes tree access (the server's tree lock).
pub fn export_open(
    rec: &Recorder,
    inv: &Investigator,
    selection: &Selection,
    description: &str,
    max_records: usize,
) -> Result<Bundle> {
    let picked = pick(inv, selection, description)?;
    if picked.0.len() > max_records {
        return Err(Error::bad(
            "selection",
            format!(
                "{} records match {description}; a bundle holds at most {max_records} (each with its own proof): narrow the filter, or run `tradetrail export` on the journal's host",
                picked.0.len()
            ),
        ));
    }
    let last = picked.0.last().map_or(0, |r| r.seq);
    let dir = rec.data_dir();
    let vkey = read_vkey(dir)?;
    let saved = latest_checkpoint(dir)?;
    let (note, path, took) = covering_checkpoint(rec, &vkey.1, saved, last)?;
    let (tree, _) = Tree::load(rec)?;
    build(dir, &vkey, picked, description, (&note, &path), &tree, took)
}

/// The verifier key's text and the key.
fn read_vkey(dir: &DataDir) -> Result<(String, VerifierKey)> {
    let path = dir.keys().join(VERIFIER_KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
    let key = VerifierKey::parse(text.trim())
        .map_err(|e| Error::refused("keys/verifier.vkey", e.to_string()))?;
    Ok((text, key))
}

/// The checkpoint's size when it covers record `last`.
fn covers(vkey: &VerifierKey, note: &str, last: u64) -> Result<Option<u64>> {
    let cp = open_note(note, vkey).map_err(|e| {
        Error::refused(
            "checkpoints/",
            format!("the latest checkpoint does not verify: {e}"),
        )
    })?;
    Ok((cp.size() > last).then_some(cp.size()))
}

/// The saved checkpoint if it covers `last`, else one taken now; whether it was taken.
fn covering_checkpoint(
    rec: &Recorder,
    vkey: &VerifierKey,
    saved: Option<(PathBuf, String)>,
    last: u64,
) -> Result<(String, PathBuf, bool)> {
    match saved {
        Some((path, note)) if covers(vkey, &note, last)?.is_some() => Ok((note, path, false)),
        _ => {
            let t = take_checkpoint(rec)?;
            Ok((t.note, t.path, true))
        }
    }
}

/// Every file of the bundle, each proof checked as the auditor will check it.
fn build(
    dir: &DataDir,
    vkey: &(String, VerifierKey),
    (records, gaps, mut notes): Picked,
    description: &str,
    (note, cp_path): (&str, &Path),
    tree: &Tree,
    took: bool,
) -> Result<Bundle> {
    let (vkey_text, vkey) = vkey;
    let config = Config::load(&dir.config())?;
    let cp = open_note(note, vkey).map_err(|e| {
        Error::refused(
            cp_path.display().to_string(),
            format!("does not verify: {e}"),
        )
    })?;
    let size = cp.size();
    let root = tree.root_at(size)?;
    if root.0 != *cp.root() {
        return Err(Error::refused(
            cp_path.display().to_string(),
            format!(
                "the journal's root at size {size} is {root}, not the signed root: the journal was altered; run `tradetrail verify --checkpoint {}`",
                cp_path.display()
            ),
        ));
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut jsonl = Vec::new();
    let mut csv = Vec::new();
    {
        let mut w = RecordWriter::new(&mut csv, Format::Csv, TimeZone::Utc);
        for r in &records {
            w.write(r.seq, &r.line).map_err(Error::io("records.csv"))?;
        }
        w.finish().map_err(Error::io("records.csv"))?;
    }
    for r in &records {
        let mut line = r.line.clone();
        line.push(b'\n');
        let proof = tree.prove_inclusion(r.seq, Some(size))?;
        let mut proof_json = serde_json::to_vec(&proof)
            .map_err(|e| Error::refused(format!("proofs/{}.json", r.seq), e.to_string()))?;
        proof_json.push(b'\n');
        // Every proof is checked exactly as the auditor will check it.
        verify_offline(note, vkey_text, &line, &proof_json).map_err(|e| {
            Error::refused(
                format!("record {}", r.seq),
                format!("its proof does not verify against the checkpoint: {e}"),
            )
        })?;
        jsonl.extend_from_slice(&line);
        files.insert(format!("records/{}.jsonl", r.seq), line);
        files.insert(format!("proofs/{}.json", r.seq), proof_json);
    }
    notes.extend(gaps.iter().map(|(s, m)| format!("gap at seq {s}: {m}")));
    let generated = tradetrail_model::format_time(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
    );
    let ctx = crate::html::Context {
        origin: &config.origin,
        description,
        generated: &generated,
        size,
        root: &root.to_string(),
        records: &records,
        notes: &notes,
    };
    files.insert("records.jsonl".into(), jsonl);
    files.insert("records.csv".into(), csv);
    files.insert("report.html".into(), crate::html::report(&ctx).into_bytes());
    files.insert("checkpoint.txt".into(), note.to_owned().into_bytes());
    files.insert("verifier.vkey".into(), vkey_text.clone().into_bytes());
    files.insert(
        "README.md".into(),
        readme(&config.origin, description, &records, size).into_bytes(),
    );
    let sums: BTreeMap<&String, String> = files.iter().map(|(k, v)| (k, sha256_hex(v))).collect();
    let manifest = json!({
        "format": "tradetrail-export/1",
        "origin": config.origin,
        "selection": description,
        "generated": generated,
        "records": records.len(),
        "seqs": records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        "checkpoint": {"size": size, "root": root.to_string(), "key_id": vkey.key_id().to_string()},
        "notes": notes,
        "sha256": sums,
    });
    let mut manifest = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::refused("bundle.json", e.to_string()))?;
    manifest.push(b'\n');
    files.insert("bundle.json".into(), manifest);
    Ok(Bundle {
        files,
        records: records.len(),
        checkpoint: (size, root.to_string()),
        took_checkpoint: took,
        notes,
    })
}

/// Writes the bundle's files beside `out`, then renames them into place, so a failed
/// export leaves nothing.
fn write_dir(bundle: &Bundle, out: &Path) -> Result<()> {
    let name = out
        .file_name()
        .ok_or_else(|| Error::bad("--out", format!("{}: not a directory name", out.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
    let staging = Staging(parent.join(format!(".{name}.exporting-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&staging.0);
    for (rel, bytes) in &bundle.files {
        crate::store::write_atomically(&staging.0.join(rel), bytes)?;
    }
    if out.exists() {
        std::fs::remove_dir(out).map_err(Error::io(out))?;
    }
    std::fs::rename(&staging.0, out).map_err(Error::io(out))?;
    std::mem::forget(staging);
    Ok(())
}

/// Removes a half-built bundle.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn readme(origin: &str, description: &str, records: &[Record], size: u64) -> String {
    let first = records.first().map_or(0, |r| r.seq);
    format!(
        r#"# tradetrail export bundle

Journal (origin): `{origin}`
Selection: {description}
Records: {n} (seq {first} … {last}), proved against the signed checkpoint of tree size {size}.

## What is here

| file | what |
|---|---|
| `report.html` | the records for people: a timeline with the key fields of each (open it in any browser; it needs no network) |
| `records.jsonl` | the records as JSON Lines, each line byte for byte as the journal stored it |
| `records.csv` | the same records, one row each (RFC 4180, times in UTC) |
| `records/SEQ.jsonl` | each record alone, as the `--record` input of `tradetrail verify-proof` |
| `proofs/SEQ.json` | its RFC 9162 inclusion proof in the tree of the first {size} records |
| `checkpoint.txt` | the signed checkpoint (a C2SP `tlog-checkpoint` in an Ed25519 signed note) |
| `verifier.vkey` | the journal's verifier key (C2SP vkey) |
| `bundle.json` | what was selected, the checkpoint, and the SHA-256 of every other file |

## Verify it offline with tradetrail

Obtain the verifier key from the journal's operator through a channel you trust
(`tradetrail key show` on their side) and compare it with `verifier.vkey`. Then, in
this directory, with no data directory and no network:

```sh
for p in proofs/*.json; do
  s=$(basename "$p" .json)
  tradetrail verify-proof --checkpoint checkpoint.txt --key verifier.vkey \
    --record "records/$s.jsonl" --proof "$p" || echo "RECORD $s FAILED"
done
```

Each record prints `ok: record SEQ is in {origin} as of the signed checkpoint of size {size}`.
`verify-proof` checks the checkpoint's signature with the key, that the proof is for the
checkpoint's size and root, that the record's leaf hash is the proof's, and the proof itself.

To check that `records.jsonl` holds exactly these records:
`cat $(ls records/*.jsonl | sort -t/ -k2 -n) | cmp - records.jsonl`.

## Verify it with any RFC 9162 verifier

- **Checkpoint** (`checkpoint.txt`): line 1 the origin, line 2 the tree size, line 3 the
  root hash in standard base64; after a blank line, a signature line
  `— <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature)>` over the three lines
  and their newlines (C2SP `signed-note`). The key id is the first 4 bytes of
  SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key); `verifier.vkey` is
  `<name>+<key id, 8 hex>+<base64(0x01 ‖ public key)>`.
- **Leaf**: the leaf hash of a record is SHA-256(0x00 ‖ the line's bytes without its
  trailing newline) (RFC 6962 §2.1).
- **Proof** (`proofs/SEQ.json`): `seq` is the leaf index, `size` the tree size, `leaf_hash`
  and `root` are lowercase hex, `proof` lists the sibling hashes (lowercase hex) from the
  leaf up. Verify with the algorithm of RFC 9162 §2.1.3.2 (interior nodes are
  SHA-256(0x01 ‖ left ‖ right)); the computed root must equal the checkpoint's root.

A record that was changed, removed or added after the checkpoint was signed fails these
checks. The records before and after a selected record are not in the bundle: a proof
shows that each exported record is in the journal, unchanged, at its `seq`.
"#,
        n = records.len(),
        last = records.last().map_or(0, |r| r.seq),
    )
}

/// Whether an output path is usable before anything is read (for early errors).
pub fn check_out(out: &Path) -> Result<()> {
    if !is_empty_or_missing(out)? {
        return Err(Error::bad(
            "--out",
            format!(
                "{} exists and is not empty; export into a new directory",
                out.display()
            ),
        ));
    }
    Ok(())
}
