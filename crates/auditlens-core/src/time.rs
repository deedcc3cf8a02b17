//! Timestamps as microseconds since the Unix epoch, parsed from the RFC 3339 strings that audit
//! events carry. Time always comes from the events; the core never reads a clock.

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Parses an RFC 3339 timestamp such as `2026-03-01T10:00:00.123456Z`, and the forms that
/// exports and SIEMs rewrite it to: a space for the `T`, no zone (taken as UTC), as in
/// `2026-03-01 10:00:00.123`.
pub fn parse_rfc3339(text: &str) -> Option<Micros> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    let text = text.trim();
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

/// The earliest and the first too-late time an event may carry: 2000-01-01 and 2100-01-01.
/// Kubernetes is younger, and a later time is a broken clock or a forged event; either would
/// stretch every chart and window over centuries.
pub const PLAUSIBLE: (Micros, Micros) = (946_684_800_000_000, 4_102_444_800_000_000);

/// An event's time: RFC 3339 and the forms [`parse_rfc3339`] reads, or a number of seconds,
/// milliseconds, microseconds or nanoseconds since 1970 (told apart by size), as exports write
/// them; `None` unless it lies in [`PLAUSIBLE`].
pub fn parse_event_time(text: &str) -> Option<Micros> {
    let micros = parse_rfc3339(text).or_else(|| parse_epoch(text.trim()))?;
    (PLAUSIBLE.0..PLAUSIBLE.1)
        .contains(&micros)
        .then_some(micros)
}

/// Seconds (with a fraction) or whole milliseconds, microseconds or nanoseconds since 1970.
fn parse_epoch(text: &str) -> Option<Micros> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || whole.len() > 19 {
        return None;
    }
    let n: i64 = whole.parse().ok()?;
    match whole.len() {
        // Seconds, until 2286; the fraction to microseconds.
        ..=10 => {
            let micros: String = fraction
                .chars()
                .chain(std::iter::repeat('0'))
                .take(6)
                .collect();
            n.checked_mul(1_000_000)?.checked_add(micros.parse().ok()?)
        }
        _ if !fraction.is_empty() => None,
        11..=13 => n.checked_mul(1_000),
        14..=16 => Some(n),
        _ => Some(n / 1_000),
    }
}

fn to_datetime(micros: Micros) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}

/// Formats as RFC 3339 in UTC with microseconds, the form the API server writes.
pub fn format_rfc3339(micros: Micros) -> String {
    to_datetime(micros)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// Formats as `YYYY-MM-DD HH:MM` in UTC, for tables.
pub fn format_short(micros: Micros) -> String {
    to_datetime(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Hour of day (0-23, UTC).
pub fn hour_of_day(micros: Micros) -> u8 {
    to_datetime(micros).map_or(0, |t| t.hour() as u8)
}

/// Day of week, Monday = 0 (UTC).
pub fn day_of_week(micros: Micros) -> u8 {
    to_datetime(micros).map_or(0, |t| t.weekday().num_days_from_monday() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_server_forms() {
        let t = parse_rfc3339("2018-10-25T13:58:49.730588Z").unwrap();
        assert_eq!(t, 1_540_475_929_730_588);
        assert_eq!(
            parse_rfc3339("2018-10-25T13:58:49Z"),
            Some(1_540_475_929_000_000)
        );
        assert_eq!(format_rfc3339(t), "2018-10-25T13:58:49.730588Z");
        assert_eq!(format_short(t), "2018-10-25 13:58");
        assert_eq!(hour_of_day(t), 13);
        assert_eq!(day_of_week(t), 3); // a Thursday
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn parses_the_forms_exports_rewrite_timestamps_to() {
        let t = 1_707_828_306_073_000; // 2024-02-13T12:45:06.073Z
        for text in [
            "2024-02-13T12:45:06.073Z",
            "2024-02-13 12:45:06.073Z",
            "2024-02-13 12:45:06.073",
            "2024-02-13T12:45:06.073",
            "2024-02-13T13:45:06.073+01:00",
            " 2024-02-13 12:45:06.073000 ",
        ] {
            assert_eq!(parse_rfc3339(text), Some(t), "{text}");
        }
        assert_eq!(parse_rfc3339("2024-02-13 12:45:06"), Some(t - 73_000));
        for text in ["2024-02-13", "12:45:06", "2024-13-40 12:45:06", ""] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }
}
