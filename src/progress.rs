//! Counters a long task advances as it reads files, and that JavaScript
//! samples (a timer on the main thread, about every 100 ms) to show live
//! progress. Advancing is a few relaxed atomic adds per file, so the worker
//! never waits for the reader; the reader sees each counter monotonic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Files and bytes to do and done. Totals are set once the file list is
/// known; done counts only grow.
#[derive(Debug, Default)]
pub struct Progress {
    files_total: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
}

/// A task's progress counters, shared with whoever samples them; `None`
/// when nobody asked.
pub type SharedProgress = Option<Arc<Progress>>;

impl Progress {
    /// Records what the task will do: `files` files of `bytes` bytes in all.
    pub fn set_totals(&self, files: u64, bytes: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    /// One more file of `bytes` bytes is done.
    pub fn file_done(&self, bytes: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        self.files_done.fetch_add(1, Ordering::Relaxed);
    }

    /// `[files_done, files_total, bytes_done, bytes_total]`.
    pub fn snapshot(&self) -> [u64; 4] {
        [
            self.files_done.load(Ordering::Relaxed),
            self.files_total.load(Ordering::Relaxed),
            self.bytes_done.load(Ordering::Relaxed),
            self.bytes_total.load(Ordering::Relaxed),
        ]
    }
}

/// Calls [`Progress::file_done`] when there is a counter.
pub fn file_done(progress: &SharedProgress, bytes: u64) {
    if let Some(p) = progress {
        p.file_done(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_and_bytes() {
        let p = Arc::new(Progress::default());
        p.set_totals(2, 30);
        file_done(&Some(p.clone()), 10);
        file_done(&None, 99);
        assert_eq!(p.snapshot(), [1, 2, 10, 30]);
        p.file_done(20);
        assert_eq!(p.snapshot(), [2, 2, 30, 30]);
    }
}
