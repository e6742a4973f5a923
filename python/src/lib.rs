//! `tradetrail._tradetrail`: the native half of the Python package.
//!
//! It opens a data directory through the one door, [`tradetrail_store::Store::open`],
//! and records JSON events through the recorder it hands out, exactly as
//! `tradetrail append` does: [`Recorder::prepare_lines`] validates (the same errors,
//! word for word), the journal's `submit_batch` sequences all or nothing. Plain dicts
//! are written as JSON here, straight from the Python objects; the pure-Python
//! `tradetrail` package around it turns the rest (Pydantic models, `Decimal`, ...)
//! into JSON.
//!
//! Every call into the journal runs with the GIL released, and no error crosses into
//! Python as a panic: each becomes `tradetrail.TradetrailError` or one of its
//! subclasses.

mod investigate;
mod proofs;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{Durability, Entry, Ticket};
use tradetrail_store::Store;

/// The exception classes, made once per interpreter.
struct Classes {
    /// `tradetrail.TradetrailError(Exception)`: damaged journal, locked, I/O, closed.
    base: Py<PyAny>,
    /// `tradetrail.ValidationError(TradetrailError, ValueError)`: a bad event.
    validation: Py<PyAny>,
    /// `tradetrail.ConflictError(TradetrailError, ValueError)`: an `event_id` reused
    /// with another body.
    conflict: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn new_class(
    py: Python<'_>,
    name: &str,
    bases: Bound<'_, PyTuple>,
    doc: &str,
) -> PyResult<Py<PyAny>> {
    let ns = PyDict::new(py);
    ns.set_item("__module__", "tradetrail")?;
    ns.set_item("__doc__", doc)?;
    let ty = py.import("builtins")?.getattr("type")?;
    Ok(ty.call1((name, bases, ns))?.unbind())
}

fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES.get_or_try_init(py, || {
        let base = new_class(
            py,
            "TradetrailError",
            PyTuple::new(py, [py.get_type::<PyException>()])?,
            "A tradetrail operation failed: a damaged or contradicted journal, a locked \
             or missing data directory, an I/O error, or a closed recorder. The message \
             is the Rust library's, as the CLI prints it.",
        )?;
        let value_error = py.get_type::<PyValueError>().into_any();
        let validation = new_class(
            py,
            "ValidationError",
            PyTuple::new(py, [base.bind(py).clone(), value_error.clone()])?,
            "One or more events are not valid; nothing was written. `errors` lists \
             (index, field, reason) for every problem; the message has one \
             `field: reason` line per problem, as `tradetrail append` prints them.",
        )?;
        let conflict = new_class(
            py,
            "ConflictError",
            PyTuple::new(py, [base.bind(py).clone(), value_error])?,
            "An event reuses the event_id of a recorded event (or of an earlier event \
             of the same call) with a different body; nothing was written.",
        )?;
        Ok(Classes {
            base,
            validation,
            conflict,
        })
    })
}

