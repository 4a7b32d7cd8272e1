//! RFC 3339 date-times, as in a report's `date-range` (RFC 8460 §4.4).

use std::fmt;

use message::calendar::{civil_from_days, days_from_civil, days_in_month};

/// A date and time with a UTC offset, as RFC 3339 §5.6 writes it: `2016-04-01T00:00:00Z`,
/// `2016-04-01T23:59:59.999+02:00`.
///
/// Parsing is tolerant where reporters are known to deviate: a lowercase `t`/`z` or a space
/// instead of `T` (RFC 3339 §5.6 allows both), and a missing offset (sent by Microsoft), which is
/// taken as UTC. Writing always produces RFC 3339, with `Z` for UTC.
///
/// ```
/// let t: tlsrpt::DateTime = "2016-04-01T23:59:59Z".parse()?;
/// assert_eq!(t.unix_timestamp(), 1459555199);
/// assert_eq!(t.to_string(), "2016-04-01T23:59:59Z");
/// # Ok::<(), tlsrpt::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanosecond: u32,
    /// Offset from UTC in minutes, east positive.
    offset_minutes: i16,
}

impl DateTime {
    /// Parses an RFC 3339 date-time (see the type documentation for what is tolerated).
    pub fn parse(s: &str) -> Result<DateTime, crate::Error> {
        parse(s).ok_or_else(|| crate::Error::InvalidDateTime { value: s.to_string() })
    }

    /// The date-time at `seconds` after 1970-01-01T00:00:00Z, in UTC.
    pub fn from_unix_timestamp(seconds: i64) -> Option<DateTime> {
        let days = seconds.div_euclid(86400);
        let secs = seconds.rem_euclid(86400);
        let (year, month, day) = civil_from_days(days);
        let year = u16::try_from(year).ok().filter(|y| *y <= 9999)?;
        Some(DateTime {
            year,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            nanosecond: 0,
            offset_minutes: 0,
        })
    }

    /// Seconds since 1970-01-01T00:00:00Z (a leap second counts as the next second).
    pub fn unix_timestamp(&self) -> i64 {
        let days =
            days_from_civil(i64::from(self.year), u32::from(self.month), u32::from(self.day));
        days * 86400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset_minutes) * 60
    }

    /// The offset from UTC in minutes (east positive); 0 for `Z`.
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }

    /// The fraction of the second, in nanoseconds.
    pub fn nanosecond(&self) -> u32 {
        self.nanosecond
    }
}

impl std::str::FromStr for DateTime {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse(s)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let digits = format!("{:09}", self.nanosecond);
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        if self.offset_minutes == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let m = self.offset_minutes.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

impl serde::Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DateTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format_args!("invalid RFC 3339 date-time {s:?}"))
        })
    }
}

fn parse(s: &str) -> Option<DateTime> {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(0..4)? as u16;
    let month = digits(5..7)? as u8;
    let day = digits(8..10)? as u8;
    let hour = digits(11..13)? as u8;
    let minute = digits(14..16)? as u8;
    let second = digits(17..19)? as u8;
    if !(1..=12).contains(&month)
        || day == 0
        || u32::from(day) > days_in_month(i64::from(year), u32::from(month))
    {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanosecond = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        // Digits beyond nanoseconds are dropped.
        let kept = &frac[..n.min(9)];
        nanosecond = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
        rest = &frac[n..];
    }
    let offset_minutes = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let ob = rest.as_bytes();
            if ob.len() != 6 || !matches!(ob[0], b'+' | b'-') || ob[3] != b':' {
                return None;
            }
            let two = |i: usize| -> Option<i16> {
                let (a, b) = (ob[i], ob[i + 1]);
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i16::from(a - b'0') * 10 + i16::from(b - b'0'))
            };
            let (h, m) = (two(1).filter(|h| *h <= 23)?, two(4).filter(|m| *m <= 59)?);
            let minutes = h * 60 + m;
            if ob[0] == b'-' { -minutes } else { minutes }
        }
    };
    Some(DateTime { year, month, day, hour, minute, second, nanosecond, offset_minutes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DateTime {
        DateTime::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_and_writes_rfc3339() {
        assert_eq!(p("1970-01-01T00:00:00Z").unix_timestamp(), 0);
        assert_eq!(p("2016-04-01T00:00:00Z").unix_timestamp(), 1459468800);
        assert_eq!(p("2016-04-01T02:00:00+02:00").unix_timestamp(), 1459468800);
        assert_eq!(p("2016-03-31T19:30:00-04:30").unix_timestamp(), 1459468800);
        assert_eq!(p("2000-02-29T12:00:00Z").to_string(), "2000-02-29T12:00:00Z");
        assert_eq!(p("2023-11-13t00:00:00.1234567z").to_string(), "2023-11-13T00:00:00.1234567Z");
        assert_eq!(p("2023-11-13 00:00:00+00:00").to_string(), "2023-11-13T00:00:00Z");
        assert_eq!(
            p("2023-11-13T01:02:03.000000000001-01:00").to_string(),
            "2023-11-13T01:02:03-01:00"
        );
        // Microsoft's reports without offset are taken as UTC.
        assert_eq!(p("2023-11-13T00:00:00").to_string(), "2023-11-13T00:00:00Z");
        // Leap second.
        assert_eq!(
            p("2016-12-31T23:59:60Z").unix_timestamp(),
            p("2017-01-01T00:00:00Z").unix_timestamp()
        );
    }

    #[test]
    fn rejects_invalid_dates() {
        for bad in [
            "",
            "2016-04-01",
            "2016-04-01T00:00Z",
            "2016-13-01T00:00:00Z",
            "2016-00-01T00:00:00Z",
            "2015-02-29T00:00:00Z",
            "2016-04-31T00:00:00Z",
            "2016-04-01T24:00:00Z",
            "2016-04-01T00:60:00Z",
            "2016-04-01T00:00:61Z",
            "2016-04-01T00:00:00.Z",
            "2016-04-01T00:00:00+2:00",
            "2016-04-01T00:00:00+24:00",
            "2016-04-01T00:00:00+01:60",
            "2016-04-01T00:00:00+0100",
            "2016-04-01T00:00:00 UTC",
            "+016-04-01T00:00:00Z",
            "2016-04-01T00:00:00Z ",
            "2016-4-01T00:00:00Z",
        ] {
            assert!(DateTime::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            DateTime::parse("2016-04-31T00:00:00Z").unwrap_err().to_string(),
            "invalid RFC 3339 date-time \"2016-04-31T00:00:00Z\""
        );
    }

    #[test]
    fn unix_timestamps_round_trip() {
        for t in [0, 1459468800, 1699833599, 951782400, 4102444800, 253402300799] {
            assert_eq!(DateTime::from_unix_timestamp(t).unwrap().unix_timestamp(), t, "{t}");
        }
        assert_eq!(
            DateTime::from_unix_timestamp(1699833599).unwrap().to_string(),
            "2023-11-12T23:59:59Z"
        );
        assert!(DateTime::from_unix_timestamp(253402300800).is_none(), "year 10000");
        assert!(DateTime::from_unix_timestamp(-62167219201).is_none(), "year -1");
        assert!(DateTime::from_unix_timestamp(-62167219200).is_some(), "year 0");
    }
}
