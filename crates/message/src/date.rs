//! The Date field (RFC 5322 §3.3, obsolete forms of §4.3).
//!
//! ```text
//! date-time   = [ day-of-week "," ] date time [CFWS]
//! date        = day month year
//! time        = time-of-day zone
//! time-of-day = hour ":" minute [ ":" second ]
//! zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
//! obs-zone    = "UT" / "GMT" / "EST" / "EDT" / "CST" / "CDT" / "MST" / "MDT" / "PST" / "PDT"
//!             / %d65-73 / %d75-90 / %d97-105 / %d107-122   ; military, taken as -0000
//! obs-year    = [CFWS] 2*DIGIT [CFWS]
//! ```

use std::fmt;

use crate::Error;
use crate::calendar::{civil_from_days, days_from_civil, days_in_month};

/// A point in time with the UTC offset it was written in, as in a Date header.
///
/// ```
/// use message::DateTime;
/// let d = DateTime::parse(b"Fri, 21 Nov 1997 09:55:06 -0600")?;
/// assert_eq!(d.timestamp, 880127706);
/// assert_eq!(d.offset_minutes, -360);
/// assert_eq!(d.to_string(), "Fri, 21 Nov 1997 09:55:06 -0600");
/// # Ok::<(), message::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub timestamp: i64,
    /// The offset from UTC the time was written in, in minutes east (`+0100` is 60). `-0000`,
    /// military and unknown zones are 0.
    pub offset_minutes: i32,
}

impl DateTime {
    /// Parses a `date-time` (a Date or Resent-Date value, folded or not).
    ///
    /// Lenient as mail readers are: the day of week is optional and not checked, its comma may
    /// be missing, month and day names may be written out, two- and three-digit years are
    /// read as RFC 5322 §4.3 says (00-49 is 2000-2049, 50-999 is 1900 plus the year), seconds
    /// are optional, a missing zone is UTC, `+01:00` is accepted, and comments are skipped.
    pub fn parse(value: &[u8]) -> Result<DateTime, Error> {
        let mut p = Tokens { s: value, pos: 0 };
        let err = |expected, position| Error::Syntax { what: "date", expected, position };
        let range = |field, position| Error::DateOutOfRange { field, position };

        p.skip_cfws();
        // Optional day of week.
        if p.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            p.alpha();
            p.skip_cfws();
            if p.peek() == Some(b',') {
                p.pos += 1;
            }
            p.skip_cfws();
        }
        let day_pos = p.pos;
        let day = p.number(2).ok_or_else(|| err("day", day_pos))?;
        p.skip_cfws();
        // Some mailers write "21-Nov-1997".
        p.skip(b'-');
        let month_pos = p.pos;
        let month_name = p.alpha();
        let month = month_number(month_name).ok_or_else(|| err("month name", month_pos))?;
        p.skip_cfws();
        p.skip(b'-');
        let year_pos = p.pos;
        let (year, digits) = p.number_with_len(4).ok_or_else(|| err("year", year_pos))?;
        let year = match (digits, year) {
            (1 | 2, y) if y < 50 => 2000 + y,
            (1..=3, y) => 1900 + y,
            (_, y) => y,
        };
        p.skip_cfws();
        let hour_pos = p.pos;
        let hour = p.number(2).ok_or_else(|| err("hour", hour_pos))?;
        // RFC 5322 §4.3 allows CFWS around the colons.
        p.skip_cfws();
        if !p.skip(b':') {
            return Err(err("\":\"", p.pos));
        }
        p.skip_cfws();
        let minute_pos = p.pos;
        let minute = p.number(2).ok_or_else(|| err("minute", minute_pos))?;
        p.skip_cfws();
        let second_pos = p.pos;
        let second = if p.skip(b':') {
            p.skip_cfws();
            let pos = p.pos;
            p.number(2).ok_or_else(|| err("second", pos))?
        } else {
            0
        };
        p.skip_cfws();
        let zone_pos = p.pos;
        let offset_minutes = match p.peek() {
            None => 0,
            Some(sign @ (b'+' | b'-')) => {
                p.pos += 1;
                let digits_pos = p.pos;
                let (mut hhmm, len) =
                    p.number_with_len(4).ok_or_else(|| err("zone digits", digits_pos))?;
                if len <= 2 && p.skip(b':') {
                    let minutes = p.number(2).ok_or_else(|| err("zone minutes", p.pos))?;
                    hhmm = hhmm * 100 + minutes;
                } else if len != 4 {
                    return Err(err("4 zone digits", digits_pos));
                }
                let (h, m) = (hhmm / 100, hhmm % 100);
                if m > 59 {
                    return Err(range("zone", zone_pos));
                }
                let minutes = (h * 60 + m) as i32;
                if sign == b'-' { -minutes } else { minutes }
            }
            Some(b) if b.is_ascii_alphabetic() => {
                let name = p.alpha();
                obs_zone(name).ok_or_else(|| err("zone", zone_pos))?
            }
            Some(_) => return Err(err("zone", zone_pos)),
        };
        p.skip_cfws();
        if p.pos < value.len() {
            return Err(err("end of date", p.pos));
        }

