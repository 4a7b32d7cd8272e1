//! Sequence sets (RFC 9051 §9 `sequence-set`): message sequence numbers or UIDs, with `*` for
//! the largest in use, and `$` for the saved result of the last SEARCH (RFC 5182).
//!
//! ```text
//! sequence-set    = (seq-number / seq-range) ["," sequence-set]
//! sequence-set    =/ seq-last-command
//! seq-last-command = "$"
//! seq-range       = seq-number ":" seq-number
//! seq-number      = nz-number / "*"
//! ```

use std::fmt;
use std::ops::RangeInclusive;

/// One number of a sequence set: a value or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNumber {
    /// A non-zero number.
    Value(u32),
    /// `*`: the largest number in use.
    Star,
}

impl SeqNumber {
    /// The number, with `*` standing for `star`.
    pub fn resolve(self, star: u32) -> u32 {
        match self {
            SeqNumber::Value(v) => v,
            SeqNumber::Star => star,
        }
    }
}

/// A sequence set as the client wrote it: ranges in the order given (not normalized), or `$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Explicit numbers and ranges (at least one).
    Ranges(Vec<(SeqNumber, SeqNumber)>),
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)`.
    Saved,
}

impl SequenceSet {
    /// A set of one number.
    pub fn single(n: u32) -> SequenceSet {
        SequenceSet::Ranges(vec![(SeqNumber::Value(n), SeqNumber::Value(n))])
    }

    /// `1:*`.
    pub fn all() -> SequenceSet {
        SequenceSet::Ranges(vec![(SeqNumber::Value(1), SeqNumber::Star)])
    }

    /// The set as inclusive ranges (low end first), `*` resolved to `star`; `None` for `$`.
    pub fn resolve(&self, star: u32) -> Option<Vec<RangeInclusive<u32>>> {
        match self {
            SequenceSet::Saved => None,
            SequenceSet::Ranges(r) => Some(
                r.iter()
                    .map(|(a, b)| {
                        let (a, b) = (a.resolve(star), b.resolve(star));
                        a.min(b)..=a.max(b)
                    })
                    .collect(),
            ),
        }
    }

    /// Whether any number in the set is `*`.
    pub fn has_star(&self) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(r) => {
                r.iter().any(|(a, b)| *a == SeqNumber::Star || *b == SeqNumber::Star)
            }
        }
    }

    /// The highest explicit number in the set (ignoring `*`), 0 if none.
    pub fn max_value(&self) -> u32 {
        match self {
            SequenceSet::Saved => 0,
            SequenceSet::Ranges(r) => r
                .iter()
                .flat_map(|(a, b)| [*a, *b])
                .filter_map(|n| match n {
                    SeqNumber::Value(v) => Some(v),
                    SeqNumber::Star => None,
                })
                .max()
                .unwrap_or(0),
        }
    }

    /// Parses a sequence set (also `$`).
    pub fn parse(s: &str) -> Option<SequenceSet> {
        if s == "$" {
            return Some(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        for part in s.split(',') {
            let (a, b) = match part.split_once(':') {
                Some((a, b)) => (parse_number(a)?, parse_number(b)?),
                None => {
                    let n = parse_number(part)?;
                    (n, n)
                }
            };
            ranges.push((a, b));
        }
        Some(SequenceSet::Ranges(ranges))
    }

    /// A compact set from sorted or unsorted numbers: runs become ranges (`1:3,7`).
    pub fn from_numbers(numbers: impl IntoIterator<Item = u32>) -> Option<SequenceSet> {
        let mut v: Vec<u32> = numbers.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        let ranges = compact_runs(&v);
        if ranges.is_empty() { None } else { Some(SequenceSet::Ranges(ranges)) }
    }
}

/// Runs of consecutive numbers in `sorted` (ascending, no duplicates) as ranges.
pub(crate) fn compact_runs(sorted: &[u32]) -> Vec<(SeqNumber, SeqNumber)> {
    let mut out: Vec<(SeqNumber, SeqNumber)> = Vec::new();
    for &n in sorted {
        if let Some((_, SeqNumber::Value(end))) = out.last_mut()
            && end.checked_add(1) == Some(n)
        {
            *end = n;
            continue;
        }
        out.push((SeqNumber::Value(n), SeqNumber::Value(n)));
    }
    out
}

/// Formats numbers as a sequence set keeping their order: ascending runs become ranges
/// (for sorted results, RFC 5267 §3.2).
pub(crate) fn format_ordered(numbers: &[u32], out: &mut Vec<u8>) {
    let mut i = 0;
    let mut first = true;
    while i < numbers.len() {
        let start = numbers[i];
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j].checked_add(1) == Some(numbers[j + 1]) {
            j += 1;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        push_u32(out, start);
        if j > i {
            out.push(b':');
            push_u32(out, numbers[j]);
        }
        i = j + 1;
    }
}

pub(crate) fn push_u32(out: &mut Vec<u8>, n: u32) {
    push_u64(out, u64::from(n));
}

pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn parse_number(s: &str) -> Option<SeqNumber> {
    if s == "*" {
        return Some(SeqNumber::Star);
    }
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0')
    {
        return None;
    }
    s.parse::<u32>().ok().filter(|&n| n > 0).map(SeqNumber::Value)
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNumber::Value(v) => write!(f, "{v}"),
            SeqNumber::Star => f.write_str("*"),
        }
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequenceSet::Saved => f.write_str("$"),
            SequenceSet::Ranges(r) => {
                for (i, (a, b)) in r.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if a == b {
                        write!(f, "{a}")?;
                    } else {
                        write!(f, "{a}:{b}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_resolve() {
        // RFC 9051 §9: "2,4:7,9,12:*" in a mailbox of 15 messages.
        let s = SequenceSet::parse("2,4:7,9,12:*").unwrap();
        assert_eq!(s.to_string(), "2,4:7,9,12:*");
        assert_eq!(s.resolve(15).unwrap(), [2..=2, 4..=7, 9..=9, 12..=15]);
        assert_eq!(SequenceSet::parse("*:4").unwrap().resolve(10).unwrap(), [4..=10]);
        assert_eq!(SequenceSet::parse("$"), Some(SequenceSet::Saved));
        for bad in ["", "0", "1,", "a", "1:", "01", "4294967296", "1::2", "$,1"] {
            assert!(SequenceSet::parse(bad).is_none(), "{bad:?}");
        }
        assert!(SequenceSet::parse("1:*").unwrap().has_star());
        assert_eq!(SequenceSet::parse("3,9:5").unwrap().max_value(), 9);
    }

    #[test]
    fn compacting() {
        let s = SequenceSet::from_numbers([5, 1, 2, 3, 9, 10, 3]).unwrap();
        assert_eq!(s.to_string(), "1:3,5,9:10");
        assert!(SequenceSet::from_numbers([]).is_none());
        let mut out = Vec::new();
        format_ordered(&[4, 5, 6, 2, 1, 9], &mut out);
        assert_eq!(out, b"4:6,2,1,9");
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, b"018446744073709551615");
    }
}