/// An instance of `cls(message)` with `attrs` set on it, as a `PyErr`.
fn raise(py: Python<'_>, cls: &Py<PyAny>, message: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let exc = cls.bind(py).call1((message,))?;
        for (name, value) in attrs {
            exc.setattr(*name, value.bind(py))?;
        }
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// The error and its causes on one line, `a: b: c`, each cause once: the text the CLI
/// prints after `error: ` (a cause whose text the error before it already holds is
/// left out).
fn message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut prev: Option<String> = None;
    let mut cause = Some(err);
    while let Some(c) = cause {
        let text = c.to_string();
        let repeated = prev.as_deref().is_some_and(|p| p.contains(&text));
        if !repeated {
            if prev.is_some() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        prev = Some(text);
        cause = c.source();
    }
    out
}

/// What went wrong in a call made without the GIL; turned into an exception after it.
enum Failure {
    /// Validation problems: (position in the call, field, reason).
    Invalid(Vec<(usize, String, String)>),
    /// A reused `event_id`.
    Conflict(String),
    /// Anything else, with its message.
    Other(String),
}

impl Failure {
    fn from_core(e: tradetrail_core::Error) -> Failure {
        match e {
            tradetrail_core::Error::Journal(j) => Failure::from_journal(j),
            e => Failure::Other(message(&e)),
        }
    }

    fn from_journal(e: tradetrail_journal::Error) -> Failure {
        use tradetrail_journal::Error as J;
        match e {
            e @ (J::Conflict { .. } | J::ConflictInBatch { .. }) => Failure::Conflict(message(&e)),
            e => Failure::Other(message(&e)),
        }
    }

    /// `single`: the call took one event, so its problems are not prefixed by its
    /// position (the message is then exactly the CLI's `field: reason` lines).
    fn into_pyerr(self, py: Python<'_>, single: bool) -> PyErr {
        let cls = match classes(py) {
            Ok(c) => c,
            Err(e) => return e,
        };
        match self {
            Failure::Invalid(problems) => {
                let message = problems
                    .iter()
                    .map(|(i, field, reason)| {
                        if single {
                            format!("{field}: {reason}")
                        } else {
                            format!("events[{i}]: {field}: {reason}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let list = PyList::empty(py);
                for (i, field, reason) in &problems {
                    let item = (*i, field.as_str(), reason.as_str());
                    if let Err(e) = list.append(item) {
                        return e;
                    }
                }
                raise(
                    py,
                    &cls.validation,
                    message,
                    &[("errors", list.into_any().unbind())],
                )
            }
            Failure::Conflict(message) => raise(py, &cls.conflict, message, &[]),
            Failure::Other(message) => raise(py, &cls.base, message, &[]),
        }
    }
}

/// The receipt of one recorded event.
#[pyclass(module = "tradetrail", name = "Receipt", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
struct Receipt {
    seq: u64,
    /// Kept as the digest; its hex is written when asked for.
    hash: tradetrail_journal::RecordHash,
    duplicate: bool,
    ts_recorded: i64,
}

#[pymethods]
impl Receipt {
    /// The record's position in the journal (for a duplicate, the original's).
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// SHA-256 of the record's line, 64 lowercase hex digits.
    #[getter]
    fn hash(&self) -> String {
        self.hash.to_hex()
    }

    /// True when the `event_id` was already recorded with this body: nothing new
    /// was written, and `seq`, `hash` and `ts_recorded` are the original record's.
    #[getter]
    fn duplicate(&self) -> bool {
        self.duplicate
    }

    /// When the journal accepted the record, ns since the Unix epoch (UTC).
    #[getter]
    fn ts_recorded(&self) -> i64 {
        self.ts_recorded
    }

    fn __repr__(&self) -> String {
        format!(
            "Receipt(seq={}, hash='{}', duplicate={}, ts_recorded={})",
            self.seq,
            self.hash.to_hex(),
            if self.duplicate { "True" } else { "False" },
            self.ts_recorded
        )
    }
}

/// The receipts of one `record_many` call, in order: each `Receipt` object is made
/// when it is asked for. `tradetrail.Receipts` wraps it as a sequence.
#[pyclass(
    module = "tradetrail._tradetrail",
    name = "ReceiptList",
    frozen,
    sequence
)]
struct ReceiptList(Vec<Receipt>);

#[pymethods]
impl ReceiptList {
    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// The receipt at `index` (negative counts from the end).
    fn __getitem__(&self, index: isize) -> PyResult<Receipt> {
        let at = if index < 0 {
            index.checked_add_unsigned(self.0.len())
        } else {
            Some(index)
        };
        at.and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.0.get(i))
            .cloned()
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("receipt index out of range"))
    }
}

/// The receipt `r` with its record's `ts_recorded`: `ts`, the ticket's, or for a
/// duplicate (whose ticket has none) the original record's, read back.
fn stamped(
    rec: &Recorder,
    r: tradetrail_journal::Receipt,
    ts: Option<i64>,
) -> Result<Receipt, Failure> {
    let ts_recorded = match ts {
        Some(ts) => ts,
        None => {
            let line = rec.read_line(r.seq).map_err(Failure::from_core)?;
            tradetrail_journal::parse_header(&line)
                .map_err(|reason| {
                    Failure::Other(format!("record {} cannot be read back: {reason}", r.seq))
                })?
                .ts_recorded
        }
    };
    Ok(Receipt {
        seq: r.seq,
        hash: r.hash,
        duplicate: r.duplicate,
        ts_recorded,
    })
}

/// `"os"`, `"fsync"` (the journal's names), or `None` for the configuration's.
fn parse_durability(d: Option<&str>) -> PyResult<Option<Durability>> {
    d.map(|s| s.parse::<Durability>().map_err(PyValueError::new_err))
        .transpose()
}

/// Validates every line (on every core when there are many), then records them as
/// one run: all or nothing.
fn record_lines(
    rec: &Recorder,
    lines: &[&[u8]],
    durability: Option<Durability>,
) -> Result<Vec<Receipt>, Failure> {
    let numbered: Vec<(usize, &[u8])> =
        lines.iter().enumerate().map(|(i, l)| (i + 1, *l)).collect();
    let entries = rec.prepare_lines(&numbered, durability).map_err(invalid)?;
    submit(rec, entries)
}

/// The failure of lines that did not validate, each problem with its 0-based position.
fn invalid(bad: Vec<tradetrail_core::BadLine>) -> Failure {
    Failure::Invalid(
        bad.iter()
            .flat_map(|b| {
                b.errors
                    .iter()
                    .map(move |fe| (b.line - 1, fe.field.clone(), fe.reason.clone()))
            })
            .collect(),
    )
}

/// Records validated entries as one run of seqs, all or nothing (an `event_id` reused
/// with another body refuses the whole call), and waits for them.
fn submit(rec: &Recorder, entries: Vec<Entry>) -> Result<Vec<Receipt>, Failure> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let tickets = rec
        .journal()
        .submit_batch(entries)
        .map_err(Failure::from_journal)?;
    let stamps: Vec<Option<i64>> = tickets.iter().map(Ticket::ts_recorded).collect();
    // One wait for the whole run: one write, one sync per durability asked for.
    rec.wait_all(tickets)
        .map_err(Failure::from_core)?
        .into_iter()
        .zip(stamps)
        .map(|(r, ts)| stamped(rec, r, ts))
        .collect()
}

