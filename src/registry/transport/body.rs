//! Request bodies that survive a retry: each try opens its own reader
//! (or, for bytes still being produced, refuses to send twice), counted
//! for progress and stopped on cancel.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::pipeline::Cancel;

/// A request body that can be sent again (after a retry or a new token).
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// Opens a fresh reader of `len` bytes for each attempt.
    Stream(
        &'a (dyn Fn() -> std::io::Result<Box<dyn Read + Send>> + Sync),
        u64,
    ),
    /// A reader of bytes still being produced, sent chunked; it can be
    /// taken once, so a retry or a new token fails instead of resending.
    Once(&'a Mutex<Option<Box<dyn Read + Send>>>),
}

/// Counts the bytes a body reader hands out, and stops on cancel.
pub(super) struct Counting {
    pub(super) inner: Box<dyn Read + Send>,
    pub(super) progress: Option<Arc<AtomicU64>>,
    pub(super) sent: Arc<AtomicU64>,
    pub(super) cancel: Cancel,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(std::io::Error::other("aborted"));
        }
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}
