//! Checkpoints and proofs from Python, through the library calls `tradetrail
//! checkpoint`, `prove ... --json`, `key show` and `verify-proof` make
//! ([`tradetrail_core::checkpoints`]): the same notes, the same JSON, the same checks.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tradetrail_core::checkpoints::{
    prove_consistency_for, prove_inclusion_for, take_checkpoint, verifier_key,
    verify_consistency_offline, verify_offline, OfflineError,
};
use tradetrail_core::{Recorder, Tree};

use crate::{message, Failure, NativeRecorder};

/// A core error as a Python exception: a bad argument (a seq or size out of range, a
/// checkpoint file that is not this journal's) as `ValueError`, the rest as
/// `TradetrailError`.
fn raised(py: Python<'_>, e: tradetrail_core::Error) -> PyErr {
    use tradetrail_core::Error as E;
    match e {
        e @ (E::OutOfRange { .. } | E::BadArgument { .. } | E::CheckpointFile { .. }) => {
            PyValueError::new_err(message(&e))
        }
        e => Failure::Other(message(&e)).into_pyerr(py, true),
    }
}

fn json<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<String> {
    serde_json::to_string(v)
        .map_err(|e| Failure::Other(format!("serializing the proof: {e}")).into_pyerr(py, true))
}

impl NativeRecorder {
    /// Runs `f` on the open recorder and its Merkle tree, without the GIL.
    fn with_tree<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Recorder, &Tree) -> tradetrail_core::Result<T> + Send,
    ) -> PyResult<T> {
        let rec = self.recorder(py)?;
        py.detach(|| {
            let (tree, _) = Tree::load(&rec)?;
            f(&rec, &tree)
        })
        .map_err(|e| raised(py, e))
    }
}

/// The methods behind `NativeRecorder`'s proof methods (lib.rs exposes them).
impl NativeRecorder {
    /// Signs a checkpoint of every record so far (`tradetrail checkpoint`): returns
    /// `(note, size, root, path, seq)`, the note exactly as saved.
    pub(crate) fn take_checkpoint(
        &self,
        py: Python<'_>,
    ) -> PyResult<(String, u64, String, String, u64)> {
        let rec = self.recorder(py)?;
        let t = py
            .detach(|| take_checkpoint(&rec))
            .map_err(|e| raised(py, e))?;
        Ok((
            t.note,
            t.size,
            t.root.to_string(),
            t.path.display().to_string(),
            t.receipt.seq,
        ))
    }

    /// The verifier key to publish (`tradetrail key show`).
    pub(crate) fn key(&self, py: Python<'_>) -> PyResult<String> {
        let dir = self.dir.clone();
        py.detach(|| verifier_key(&dir).map(|k| k.to_string()))
            .map_err(|e| raised(py, e))
    }

    /// `prove inclusion --seq SEQ [--size N | --checkpoint FILE] --json`: the proof's
    /// JSON, and the tree size's origin (`asked`, `checkpoint`, `newest: PATH`,
    /// `everything`).
    pub(crate) fn prove_inclusion(
        &self,
        py: Python<'_>,
        seq: u64,
        size: Option<u64>,
        checkpoint: Option<PathBuf>,
    ) -> PyResult<String> {
        let p = self.with_tree(py, |rec, tree| {
            prove_inclusion_for(rec, tree, seq, size, checkpoint.as_deref())
        })?;
        json(py, &p.proof)
    }

    /// `prove consistency [--old N | --old-checkpoint FILE] [--new N |
    /// --new-checkpoint FILE] --json`: the proof's JSON.
    pub(crate) fn prove_consistency(
        &self,
        py: Python<'_>,
        old: Option<u64>,
        old_checkpoint: Option<PathBuf>,
        new: Option<u64>,
        new_checkpoint: Option<PathBuf>,
    ) -> PyResult<String> {
        let p = self.with_tree(py, |rec, tree| {
            prove_consistency_for(
                rec,
                tree,
                old,
                old_checkpoint.as_deref(),
                new,
                new_checkpoint.as_deref(),
            )
        })?;
        json(py, &p.proof)
    }

    /// The line of record `seq` as stored (without the newline): the leaf an inclusion
    /// proof is for (what `prove inclusion --record-out` writes).
    pub(crate) fn line<'py>(
        &self,
        py: Python<'py>,
        seq: u64,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let rec = self.recorder(py)?;
        let line = py
            .detach(|| rec.read_line(seq))
            .map_err(|e| raised(py, e))?;
        Ok(pyo3::types::PyBytes::new(py, &line))
    }
}

/// `tradetrail verify-proof`, with nothing but public material: an inclusion proof of
/// `record` (with `record`) or a consistency proof from `old_checkpoint` (with it).
/// Returns `(ok, origin, seq, size, old, reason)`: `ok` false with the reason when the
/// inputs are well formed but do not prove it (the CLI's exit 1); malformed inputs or
/// sizes that do not match raise `ValueError` (exit 2).
#[pyfunction]
#[pyo3(signature = (checkpoint, key, proof, record=None, old_checkpoint=None))]
#[allow(clippy::type_complexity)]
pub fn verify_proof(
    py: Python<'_>,
    checkpoint: String,
    key: String,
    proof: Vec<u8>,
    record: Option<Vec<u8>>,
    old_checkpoint: Option<String>,
) -> PyResult<(
    bool,
    Option<String>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<String>,
)> {
    let out = py.detach(|| match (&old_checkpoint, &record) {
        (Some(old), _) => verify_consistency_offline(old, &checkpoint, &key, &proof)
            .map(|ok| (Some(ok.origin), None, Some(ok.new), Some(ok.old))),
        (None, Some(record)) => verify_offline(&checkpoint, &key, record, &proof)
            .map(|ok| (Some(ok.origin), Some(ok.seq), Some(ok.size), None)),
        (None, None) => Err(OfflineError::Malformed {
            what: "record",
            reason: "give record= (inclusion) or old_checkpoint= (consistency)".into(),
        }),
    });
    match out {
        Ok((origin, seq, size, old)) => Ok((true, origin, seq, size, old, None)),
        Err(OfflineError::Failed(reason)) => Ok((false, None, None, None, None, Some(reason))),
        Err(e) => Err(PyValueError::new_err(e.to_string())),
    }
}
