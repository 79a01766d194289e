//! Timestamps as text.

use crate::error::{Error, Result};

/// Largest epoch RFC 3339 can express (9999-12-31T23:59:59Z).
pub const MAX_EPOCH: u64 = 253_402_300_799;

/// RFC 3339 (UTC, seconds) of a Unix epoch, e.g. `1970-01-01T00:00:00Z`.
pub fn rfc3339(epoch: u64) -> Result<String> {
    if epoch > MAX_EPOCH {
        return Err(Error::InvalidOption {
            message: format!(
                "sourceDateEpoch {epoch} is after year 9999; pass seconds since 1970 (e.g. `git log -1 --format=%ct`)"
            ),
        });
    }
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(499_162_500).unwrap(), "1985-10-26T08:15:00Z");
        assert_eq!(rfc3339(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(MAX_EPOCH).unwrap(), "9999-12-31T23:59:59Z");
        assert!(rfc3339(MAX_EPOCH + 1).is_err());
    }
}
