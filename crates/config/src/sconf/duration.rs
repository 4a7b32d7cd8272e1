//! Durations in Go's notation, as mox's config files hold them: `15s`, `4h0m0s`, `1h30m`,
//! `72h`, `1.5s`, `100ms`.
//!
//! Parsing accepts what Go's `time.ParseDuration` accepts for non-negative values: a sequence of
//! decimal numbers, each with an optional fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`,
//! `m`, `h`), or a bare `0`. Formatting writes what Go's `Duration.String` writes, so a file we
//! write reads the same in mox.

use std::time::Duration;

/// Why a duration did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// Not Go's duration syntax.
    Syntax,
    /// A `-` sign: std durations cannot be negative, and no mox setting takes one.
    Negative,
    /// More than Go's limit of `i64::MAX` nanoseconds (about 292 years), so mox could not read
    /// it either.
    Overflow,
}

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a duration in Go's notation.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let d = parse_unsigned(unsigned)?;
    if negative && !d.is_zero() {
        return Err(DurationError::Negative);
    }
    Ok(d)
}

fn parse_unsigned(text: &str) -> Result<Duration, DurationError> {
    let mut s = text;
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(DurationError::Syntax);
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..frac_len];
            s = &rest[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(DurationError::Syntax);
        }
        let unit_len = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, scale)| *scale)
            .ok_or(DurationError::Syntax)?;
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            // Leading zeros are fine; very long digit strings overflow.
            int_part.parse::<u128>().map_err(|_| DurationError::Overflow)?
        };
        let mut value = whole.checked_mul(scale).ok_or(DurationError::Overflow)?;
        // The fraction, truncated to whole nanoseconds as Go does.
        let mut unit_scale = scale;
        for digit in frac_part.bytes() {
            if unit_scale < 10 {
                break;
            }
            unit_scale /= 10;
            value += u128::from(digit - b'0') * unit_scale;
        }
        total = total.checked_add(value).ok_or(DurationError::Overflow)?;
        if total > i64::MAX as u128 {
            return Err(DurationError::Overflow);
        }
    }
    let nanos = u64::try_from(total).map_err(|_| DurationError::Overflow)?;
    Ok(Duration::from_nanos(nanos))
}

/// Formats a duration as Go's `Duration.String` does: `0s`, `1.5µs`, `100ms`, `15s`, `1m30s`,
/// `4h0m0s`.
pub(crate) fn format(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        // Below a second: one unit with a fraction.
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = nanos % 60_000_000_000;
    let seconds = fraction(seconds, 1_000_000_000);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// `value / scale` as a decimal without trailing zeros in the fraction.
fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_go_does() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_secs(15), "15s"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(4 * 3600), "4h0m0s"),
            (Duration::from_secs(72 * 3600), "72h0m0s"),
            (Duration::from_secs(3600 + 1800), "1h30m0s"),
            (Duration::from_secs(30 * 24 * 3600), "720h0m0s"),
        ];
        for (d, s) in cases {
            assert_eq!(format(d), s, "{d:?}");
            assert_eq!(parse(s), Ok(d), "{s}");
        }
    }

    #[test]
    fn parses_go_forms() {
        let cases = [
            ("15s", Duration::from_secs(15)),
            ("4h", Duration::from_secs(4 * 3600)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("+3m", Duration::from_secs(180)),
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("1h1h", Duration::from_secs(7200)),
            ("2us", Duration::from_micros(2)),
            ("2μs", Duration::from_micros(2)),
            ("1.0000000001s", Duration::from_secs(1)),
        ];
        for (s, d) in cases {
            assert_eq!(parse(s), Ok(d), "{s}");
        }
        for bad in ["", "1", "s", "1x", "1 s", "h1", "1.5", ".s", "1h-1m", "--1s"] {
            assert_eq!(parse(bad), Err(DurationError::Syntax), "{bad}");
        }
        assert_eq!(parse("-1s"), Err(DurationError::Negative));
        assert_eq!(parse("99999999999999999999999h"), Err(DurationError::Overflow));
    }
}