/// Events walked from Python per piece handed to the validating thread.
const PIECE: usize = 1024;

/// Events from Python, validated as they are walked: the calling thread, holding the
/// GIL, turns them into JSON ([`event_json`]) a piece of [`PIECE`] at a time while
/// another thread validates the pieces already walked; once the walk is over, the
/// calling thread lets the GIL go, validates what is left beside it and records the
/// entries as one run ([`submit`]). The receipts in the events' order, or every bad
/// event's problems with nothing written (all or nothing, as
/// [`Recorder::prepare_lines`]); an exception raised while walking (an event
/// `to_json` cannot write) is raised as it is, with nothing validated kept.
fn walk_and_record(
    py: Python<'_>,
    rec: &Recorder,
    events: &Bound<'_, PyAny>,
    to_json: &Bound<'_, PyAny>,
    durability: Option<Durability>,
) -> PyResult<Result<Vec<Receipt>, Failure>> {
    let queue: Mutex<Vec<(usize, Vec<Vec<u8>>)>> = Mutex::new(Vec::new());
    let done: Mutex<Vec<PieceResult>> = Mutex::new(Vec::new());
    let walked = std::sync::atomic::AtomicBool::new(false);
    let ready = std::sync::Condvar::new();
    let work = |last: bool| {
        // Takes pieces until the queue is empty (and, for the helper, the walk over).
        loop {
            let piece = {
                let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if let Some(p) = q.pop() {
                        break Some(p);
                    }
                    if last || walked.load(std::sync::atomic::Ordering::Acquire) {
                        break None;
                    }
                    q = ready.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            let Some((first, lines)) = piece else { return };
            let numbered: Vec<(usize, &[u8])> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| (first + i + 1, l.as_slice()))
                .collect();
            let prepared = rec.prepare_lines_with(&numbered, durability, 1);
            done.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((first, prepared));
        }
    };
    let finish = || {
        walked.store(true, std::sync::atomic::Ordering::Release);
        let _q = queue.lock().unwrap_or_else(|p| p.into_inner());
        ready.notify_all();
    };
    // A few events (a list or tuple shorter than two pieces) are walked and then
    // validated on this thread alone: a thread would cost more than it saves.
    let few = events.len().is_ok_and(|n| n < 2 * PIECE);
    std::thread::scope(|s| {
        let helper = if few {
            None
        } else {
            std::thread::Builder::new()
                .spawn_scoped(s, || work(false))
                .ok()
        };
        let mut piece = Vec::with_capacity(PIECE);
        let mut first = 0;
        let mut n = 0;
        let walk = (|| -> PyResult<()> {
            for ev in events.try_iter()? {
                piece.push(event_json(&ev?, to_json)?);
                n += 1;
                if piece.len() == PIECE {
                    let full = std::mem::replace(&mut piece, Vec::with_capacity(PIECE));
                    queue
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((first, full));
                    ready.notify_one();
                    first = n;
                }
            }
            Ok(())
        })();
        if let Err(e) = walk {
            queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
            finish();
            return Err(e);
        }
        if !piece.is_empty() {
            queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((first, piece));
        }
        finish();
        // One release of the GIL for the rest, validating and recording: a call that
        // was walked first is submitted first, as when it all ran at once.
        Ok(py.detach(|| {
            work(true);
            if let Some(h) = helper {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
            let mut pieces = std::mem::take(&mut *done.lock().unwrap_or_else(|p| p.into_inner()));
            pieces.sort_unstable_by_key(|(first, _)| *first);
            let mut entries = Vec::with_capacity(n);
            let mut bad = Vec::new();
            for (_, prepared) in pieces {
                match prepared {
                    Ok(e) if bad.is_empty() => entries.extend(e),
                    Ok(_) => {}
                    Err(b) => bad.extend(b),
                }
            }
            if !bad.is_empty() {
                return Err(invalid(bad));
            }
            submit(rec, entries)
        }))
    })
}

/// A piece's first position and its entries, or its bad lines.
type PieceResult = (usize, Result<Vec<Entry>, Vec<tradetrail_core::BadLine>>);

/// The JSON bytes of one event given from Python: `bytes`/`str` as they are; a dict
/// of str, int, float, bool, None, list, tuple and dict written here, straight from
/// the Python objects ([`write_json`]); anything else (a Pydantic model, `Decimal`,
/// `datetime`, an int beyond 64 bits, ...) through `fallback`, the package's
/// `tradetrail.to_json`. The journal stores the validator's canonical body either
/// way, so both paths record the same bytes.
fn event_json(event: &Bound<'_, PyAny>, fallback: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = event.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = event.cast::<pyo3::types::PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    if event.is_instance_of::<PyDict>() {
        let mut out = Vec::with_capacity(512);
        if write_json(event, &mut out, 0) {
            return Ok(out);
        }
    }
    let b = fallback.call1((event,))?;
    Ok(b.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// Deepest nesting [`write_json`] follows (deeper goes to `to_json`).
const MAX_DEPTH: usize = 64;

/// Writes `value` as JSON, as serde_json writes the same data (strings escaped alike,
/// floats by the shortest text that reads back, a non-finite float as `null`); false,
/// with `out` then to be thrown away, when it holds anything but str (keys too), int
/// of at most 64 bits, float, bool, None, list, tuple and dict.
fn write_json(value: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> bool {
    use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
    if depth > MAX_DEPTH {
        return false;
    }
    if let Ok(s) = value.cast::<PyString>() {
        return s
            .to_str()
            .is_ok_and(|s| serde_json::to_writer(&mut *out, s).is_ok());
    }
    if let Ok(d) = value.cast::<PyDict>() {
        out.push(b'{');
        for (i, (k, v)) in d.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let Ok(k) = k.cast::<PyString>() else {
                return false;
            };
            let key_ok = k
                .to_str()
                .is_ok_and(|k| serde_json::to_writer(&mut *out, k).is_ok());
            if !key_ok {
                return false;
            }
            out.push(b':');
            if !write_json(&v, out, depth + 1) {
                return false;
            }
        }
        out.push(b'}');
        return true;
    }
    if value.is_none() {
        out.extend_from_slice(b"null");
        return true;
    }
    if let Ok(b) = value.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
        return true;
    }
    if value.is_instance_of::<PyInt>() {
        return match value.extract::<i64>() {
            Ok(i) => serde_json::to_writer(&mut *out, &i).is_ok(),
            Err(_) => value
                .extract::<u64>()
                .is_ok_and(|u| serde_json::to_writer(&mut *out, &u).is_ok()),
        };
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::to_writer(&mut *out, &f.value()).is_ok();
    }
    if let Ok(l) = value.cast::<PyList>() {
        return write_items(l.iter(), out, depth);
    }
    if let Ok(t) = value.cast::<PyTuple>() {
        return write_items(t.iter(), out, depth);
    }
    false
}

/// A list or tuple's items as a JSON array (see [`write_json`]).
fn write_items<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    out: &mut Vec<u8>,
    depth: usize,
) -> bool {
    out.push(b'[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !write_json(&v, out, depth + 1) {
            return false;
        }
    }
    out.push(b']');
    true
}