        if !(1..=12).contains(&month) {
            return Err(range("month", month_pos));
        }
        if day < 1 || day > days_in_month(i64::from(year), month) {
            return Err(range("day", day_pos));
        }
        if hour > 23 {
            return Err(range("hour", hour_pos));
        }
        if minute > 59 {
            return Err(range("minute", minute_pos));
        }
        // 60 is a leap second (RFC 5322 §3.3).
        if second > 60 {
            return Err(range("second", second_pos));
        }
        // A leap second is taken as the second before it, so the result formats back into the
        // same date (23:59:60 on 31 Dec 9999 would otherwise be in year 10000).
        let second = second.min(59);
        let days = days_from_civil(year as i64, month, day);
        let local = days * 86400 + (hour * 3600 + minute * 60 + second) as i64;
        Ok(DateTime { timestamp: local - i64::from(offset_minutes) * 60, offset_minutes })
    }

    /// A time at an offset (minutes east of UTC).
    pub fn new(timestamp: i64, offset_minutes: i32) -> DateTime {
        DateTime { timestamp, offset_minutes }
    }
}

/// Writes the RFC 5322 form, `Fri, 21 Nov 1997 09:55:06 -0600`, in the date's own offset.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.timestamp + i64::from(self.offset_minutes) * 60;
        let days = local.div_euclid(86400);
        let secs = local.rem_euclid(86400);
        let (year, month, day) = civil_from_days(days);
        let weekday = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let offset = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{weekday}, {day} {} {year:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            MONTHS[(month - 1) as usize],
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            offset / 60,
            offset % 60
        )
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn month_number(name: &[u8]) -> Option<u32> {
    if name.len() < 3 {
        return None;
    }
    MONTHS.iter().position(|m| name[..3].eq_ignore_ascii_case(m.as_bytes())).map(|i| i as u32 + 1)
}

/// RFC 5322 §4.3: the obsolete zone names; military letters are "-0000" (unknown).
fn obs_zone(name: &[u8]) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    let hours = match upper.as_slice() {
        b"UT" | b"GMT" | b"UTC" | b"Z" => 0,
        b"EDT" => -4,
        b"EST" | b"CDT" => -5,
        b"CST" | b"MDT" => -6,
        b"MST" | b"PDT" => -7,
        b"PST" => -8,
        [c] if c.is_ascii_uppercase() && *c != b'J' => 0,
        _ => return None,
    };
    Some(hours * 60)
}

