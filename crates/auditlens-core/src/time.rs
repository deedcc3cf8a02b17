//! Timestamps as microseconds since the Unix epoch, parsed from the RFC 3339 strings that audit
//! events carry. Time always comes from the events; the core never reads a clock.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Parses an RFC 3339 timestamp such as `2026-03-01T10:00:00.123456Z`.
pub fn parse_rfc3339(text: &str) -> Option<Micros> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros())
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
}
