//! The date format of mbox `From ` lines: C's `asctime`, `Thu Nov 24 18:22:48 1986`.

use message::calendar::{civil_from_days, days_from_civil};

use crate::types::Timestamp;

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Formats a time in UTC as `asctime` does: `Thu Nov 24 18:22:48 1986` (day padded with a
/// space).
pub(crate) fn format_asctime(t: Timestamp) -> String {
    let days = t.unix.div_euclid(86400);
    let secs = t.unix.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        y
    )
}

/// Parses the date of a `From ` line: `asctime` (`Thu Nov 24 18:22:48 1986`), optionally with
/// a zone name or numeric offset before the year (`Mon Jan  2 15:04:05 MST 2006`, `Mon Jan 02
/// 15:04:05 -0700 2006`) or after it. A time without numeric offset is taken as UTC.
pub(crate) fn parse_from_line_date(s: &str) -> Option<Timestamp> {
    let tokens: Vec<&str> = s.split_whitespace().collect();
    let month_pos = tokens.iter().position(|t| MONTHS.iter().any(|m| m.eq_ignore_ascii_case(t)))?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(tokens[month_pos]))? as u32 + 1;
    let day: u32 = tokens.get(month_pos + 1)?.parse().ok().filter(|d| (1..=31).contains(d))?;
    let mut hms = tokens.get(month_pos + 2)?.split(':');
    let h: i64 = hms.next()?.parse().ok().filter(|h| *h < 24)?;
    let mi: i64 = hms.next()?.parse().ok().filter(|m| *m < 60)?;
    let sec: i64 = hms.next().map_or(Some(0), |s| s.parse().ok()).filter(|s| *s <= 60)?;
    let mut year = None;
    let mut offset = 0i64;
    for t in &tokens[month_pos + 3..] {
        if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) && year.is_none() {
            year = t.parse::<i64>().ok();
        } else if t.len() == 5
            && (t.starts_with('+') || t.starts_with('-'))
            && t[1..].bytes().all(|b| b.is_ascii_digit())
        {
            let v: i64 = t[1..].parse().ok()?;
            let minutes = v / 100 * 60 + v % 100;
            offset = if t.starts_with('-') { -minutes } else { minutes };
        }
    }
    let year = year?;
    let unix = days_from_civil(year, month, day) * 86400 + h * 3600 + mi * 60 + sec - offset * 60;
    Some(Timestamp { unix, offset_minutes: offset as i16 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asctime_round_trip() {
        let t = Timestamp::from_unix(533_240_568); // 1986-11-24T18:22:48Z, a Monday
        assert_eq!(format_asctime(t), "Mon Nov 24 18:22:48 1986");
        assert_eq!(parse_from_line_date("Mon Nov 24 18:22:48 1986"), Some(t));
        assert_eq!(format_asctime(Timestamp::from_unix(0)), "Thu Jan  1 00:00:00 1970");
        assert_eq!(format_asctime(Timestamp::from_unix(951_782_400)), "Tue Feb 29 00:00:00 2000");
        for unix in [0, 1, 86_399, 951_782_400, 1_700_000_000, 4_102_444_800, -86_400] {
            let t = Timestamp::from_unix(unix);
            assert_eq!(parse_from_line_date(&format_asctime(t)), Some(t), "{unix}");
        }
    }

    #[test]
    fn from_line_variants() {
        let utc = parse_from_line_date("Mon Jan  2 15:04:05 2006").unwrap().unix;
        assert_eq!(parse_from_line_date("Mon Jan  2 15:04:05 MST 2006").unwrap().unix, utc);
        let off = parse_from_line_date("Mon Jan 02 15:04:05 -0700 2006").unwrap();
        assert_eq!((off.unix, off.offset_minutes), (utc + 7 * 3600, -420));
        assert_eq!(
            parse_from_line_date("Mon Jan  2 15:04:05 2006 +0100").unwrap().unix,
            utc - 3600
        );
        assert!(parse_from_line_date("yesterday").is_none());
        assert!(parse_from_line_date("Mon Foo 2 15:04:05 2006").is_none());
        assert!(parse_from_line_date("Mon Jan 32 15:04:05 2006").is_none());
    }
}