/// An open data directory, recording. Made by `NativeRecorder.open`; the Python
/// `tradetrail.Recorder` wraps it.
#[pyclass(module = "tradetrail._tradetrail", name = "NativeRecorder", frozen)]
struct NativeRecorder {
    /// `None` once closed.
    rec: Mutex<Option<Recorder>>,
    dir: DataDir,
    /// Bytes of an unfinished last line that opening cut (a write never acknowledged).
    truncated_bytes: u64,
    truncated_segment: Option<String>,
    /// The query investigator, opened on the first question.
    inv: Mutex<Option<Arc<tradetrail_query::Investigator>>>,
}

/// Raises a question's failure: a bad parameter as `ValueError`, the rest as
/// `TradetrailError`.
fn asked(py: Python<'_>, a: investigate::Asked) -> PyErr {
    match a {
        investigate::Asked::Bad(m) => PyValueError::new_err(m),
        investigate::Asked::Failed(m) => Failure::Other(m).into_pyerr(py, true),
    }
}

impl NativeRecorder {
    /// Runs `ask` on this recorder's investigator without the GIL.
    fn ask<T: Send>(
        &self,
        py: Python<'_>,
        ask: impl FnOnce(&tradetrail_query::Investigator) -> Result<T, investigate::Asked> + Send,
    ) -> PyResult<T> {
        let rec = self.recorder(py)?;
        py.detach(|| {
            let inv = investigate::open(&self.inv, &rec)?;
            ask(&inv)
        })
        .map_err(|a| asked(py, a))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Recorder>> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A handle on the open recorder (clones share one journal), or the error of a
    /// closed one.
    /// The zone `from`/`to` without an offset are read in: the data directory's
    /// `[time] zone` (UTC when it cannot be read; opening checked it).
    fn zone(&self, py: Python<'_>) -> PyResult<tradetrail_model::Zone> {
        Ok(self
            .recorder(py)?
            .config()
            .time
            .settings()
            .map(|s| s.zone)
            .unwrap_or_default())
    }

    fn recorder(&self, py: Python<'_>) -> PyResult<Recorder> {
        match self.lock().as_ref() {
            Some(r) => Ok(r.clone()),
            None => Err(Failure::Other(format!(
                "the recorder of {} is closed",
                self.dir.root().display()
            ))
            .into_pyerr(py, true)),
        }
    }
}

#[pymethods]
impl NativeRecorder {
    /// Opens the data directory `path` through the one door (the configuration, the
    /// journal failing closed, the archive as cold tier, the checkpoint guard).
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<NativeRecorder> {
        let dir = DataDir::new(path);
        let opened = py.detach(|| Store::open(&dir).map_err(|e| message(&e)));
        let store = opened.map_err(|m| Failure::Other(m).into_pyerr(py, true))?;
        let report = store.recovery();
        let truncated_bytes = report.truncated_bytes;
        let truncated_segment = report
            .truncated_segment
            .as_deref()
            .map(|p| p.display().to_string());
        Ok(NativeRecorder {
            rec: Mutex::new(Some(store.into_recorder())),
            dir,
            truncated_bytes,
            truncated_segment,
            inv: Mutex::new(None),
        })
    }

