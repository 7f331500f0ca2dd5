//! Text that goes into the page: HTML escaping and the one way each kind of number and
//! time is printed, so a value reads the same in a table, a chart label and a test.

use chrono::{DateTime, Utc};

/// Escapes `text` for HTML element content and double- or single-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A fraction as a percentage: `0.01234` reads `1.23%`; non-finite reads `n/a`.
pub(crate) fn percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "n/a".into();
    }
    let value = fraction * 100.0;
    if value != 0.0 && value.abs() < 0.1 {
        format!("{value:.3}%")
    } else {
        format!("{value:.2}%")
    }
}

/// A metric such as an AUC or a log loss, with three decimals; `None` reads `n/a`.
pub(crate) fn metric(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "n/a".into(),
    }
}

/// A probability with five decimals, e.g. `0.02134`.
pub(crate) fn probability(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.5}")
    } else {
        "n/a".into()
    }
}

/// A whole count with thousands separators: `1234567` reads `1,234,567`.
pub(crate) fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A feature value: integers without decimals, others with two; `None` reads `NULL`.
pub(crate) fn value(value: Option<f64>) -> String {
    match value {
        None => "NULL".into(),
        Some(v) if !v.is_finite() => "n/a".into(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// Milliseconds for a latency: `0.42 ms`, `12.3 ms`, `1,204 ms`.
pub(crate) fn millis(ms: f64) -> String {
    if !ms.is_finite() {
        "n/a".into()
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{} ms", count(ms.round() as u64))
    }
}

/// A step duration: `850 ms`, `4.2 s`, `3 min 05 s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1_000.0)
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1_000)
    }
}

/// A UTC instant as a day: `2024-12-21`.
pub(crate) fn day(micros: i64) -> String {
    utc(micros).format("%Y-%m-%d").to_string()
}

/// A UTC instant to the minute: `2024-12-21 14:05 UTC`.
pub(crate) fn minute(micros: i64) -> String {
    utc(micros).format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A UTC instant as a day when it is midnight (snapshot and label times), else to the
/// minute: `2024-12-21` or `2024-12-21 14:05 UTC`.
pub(crate) fn when(micros: i64) -> String {
    if micros.rem_euclid(fsdemo_core::time::MICROS_PER_DAY) == 0 {
        day(micros)
    } else {
        minute(micros)
    }
}

/// Escapes `text` and lets the browser break it after `/`, `.` and `_`, so long resource
/// and feature names wrap at their joints instead of mid-word.
pub(crate) fn breakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        out.push_str(&escape(c.encode_utf8(&mut [0; 4])));
        if matches!(c, '/' | '.' | '_') {
            out.push_str("<wbr>");
        }
    }
    out
}

/// A short axis label: `Dec 21`.
pub(crate) fn short_day(micros: i64) -> String {
    utc(micros).format("%b %-d").to_string()
}

fn utc(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(percent(0.01234), "1.23%");
        assert_eq!(percent(0.0005), "0.050%");
        assert_eq!(metric(Some(0.66049)), "0.660");
        assert_eq!(metric(None), "n/a");
        assert_eq!(value(Some(3.0)), "3");
        assert_eq!(value(Some(42.5)), "42.50");
        assert_eq!(value(None), "NULL");
        assert_eq!(duration(185_000), "3 min 05 s");
        assert_eq!(millis(0.4213), "0.42 ms");
    }

    #[test]
    fn breakable_escapes_and_marks_joints() {
        assert_eq!(breakable("a/b_<c>"), "a/<wbr>b_<wbr>&lt;c&gt;");
    }

    #[test]
    fn times_are_utc() {
        let micros = 1_734_790_000_000_000; // 2024-12-21 14:06:40 UTC
        assert_eq!(day(micros), "2024-12-21");
        assert_eq!(minute(micros), "2024-12-21 14:06 UTC");
        assert_eq!(short_day(micros), "Dec 21");
        assert_eq!(when(1_734_739_200_000_000), "2024-12-21");
        assert_eq!(when(micros), "2024-12-21 14:06 UTC");
    }
}
