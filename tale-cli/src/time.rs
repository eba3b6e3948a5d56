//! Times as people read and write them: `15m`, `2h 05m`, `2026-12-02 09:14:03Z`.

use std::time::{SystemTime, UNIX_EPOCH};

use tale::journal::Millis;

/// Now, in milliseconds since the Unix epoch: the system clock, or `TALE_NOW` (the same
/// unit) so that tests and documentation show stable ages.
pub(crate) fn now() -> Millis {
    if let Some(now) = std::env::var("TALE_NOW").ok().and_then(|n| n.parse().ok()) {
        return now;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Parses a span of time: a number and a unit (`ms`, `s`, `m`, `h`, `d`), or several
/// (`1h30m`), into milliseconds.
pub(crate) fn parse_span(text: &str) -> Result<Millis, String> {
    let bad = || format!("`{text}` is not a span of time (write it as 90s, 15m, 2h or 1d12h)");
    let mut total: Millis = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: Millis = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match rest[..unit_len].trim() {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        total = number
            .checked_mul(unit)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// A span for a person, to two units at most: `850ms`, `4.2s`, `3m 07s`, `2h 05m`,
/// `3d 04h`.
pub(crate) fn span(ms: Millis) -> String {
    let ms = ms.max(0);
    let (s, m, h, d) = (ms / 1_000, ms / 60_000, ms / 3_600_000, ms / 86_400_000);
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 10_000 {
        format!("{}.{}s", s, (ms % 1_000) / 100)
    } else if ms < 60_000 {
        format!("{s}s")
    } else if ms < 3_600_000 {
        format!("{m}m {:02}s", s % 60)
    } else if ms < 86_400_000 {
        format!("{h}h {:02}m", m % 60)
    } else {
        format!("{d}d {:02}h", h % 24)
    }
}

/// A moment in UTC: `2026-12-02 09:14:03Z`.
pub(crate) fn moment(ms: Millis) -> String {
    let secs = ms.div_euclid(1_000);
    let (days, in_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil(days);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}Z",
        in_day / 3_600,
        (in_day / 60) % 60,
        in_day % 60
    )
}

/// The calendar date of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse() {
        assert_eq!(parse_span("15m"), Ok(900_000));
        assert_eq!(parse_span("1h30m"), Ok(5_400_000));
        assert_eq!(parse_span("90s"), Ok(90_000));
        assert_eq!(parse_span("250ms"), Ok(250));
        assert_eq!(parse_span("2d"), Ok(172_800_000));
        for bad in ["", "m", "15", "15x", "-3m", "1h 3q"] {
            assert!(parse_span(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spans_print() {
        assert_eq!(span(850), "850ms");
        assert_eq!(span(4_250), "4.2s");
        assert_eq!(span(42_000), "42s");
        assert_eq!(span(187_000), "3m 07s");
        assert_eq!(span(7_500_000), "2h 05m");
        assert_eq!(span(273_600_000), "3d 04h");
    }

    #[test]
    fn moments_print_in_utc() {
        assert_eq!(moment(0), "1970-01-01 00:00:00Z");
        assert_eq!(moment(1_796_203_243_000), "2026-12-02 09:20:43Z");
        assert_eq!(moment(951_782_400_000), "2000-02-29 00:00:00Z");
    }
}