    /// The data directory.
    #[getter]
    fn path(&self) -> String {
        self.dir.root().display().to_string()
    }

    /// True once closed.
    #[getter]
    fn closed(&self) -> bool {
        self.lock().is_none()
    }

    /// `(bytes, segment)` of an unfinished last line that opening cut, or `None`.
    fn recovered(&self) -> Option<(u64, Option<String>)> {
        (self.truncated_bytes > 0).then(|| (self.truncated_bytes, self.truncated_segment.clone()))
    }

    /// Records one event given as JSON bytes; returns its receipt.
    #[pyo3(signature = (line, durability=None))]
    fn record_json(
        &self,
        py: Python<'_>,
        line: &[u8],
        durability: Option<&str>,
    ) -> PyResult<Receipt> {
        let d = parse_durability(durability)?;
        let rec = self.recorder(py)?;
        let out = py.detach(|| record_lines(&rec, &[line], d));
        match out {
            Ok(mut v) => v.pop().ok_or_else(|| {
                Failure::Other("the journal gave no receipt".into()).into_pyerr(py, true)
            }),
            Err(f) => Err(f.into_pyerr(py, true)),
        }
    }

    /// Records several events given as JSON bytes, all or nothing: every one is
    /// validated first, and they are sequenced as one run.
    #[pyo3(signature = (lines, durability=None))]
    fn record_many_json(
        &self,
        py: Python<'_>,
        lines: Vec<Vec<u8>>,
        durability: Option<&str>,
    ) -> PyResult<ReceiptList> {
        let d = parse_durability(durability)?;
        let rec = self.recorder(py)?;
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        py.detach(|| record_lines(&rec, &refs, d))
            .map(ReceiptList)
            .map_err(|f| f.into_pyerr(py, false))
    }

