//! Work split over the cores in contiguous chunks, results in input order: the one
//! place where core runs something on more than one thread (validating an input's
//! lines, hashing the Merkle leaves of many records).
//!
//! Written with `std::thread::scope` rather than a thread pool crate: the work comes
//! in a few large batches (a thread costs 50–100 µs to start, a batch takes
//! milliseconds), and the calling thread takes the first chunk itself.

use std::sync::OnceLock;

/// The cores this process may use, asked once (`available_parallelism` reads the
/// cgroup limits with a few system calls).
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` over `items` cut into at most `threads` contiguous chunks of at least `min`
/// items each (all on the calling thread when that leaves one chunk), the results in
/// the order of the chunks. A thread that cannot be started leaves its chunk to the
/// calling thread; a panic in `f` (a bug) goes on on the calling thread.
pub(crate) fn map_chunks<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    min: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let threads = threads.min(items.len() / min.max(1)).max(1);
    if threads == 1 {
        return vec![f(items)];
    }
    let chunks: Vec<&[T]> = items.chunks(items.len().div_ceil(threads)).collect();
    let Some((first, rest)) = chunks.split_first() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|s| {
        let spawned: Vec<_> = rest
            .iter()
            .map(|&chunk| {
                let thread = std::thread::Builder::new().spawn_scoped(s, move || f(chunk));
                (chunk, thread.ok())
            })
            .collect();
        // The calling thread takes the first chunk while the others run.
        let mut results = Vec::with_capacity(chunks.len());
        results.push(f(first));
        for (chunk, thread) in spawned {
            results.push(match thread {
                Some(t) => t
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => f(chunk),
            });
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_come_back_in_order_and_cover_every_item() {
        let items: Vec<u32> = (0..10_000).collect();
        for threads in [1, 2, 3, 8] {
            let parts = map_chunks(&items, threads, 100, |c| c.to_vec());
            assert_eq!(parts.len(), threads.min(100));
            assert_eq!(parts.concat(), items, "threads {threads}");
        }
        // Too few items for a second thread: one chunk, on the caller.
        assert_eq!(map_chunks(&items[..150], 4, 100, <[u32]>::len), vec![150]);
        assert_eq!(map_chunks(&items[..0], 4, 100, <[u32]>::len), vec![0]);
    }
}
