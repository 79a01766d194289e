//! How often and how long to try again: registries and their storage
//! answer 429 and 5xx under load, and connections drop. A bounded number
//! of retries with a growing wait (or the registry's `Retry-After`, capped)
//! keeps a push alive through that without hanging on a dead registry.

use std::time::Duration;

use crate::error::Result;
use crate::pipeline::{check_cancel, Cancel};

/// Retries after the first try for 429, 5xx and lost connections.
pub const MAX_RETRIES: u32 = 3;

/// Whether an answer with `status` is worth another try.
pub(super) fn retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// Waits before try `attempt + 1`: 250 ms doubled each time, or the
/// registry's `Retry-After` seconds (at most 10); returns early on cancel.
pub(super) fn sleep_backoff(
    attempt: u32,
    retry_after: Option<&str>,
    cancel: &Cancel,
) -> Result<()> {
    let base = Duration::from_millis(250 << attempt);
    let wait = retry_after
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(10)))
        .unwrap_or(base);
    let end = std::time::Instant::now() + wait;
    while std::time::Instant::now() < end {
        check_cancel(cancel)?;
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(())
}