    /// Records several events given as Python objects (see `event_json`), all or
    /// nothing; `to_json` serializes what is not a plain dict. The events are
    /// validated while they are walked, then recorded ([`walk_and_record`]).
    #[pyo3(signature = (events, to_json, durability=None))]
    fn record_many(
        &self,
        py: Python<'_>,
        events: &Bound<'_, PyAny>,
        to_json: &Bound<'_, PyAny>,
        durability: Option<&str>,
    ) -> PyResult<ReceiptList> {
        let d = parse_durability(durability)?;
        let rec = self.recorder(py)?;
        walk_and_record(py, &rec, events, to_json, d)?
            .map(ReceiptList)
            .map_err(|f| f.into_pyerr(py, false))
    }

    /// Records one event given as a Python object (see `record_many`).
    #[pyo3(signature = (event, to_json, durability=None))]
    fn record(
        &self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        to_json: &Bound<'_, PyAny>,
        durability: Option<&str>,
    ) -> PyResult<Receipt> {
        let line = event_json(event, to_json)?;
        self.record_json(py, &line, durability)
    }

    /// Writes and syncs everything recorded so far.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let rec = self.recorder(py)?;
        py.detach(|| rec.journal().flush().map_err(Failure::from_journal))
            .map_err(|f| f.into_pyerr(py, true))
    }

    /// Verifies the data directory whole, changing nothing; the verdict as JSON (what
    /// `tradetrail verify --json` prints). Works after `close` too.
    fn verify_json(&self, py: Python<'_>) -> PyResult<String> {
        let dir = self.dir.clone();
        py.detach(|| {
            let verdict =
                tradetrail_store::verify(&dir, &|_| {}, &|_, _| {}).map_err(|e| message(&e))?;
            serde_json::to_string(&verdict).map_err(|e| message(&e))
        })
        .map_err(|m| Failure::Other(m).into_pyerr(py, true))
    }

