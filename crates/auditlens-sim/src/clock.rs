//! Simulated time.
//!
//! Every instant in the simulator is an `i64` count of microseconds since the Unix epoch, the
//! resolution of the audit log's `requestReceivedTimestamp` and `stageTimestamp`. Nothing here
//! reads a clock: the origin comes from [`crate::SimConfig::start_unix`].

use std::fmt;

use chrono::{Datelike, NaiveDate};

pub(crate) const MILLI: i64 = 1_000;
pub(crate) const SECOND: i64 = 1_000_000;
pub(crate) const MINUTE: i64 = 60 * SECOND;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// Days between 0001-01-01 (chrono's day 1 of the common era) and 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The UTC midnight at or before `t`.
pub(crate) fn midnight(t: i64) -> i64 {
    t - t.rem_euclid(DAY)
}

/// Day of the week of `t` in UTC, 0 for Monday through 6 for Sunday.
pub(crate) fn weekday(t: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    (t.div_euclid(DAY) + 3).rem_euclid(7) as u32
}

pub(crate) fn is_weekend(t: i64) -> bool {
    weekday(t) >= 5
}

/// Renders an instant as RFC 3339 with microseconds and a `Z` suffix, the way the API server
/// writes `requestReceivedTimestamp`: `2024-05-07T03:10:00.123456Z`.
#[derive(Clone, Copy)]
pub(crate) struct Micros(pub i64);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(SECOND);
        let micros = self.0.rem_euclid(SECOND);
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let date = i32::try_from(days + EPOCH_DAYS_FROM_CE)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt);
        let Some(date) = date.filter(|d| (0..=9999).contains(&d.year())) else {
            return write!(f, "{}", self.0);
        };
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        put_digits(&mut buf[0..4], date.year() as u64);
        put_digits(&mut buf[5..7], u64::from(date.month()));
        put_digits(&mut buf[8..10], u64::from(date.day()));
        put_digits(&mut buf[11..13], (of_day / 3600) as u64);
        put_digits(&mut buf[14..16], (of_day / 60 % 60) as u64);
        put_digits(&mut buf[17..19], (of_day % 60) as u64);
        put_digits(&mut buf[20..26], micros as u64);
        // Only ASCII digits and punctuation were written.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// RFC 3339 at whole seconds, as Kubernetes writes object timestamps: `2024-05-07T03:10:00Z`.
pub(crate) fn rfc3339_seconds(t: i64) -> String {
    let full = Micros(t).to_string();
    match full.get(..19) {
        Some(head) if full.len() == 27 => format!("{head}Z"),
        _ => full,
    }
}

/// Writes `value` as zero-padded decimal digits filling `out`.
fn put_digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// A whole number of seconds rendered like Go's `time.Duration.String`: `7m21s`, `45s`, `1h0m5s`.
/// client-go puts this form in the `timeout` parameter of watch requests.
#[derive(Clone, Copy)]
pub(crate) struct GoDuration(pub u32);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, self.0 / 60 % 60, self.0 % 60);
        if h > 0 {
            write!(f, "{h}h{m}m{s}s")
        } else if m > 0 {
            write!(f, "{m}m{s}s")
        } else {
            write!(f, "{s}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339_with_micros() {
        // 2024-05-07T03:10:00Z
        let t = 1_715_051_400 * SECOND + 123_456;
        assert_eq!(Micros(t).to_string(), "2024-05-07T03:10:00.123456Z");
        assert_eq!(Micros(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339_seconds(t), "2024-05-07T03:10:00Z");
    }

    #[test]
    fn weekdays_and_durations() {
        // 2024-05-06 was a Monday.
        assert_eq!(weekday(1_714_953_600 * SECOND), 0);
        assert!(is_weekend(1_715_472_000 * SECOND));
        assert_eq!(GoDuration(441).to_string(), "7m21s");
        assert_eq!(GoDuration(300).to_string(), "5m0s");
        assert_eq!(GoDuration(45).to_string(), "45s");
    }
}
