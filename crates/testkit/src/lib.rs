//! Storage doubles for testing the tradetrail journal under faults.
//!
//! * [`MemStorage`] keeps, for every file, the bytes written and the bytes made
//!   durable by the last sync, and whether its directory entry was synced. A crash is
//!   simulated by [`MemStorage::crash_image`], which keeps only what was durable
//!   (optionally plus a prefix of what was written but never synced, as a page cache
//!   flushing part of its dirty pages would). Syncs can be made to fail from the N-th
//!   on ([`MemStorage::fail_syncs_after`]), and a capacity gives a real "disk full".
//! * [`FaultStorage`] wraps any storage and fails its k-th operation, to check that
//!   every failure point poisons the journal and a reopen is clean.
//! * [`fuzz`] is a small fuzzing harness for stable Rust: seeded, structure-aware
//!   mutations of valid samples, run for a fixed number of cases or a fixed time.
//! * [`forge::rewrite_record`] rewrites a journal record and recomputes every later
//!   `prev`, as an intruder would, for the tests that a signed checkpoint catches it.
//! * [`moto::Moto`] runs a local S3-compatible server (moto) for the object
//!   storage tests.

mod fault;
pub mod forge;
pub mod fuzz;
mod mem;
pub mod moto;

pub use fault::FaultStorage;
pub use mem::MemStorage;
