//! The pipeline both archives share: a tar produced on one thread (files
//! read, headers encoded) and gzipped on another, through a bounded channel
//! so that reading overlaps compressing and memory stays flat.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::gzip::{Gzip, Sink};

/// Set from JavaScript (an AbortSignal) to stop a running task.
pub type Cancel = Option<Arc<AtomicBool>>;

/// `Err(E_ABORTED)` once `cancel` is set.
pub fn check_cancel(cancel: &Cancel) -> Result<()> {
    match cancel {
        Some(c) if c.load(Ordering::Relaxed) => Err(Error::Aborted),
        _ => Ok(()),
    }
}

/// Tar chunks in flight between the two threads (each about
/// [`crate::tarball::CHUNK`] bytes).
const IN_FLIGHT: usize = 16;

/// Runs `produce` on a second thread, handing it a `send` for tar chunks,
/// and gzips what it sends into `sink` on this thread. Returns what
/// `produce` returns; the first error of either side wins, and a set
/// `cancel` stops both.
pub fn gzip_stream<T: Send>(
    produce: impl FnOnce(&mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<T> + Send,
    mut gzip: Box<dyn Gzip>,
    sink: &mut dyn Sink,
    cancel: &Cancel,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut send = |chunk: Vec<u8>| -> Result<()> {
                check_cancel(cancel)?;
                tx.send(chunk).map_err(|_| Error::Aborted)
            };
            produce(&mut send)
        });
        let mut consumed: Result<()> = Ok(());
        for chunk in rx.iter() {
            if let Err(e) = gzip.push(&chunk, sink) {
                consumed = Err(e);
                break;
            }
        }
        drop(rx);
        let produced = producer.join().expect("tar thread panicked");
        consumed?;
        let value = produced?;
        gzip.finish(sink)?;
        Ok(value)
    })
}