    /// The records matching `filters` (`(name, value)` pairs named as the CLI's flags),
    /// one page: with `arrow`, an Arrow C stream (a PyCapsule named
    /// `arrow_array_stream`, for `pyarrow.RecordBatchReader._import_from_c_capsule`)
    /// of the archive's columns, handed over without a copy; else a list of the lines,
    /// byte for byte. Returns `(payload, summary JSON)`.
    #[pyo3(signature = (filters, limit=None, reverse=false, after=None, before=None, arrow=true))]
    #[allow(clippy::too_many_arguments)]
    fn query<'py>(
        &self,
        py: Python<'py>,
        filters: Vec<(String, String)>,
        limit: Option<usize>,
        reverse: bool,
        after: Option<u64>,
        before: Option<u64>,
        arrow: bool,
    ) -> PyResult<(Bound<'py, PyAny>, String)> {
        let zone = self.zone(py)?;
        let answer = self.ask(py, |inv| {
            let f = investigate::filter(&filters, &zone)?;
            let opts = investigate::options(limit, reverse, after, before)?;
            if arrow {
                investigate::query_arrow(inv, &f, &opts).map(|(b, s)| (Ok(b), s))
            } else {
                investigate::query_lines(inv, &f, &opts).map(|(l, s)| (Err(l), s))
            }
        })?;
        let (payload, summary) = answer;
        let payload = match payload {
            Ok(batches) => {
                let schema = match batches.first() {
                    Some(b) => b.schema(),
                    None => tradetrail_archive::schema::schema(),
                };
                let reader =
                    arrow_array::RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
                let stream = arrow_array::ffi_stream::FFI_ArrowArrayStream::new(Box::new(reader));
                let name = std::ffi::CString::from(c"arrow_array_stream");
                pyo3::types::PyCapsule::new(py, stream, Some(name))?.into_any()
            }
            Err(lines) => {
                let list = PyList::empty(py);
                for l in &lines {
                    list.append(PyBytes::new(py, l))?;
                }
                list.into_any()
            }
        };
        Ok((payload, summary))
    }

    /// The positions as of `at` as a JSON array (`positions --format jsonl`'s rows).
    #[pyo3(signature = (at=None, account=None, all=false))]
    fn positions_json(
        &self,
        py: Python<'_>,
        at: Option<String>,
        account: Option<String>,
        all: bool,
    ) -> PyResult<String> {
        let rec = self.recorder(py)?;
        py.detach(|| investigate::positions(&rec, at.as_deref(), account.as_deref(), all))
            .map_err(|a| asked(py, a))
    }

    /// The trail of `id` as JSON (`{"id", "records", "gaps", "notes"}`).
    fn trail_json(&self, py: Python<'_>, id: String) -> PyResult<String> {
        self.ask(py, |inv| investigate::trail(inv, &id))
    }

    /// Counts by `by` (type, source, actor, trader, ...) among the matching records,
    /// as JSON.
    fn stats_json(
        &self,
        py: Python<'_>,
        by: String,
        filters: Vec<(String, String)>,
    ) -> PyResult<String> {
        let zone = self.zone(py)?;
        self.ask(py, |inv| {
            let f = investigate::filter(&filters, &zone)?;
            investigate::stats(inv, &by, &f)
        })
    }

    /// Everything within `window` either side of `at`, grouped by source and type,
    /// as JSON; `at`, `from` and `to` without an offset are read in the `tz` pair's
    /// zone, else the data directory's.
    #[pyo3(signature = (at, window, filters, limit=None))]
    fn incident_json(
        &self,
        py: Python<'_>,
        at: String,
        window: String,
        filters: Vec<(String, String)>,
        limit: Option<usize>,
    ) -> PyResult<String> {
        let zone = self.zone(py)?;
        self.ask(py, |inv| {
            let f = investigate::filter(&filters, &zone)?;
            let opts = investigate::options(limit, false, None, None)?;
            let zone = investigate::zone_of(&filters, &zone)?;
            investigate::incident(inv, &at, &window, &zone, &f, &opts)
        })
    }

    /// Signs a checkpoint of every record so far (`tradetrail checkpoint`): returns
    /// `(note, size, root, path, seq)`, the note exactly as saved.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<(String, u64, String, String, u64)> {
        self.take_checkpoint(py)
    }

    /// The verifier key to publish (`tradetrail key show`).
    fn verifier_key(&self, py: Python<'_>) -> PyResult<String> {
        self.key(py)
    }

    /// `prove inclusion --seq SEQ [--size N | --checkpoint FILE] --json`.
    #[pyo3(signature = (seq, size=None, checkpoint=None))]
    fn prove_inclusion_json(
        &self,
        py: Python<'_>,
        seq: u64,
        size: Option<u64>,
        checkpoint: Option<PathBuf>,
    ) -> PyResult<String> {
        self.prove_inclusion(py, seq, size, checkpoint)
    }

    /// `prove consistency [--old N | --old-checkpoint FILE] [--new N |
    /// --new-checkpoint FILE] --json`.
    #[pyo3(signature = (old=None, old_checkpoint=None, new=None, new_checkpoint=None))]
    fn prove_consistency_json(
        &self,
        py: Python<'_>,
        old: Option<u64>,
        old_checkpoint: Option<PathBuf>,
        new: Option<u64>,
        new_checkpoint: Option<PathBuf>,
    ) -> PyResult<String> {
        self.prove_consistency(py, old, old_checkpoint, new, new_checkpoint)
    }

    /// The line of record `seq` as stored, without the newline.
    fn read_line<'py>(&self, py: Python<'py>, seq: u64) -> PyResult<Bound<'py, PyBytes>> {
        self.line(py, seq)
    }

    /// The data directory's `[log]` minimum levels: `(level, {category: level})`.
    fn log_levels(
        &self,
        py: Python<'_>,
    ) -> PyResult<(Option<String>, std::collections::BTreeMap<String, String>)> {
        let rec = self.recorder(py)?;
        let log = &rec.config().log;
        Ok((log.level.clone(), log.categories.clone()))
    }

    /// Flushes, takes a checkpoint if the configured policy says one is due, and
    /// closes. Returns a warning when a due checkpoint could not be taken. Closing a
    /// closed recorder does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let Some(rec) = self.lock().take() else {
            return Ok(None);
        };
        // The investigator reads through a handle on the same journal: it goes too,
        // so that closing releases the data directory.
        let inv = self.inv.lock().unwrap_or_else(|p| p.into_inner()).take();
        py.detach(move || {
            rec.journal().flush().map_err(Failure::from_journal)?;
            let warning = match tradetrail_core::checkpoints::checkpoint_if_due(&rec) {
                Ok(_) => None,
                Err(e) => Some(format!(
                    "a checkpoint was due but not taken: {}",
                    message(&e)
                )),
            };
            drop(inv);
            drop(rec);
            Ok(warning)
        })
        .map_err(|f: Failure| f.into_pyerr(py, true))
    }
}

/// Creates a data directory at `path`: its configuration and a journal whose record
/// 0 is `journal.created` (what `tradetrail init` does).
#[pyfunction]
#[pyo3(signature = (path, origin=None))]
fn init(py: Python<'_>, path: PathBuf, origin: Option<String>) -> PyResult<()> {
    let dir = DataDir::new(path);
    py.detach(|| {
        Recorder::init(
            &dir,
            InitOptions {
                origin,
                segment_max_bytes: None,
                created_at: None,
            },
        )
        .map(drop)
        .map_err(|e| message(&e))
    })
    .map_err(|m| Failure::Other(m).into_pyerr(py, true))
}

#[pymodule]
fn _tradetrail(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let cls = classes(m.py())?;
    m.add("TradetrailError", cls.base.bind(m.py()))?;
    m.add("ValidationError", cls.validation.bind(m.py()))?;
    m.add("ConflictError", cls.conflict.bind(m.py()))?;
    m.add_class::<Receipt>()?;
    m.add_class::<ReceiptList>()?;
    m.add_class::<NativeRecorder>()?;
    m.add_function(wrap_pyfunction!(init, m)?)?;
    m.add_function(wrap_pyfunction!(proofs::verify_proof, m)?)?;
    Ok(())
}