struct Tokens<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn alpha(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn number(&mut self, max_len: usize) -> Option<u32> {
        self.number_with_len(max_len).map(|(n, _)| n)
    }

    /// Up to `max_len` digits (at least one).
    fn number_with_len(&mut self, max_len: usize) -> Option<(u32, usize)> {
        let start = self.pos;
        let mut n = 0u32;
        while self.pos - start < max_len
            && let Some(b) = self.peek().filter(u8::is_ascii_digit)
        {
            n = n * 10 + u32::from(b - b'0');
            self.pos += 1;
        }
        let len = self.pos - start;
        if len == 0 || self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((n, len))
    }

    fn skip_cfws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => {
                    let mut depth = 0usize;
                    while let Some(c) = self.peek() {
                        self.pos += 1;
                        match c {
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            b'\\' => self.pos = (self.pos + 1).min(self.s.len()),
                            _ => {}
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> DateTime {
        DateTime::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    /// RFC 5322 Appendix A dates, including A.6.2's obsolete forms and A.5's comments.
    #[test]
    fn rfc5322_appendix_a_dates() {
        assert_eq!(parse("Fri, 21 Nov 1997 09:55:06 -0600"), DateTime::new(880127706, -360));
        assert_eq!(parse("Tue, 1 Jul 2003 10:52:37 +0200"), DateTime::new(1057049557, 120));
        assert_eq!(
            parse(
                "Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)"
            ),
            DateTime::new(-27723480, -210)
        );
        assert_eq!(parse("21 Nov 97 09:55:06 GMT"), DateTime::new(880106106, 0));
        assert_eq!(parse("Fri, 21 Nov 1997 09:55:06 -0600").timestamp, 880127706);
        // A.6.3: CFWS within the time.
        assert_eq!(parse("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600").timestamp, 880127706);
    }

    #[test]
    fn obsolete_zones_and_years() {
        let utc = parse("Fri, 21 Nov 1997 15:55:06 +0000").timestamp;
        assert_eq!(parse("Fri, 21 Nov 1997 09:55:06 CST").timestamp, utc);
        assert_eq!(parse("Fri, 21 Nov 1997 10:55:06 EST").timestamp, utc);
        assert_eq!(parse("Fri, 21 Nov 1997 07:55:06 PST"), DateTime::new(utc, -480));
        assert_eq!(parse("Fri, 21 Nov 1997 15:55:06 UT").timestamp, utc);
        assert_eq!(parse("Fri, 21 Nov 1997 15:55:06 Z").timestamp, utc);
        assert_eq!(parse("Fri, 21 Nov 1997 15:55:06 A").timestamp, utc);
        assert_eq!(parse("21 Nov 097 15:55:06 +0000").timestamp, utc);
        assert_eq!(parse("21 Nov 2049 00:00 +0000"), parse("21 Nov 49 00:00 +0000"));
        assert_eq!(parse("21 Nov 1950 00:00 +0000"), parse("21 Nov 50 00:00 +0000"));
    }

    #[test]
    fn lenient_forms() {
        let want = parse("Fri, 21 Nov 1997 09:55:06 -0600");
        for s in [
            "21 Nov 1997 09:55:06 -0600",
            "Friday, 21 November 1997 09:55:06 -0600",
            "Fri 21 Nov 1997 09:55:06 -0600",
            "fri, 21 nov 1997 09:55:06 -06:00",
            "Fri, 21-Nov-1997 09:55:06 -0600",
            "  Fri, 21 Nov 1997 09:55:06 -0600 (CST)  ",
        ] {
            assert_eq!(parse(s), want, "{s}");
        }
        assert_eq!(parse("Fri, 21 Nov 1997 09:55 +0000").timestamp % 60, 0);
        assert_eq!(parse("Fri, 21 Nov 1997 09:55:06").offset_minutes, 0);
        // Leap second, taken as the second before.
        assert_eq!(
            parse("31 Dec 2016 23:59:60 +0000").timestamp,
            parse("31 Dec 2016 23:59:59 +0000").timestamp
        );
    }

    #[test]
    fn errors() {
        let cases: [(&str, usize); 10] = [
            ("", 0),
            ("Fri, 32 Nov 1997 09:55:06 -0600", 5),
            ("Fri, 29 Feb 1997 09:55:06 -0600", 5),
            ("Fri, 21 Foo 1997 09:55:06 -0600", 8),
            ("Fri, 21 Nov 1997 24:55:06 -0600", 17),
            ("Fri, 21 Nov 1997 09:60:06 -0600", 20),
            ("Fri, 21 Nov 1997 09:55:06 -06", 27),
            ("Fri, 21 Nov 1997 09:55:06 -0660", 26),
            ("Fri, 21 Nov 1997 09:55:06 XYZ", 26),
            ("Fri, 21 Nov 1997 09:55:06 +0000 junk", 32),
        ];
        for (s, position) in cases {
            let got = match DateTime::parse(s.as_bytes()) {
                Err(Error::Syntax { position, .. } | Error::DateOutOfRange { position, .. }) => {
                    position
                }
                other => panic!("{s:?}: {other:?}"),
            };
            assert_eq!(got, position, "{s:?}");
        }
        assert!(DateTime::parse(b"29 Feb 2000 00:00 +0000").is_ok());
        assert!(DateTime::parse(b"29 Feb 1900 00:00 +0000").is_err());
    }

    #[test]
    fn display_round_trips() {
        for (ts, offset) in [
            (0, 0),
            (880127706, -360),
            (1057049557, 120),
            (-27723000, -210),
            (4102444800, 345),
            (951782400, 0),
        ] {
            let d = DateTime::new(ts, offset);
            let shown = d.to_string();
            assert_eq!(parse(&shown), d, "{shown}");
        }
        assert_eq!(DateTime::new(0, 0).to_string(), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(DateTime::new(951782400, 0).to_string(), "Tue, 29 Feb 2000 00:00:00 +0000");
    }
}
