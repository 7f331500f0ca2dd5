//! Timestamps as the SPEC reads them: theLook's `YYYY-MM-DD HH:MM:SS[.ffffff] UTC`, or
//! RFC 3339 with an offset, always converted to UTC microseconds before any comparison.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Parses a timestamp into UTC microseconds since the epoch.
///
/// Accepts `2024-03-07 20:15:00 UTC`, `2024-03-07 20:15:00.123456 UTC`, the same without
/// ` UTC`, `2024-03-07T20:15:00Z`, an offset such as `+02:00`, and a bare date (midnight).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let naive = text.strip_suffix(" UTC").unwrap_or(text);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(parsed.and_utc().timestamp_micros());
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z", "%+"] {
        if let Ok(parsed) = DateTime::parse_from_str(text, format) {
            return Some(parsed.with_timezone(&Utc).timestamp_micros());
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?).timestamp_micros())
}

/// Formats UTC microseconds as theLook does: `2024-03-07 20:15:00[.123456] UTC`.
pub fn format_timestamp(micros: i64) -> String {
    let time = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
    if micros % 1_000_000 == 0 {
        time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        time.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string()
    }
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thelook_and_offset_forms_agree_on_the_instant() {
        let utc = parse_timestamp("2024-03-07 20:15:00 UTC").unwrap();

        assert_eq!(parse_timestamp("2024-03-07T22:15:00+02:00"), Some(utc));
        assert_eq!(parse_timestamp("2024-03-07 20:15:00"), Some(utc));
        assert_eq!(parse_timestamp("2024-03-07T20:15:00Z"), Some(utc));
        assert_eq!(parse_timestamp("2024-03-07 20:15:00.000001 UTC"), Some(utc + 1));
    }

    #[test]
    fn garbage_is_rejected_not_zero() {
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2024-13-01 00:00:00 UTC"), None);
    }

    #[test]
    fn format_round_trips() {
        for text in ["2024-03-07 20:15:00 UTC", "2025-01-25 19:35:01.123456 UTC"] {
            assert_eq!(format_timestamp(parse_timestamp(text).unwrap()), text);
        }
    }
}
