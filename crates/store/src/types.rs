//! Value types of the store: identifiers, flags, keywords, UID sets, special-use attributes.

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A mailbox within one account. Never reused: a deleted and re-created mailbox gets a new id
/// (and a new UIDVALIDITY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MailboxId(pub u32);

/// A message within one account. Names its file (`msg/<id / 4096>/<id>`). A move keeps the id;
/// a copy gets a new one. Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId(pub u64);

impl fmt::Display for MailboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The IMAP system flags (RFC 9051 §2.3.2), as a small bit set. `\Recent` is not kept: IMAP4rev2
/// dropped it.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SystemFlags(u8);

impl SystemFlags {
    /// No flags.
    pub const EMPTY: SystemFlags = SystemFlags(0);
    /// `\Seen`: the message has been read.
    pub const SEEN: SystemFlags = SystemFlags(1);
    /// `\Answered`: the message has been answered.
    pub const ANSWERED: SystemFlags = SystemFlags(2);
    /// `\Flagged`: the message is flagged for urgent/special attention.
    pub const FLAGGED: SystemFlags = SystemFlags(4);
    /// `\Deleted`: the message is marked for removal by a later expunge.
    pub const DELETED: SystemFlags = SystemFlags(8);
    /// `\Draft`: the message is a draft.
    pub const DRAFT: SystemFlags = SystemFlags(16);

    const ALL: [(SystemFlags, &'static str); 5] = [
        (SystemFlags::SEEN, "\\Seen"),
        (SystemFlags::ANSWERED, "\\Answered"),
        (SystemFlags::FLAGGED, "\\Flagged"),
        (SystemFlags::DELETED, "\\Deleted"),
        (SystemFlags::DRAFT, "\\Draft"),
    ];

    /// The raw bits (as stored).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits; unknown bits are dropped.
    pub fn from_bits(bits: u8) -> SystemFlags {
        SystemFlags(bits & 0x1f)
    }

    /// Whether every flag of `other` is set in `self`.
    pub fn contains(self, other: SystemFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: SystemFlags) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: SystemFlags) {
        self.0 &= !other.0;
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses an IMAP system flag name such as `\Seen` (case-insensitive).
    pub fn from_name(name: &str) -> Option<SystemFlags> {
        Self::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(f, _)| *f)
    }

    /// The IMAP names of the flags that are set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().filter(move |(f, _)| self.contains(*f)).map(|(_, n)| n)
    }
}

impl std::ops::BitOr for SystemFlags {
    type Output = SystemFlags;
    fn bitor(self, rhs: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for SystemFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// The longest keyword we accept, in bytes.
pub const MAX_KEYWORD_LEN: usize = 100;

/// An IMAP keyword (RFC 9051 §2.3.2: `flag-keyword`, an atom such as `$Junk` or `project-x`).
///
/// Keywords compare case-insensitively, as IMAP requires; the spelling first used in an account
/// is the one kept and shown.
///
/// ```text
/// flag-keyword    = "$MDNSent" / "$Forwarded" / "$Junk" / "$NotJunk" / "$Phishing" / atom
/// atom            = 1*ATOM-CHAR
/// ATOM-CHAR       = <any CHAR except atom-specials>
/// atom-specials   = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
/// ```
#[derive(Clone)]
pub struct Keyword(Arc<str>);

impl Keyword {
    /// Validates `name` as an IMAP keyword.
    pub fn new(name: &str) -> Result<Keyword, Error> {
        let invalid = |reason| Error::InvalidKeyword { keyword: name.to_string(), reason };
        if name.is_empty() {
            return Err(invalid("empty"));
        }
        if name.len() > MAX_KEYWORD_LEN {
            return Err(invalid("longer than 100 bytes"));
        }
        if name.starts_with('\\') {
            return Err(invalid("starts with a backslash, like a system flag"));
        }
        if let Some(c) = name.bytes().find(|&c| !is_atom_char(c)) {
            return Err(invalid(if c >= 0x80 {
                "not ASCII"
            } else {
                "contains a space, control character or one of ( ) { % * \" \\ ]"
            }));
        }
        Ok(Keyword(Arc::from(name)))
    }

    /// The keyword as shown to clients.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn lowercase(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

fn is_atom_char(c: u8) -> bool {
    c > 0x20 && c < 0x7f && !b"(){%*\"\\]".contains(&c)
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Keyword) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Keyword {}

impl fmt::Debug for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The flags of a message: system flags plus keywords.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `\Seen`, `\Answered`, ...
    pub system: SystemFlags,
    /// Keywords, without duplicates (compared case-insensitively), in the order first set.
    pub keywords: Vec<Keyword>,
}

impl Flags {
    /// Flags with only system flags.
    pub fn system(system: SystemFlags) -> Flags {
        Flags { system, keywords: Vec::new() }
    }

    /// Whether the keyword is set (case-insensitive).
    pub fn has_keyword(&self, name: &str) -> bool {
        self.keywords.iter().any(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    /// Parses IMAP flag names: system flags such as `\Seen` and keywords.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Flags, Error> {
        let mut flags = Flags::default();
        for name in names {
            if name.starts_with('\\') {
                let f = SystemFlags::from_name(name).ok_or_else(|| Error::InvalidKeyword {
                    keyword: name.to_string(),
                    reason: "not a system flag we keep",
                })?;
                flags.system.insert(f);
            } else {
                let k = Keyword::new(name)?;
                if !flags.keywords.contains(&k) {
                    flags.keywords.push(k);
                }
            }
        }
        Ok(flags)
    }

    pub(crate) fn dedup_keywords(&mut self) {
        let mut seen: Vec<Keyword> = Vec::with_capacity(self.keywords.len());
        for k in self.keywords.drain(..) {
            if !seen.contains(&k) {
                seen.push(k);
            }
        }
        self.keywords = seen;
    }
}

/// Special-use attributes of a mailbox (RFC 6154 §2): where clients put sent mail, drafts, ...
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SpecialUse(u8);

impl SpecialUse {
    /// No special use.
    pub const NONE: SpecialUse = SpecialUse(0);
    /// `\Archive`
    pub const ARCHIVE: SpecialUse = SpecialUse(1);
    /// `\Drafts`
    pub const DRAFTS: SpecialUse = SpecialUse(2);
    /// `\Junk`
    pub const JUNK: SpecialUse = SpecialUse(4);
    /// `\Sent`
    pub const SENT: SpecialUse = SpecialUse(8);
    /// `\Trash`
    pub const TRASH: SpecialUse = SpecialUse(16);

    const ALL: [(SpecialUse, &'static str); 5] = [
        (SpecialUse::ARCHIVE, "\\Archive"),
        (SpecialUse::DRAFTS, "\\Drafts"),
        (SpecialUse::JUNK, "\\Junk"),
        (SpecialUse::SENT, "\\Sent"),
        (SpecialUse::TRASH, "\\Trash"),
    ];

    /// Raw bits (as stored).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits; unknown bits are dropped.
    pub fn from_bits(bits: u8) -> SpecialUse {
        SpecialUse(bits & 0x1f)
    }

    /// Whether every attribute of `other` is set.
    pub fn contains(self, other: SpecialUse) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }

    /// Whether no attribute is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses an attribute name such as `\Sent` (case-insensitive).
    pub fn from_name(name: &str) -> Option<SpecialUse> {
        Self::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(f, _)| *f)
    }

    /// The attribute names that are set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().filter(move |(f, _)| self.contains(*f)).map(|(_, n)| n)
    }
}

impl std::ops::BitOr for SpecialUse {
    type Output = SpecialUse;
    fn bitor(self, rhs: SpecialUse) -> SpecialUse {
        SpecialUse(self.0 | rhs.0)
    }
}

impl fmt::Debug for SpecialUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// A set of UIDs as sorted, non-overlapping, non-adjacent inclusive ranges; IMAP's `1:*` is
/// [`UidSet::all`]. UIDs that do not exist in a mailbox are simply not matched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UidSet {
    ranges: Vec<RangeInclusive<u32>>,
}

impl UidSet {
    /// Every UID.
    pub fn all() -> UidSet {
        UidSet { ranges: vec![1..=u32::MAX] }
    }

    /// One UID.
    pub fn single(uid: u32) -> UidSet {
        UidSet::from_ranges([uid..=uid])
    }

    /// From ranges in any order, possibly overlapping; empty ranges (start > end) are dropped.
    pub fn from_ranges(ranges: impl IntoIterator<Item = RangeInclusive<u32>>) -> UidSet {
        let mut v: Vec<RangeInclusive<u32>> =
            ranges.into_iter().filter(|r| !r.is_empty()).collect();
        v.sort_by_key(|r| *r.start());
        let mut out: Vec<RangeInclusive<u32>> = Vec::with_capacity(v.len());
        for r in v {
            match out.last_mut() {
                Some(last) if *r.start() <= last.end().saturating_add(1) => {
                    if r.end() > last.end() {
                        *last = *last.start()..=*r.end();
                    }
                }
                _ => out.push(r),
            }
        }
        UidSet { ranges: out }
    }

    /// From individual UIDs in any order.
    pub fn from_uids(uids: impl IntoIterator<Item = u32>) -> UidSet {
        UidSet::from_ranges(uids.into_iter().map(|u| u..=u))
    }

    /// The ranges, sorted.
    pub fn ranges(&self) -> &[RangeInclusive<u32>] {
        &self.ranges
    }

    /// Whether `uid` is in the set.
    pub fn contains(&self, uid: u32) -> bool {
        let i = self.ranges.partition_point(|r| *r.end() < uid);
        self.ranges.get(i).is_some_and(|r| r.contains(&uid))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// A point in time with the UTC offset it was given in, at second resolution: the received time
/// (IMAP INTERNALDATE, RFC 9051 §2.3.3) of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// Offset from UTC in minutes, as the time was given (e.g. +120 for `+0200`).
    pub offset_minutes: i16,
}

impl Timestamp {
    /// The current time, in UTC.
    pub fn now() -> Timestamp {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp { unix, offset_minutes: 0 }
    }

    /// A UTC time from Unix seconds.
    pub fn from_unix(unix: i64) -> Timestamp {
        Timestamp { unix, offset_minutes: 0 }
    }

    /// As a `SystemTime` (the offset is dropped).
    pub fn to_system_time(self) -> std::time::SystemTime {
        let d = std::time::Duration::from_secs(self.unix.unsigned_abs());
        if self.unix >= 0 { std::time::UNIX_EPOCH + d } else { std::time::UNIX_EPOCH - d }
    }
}

/// The line endings a message had before it was stored. Messages are stored with CRLF line
/// endings (IMAP sends them so, and sizes and offsets are those of the stored bytes); a message
/// imported with bare LF endings only is converted and remembered as such, so export writes it
/// back exactly as it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LineEnding {
    /// Stored as received.
    #[default]
    Crlf,
    /// Received with bare LF line endings only; stored with CRLF.
    Lf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_validation() {
        assert!(Keyword::new("$Junk").is_ok());
        assert!(Keyword::new("project-x").is_ok());
        for bad in ["", "a b", "\\Seen", "a(b", "x*", "caf\u{e9}", "a]"] {
            assert!(Keyword::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(Keyword::new("$JUNK").unwrap(), Keyword::new("$junk").unwrap());
    }

    #[test]
    fn flags_parse() {
        let f = Flags::parse(["\\Seen", "\\flagged", "$Junk", "$junk", "x"]).unwrap();
        assert_eq!(f.system, SystemFlags::SEEN | SystemFlags::FLAGGED);
        assert_eq!(f.keywords.len(), 2);
        assert!(f.has_keyword("$JUNK"));
        assert!(Flags::parse(["\\Recent"]).is_err());
    }

    #[test]
    fn uid_set_normalizes() {
        let s = UidSet::from_ranges([
            5..=7,
            1..=2,
            3..=3,
            10..=12,
            11..=20,
            std::ops::RangeInclusive::new(9, 1),
        ]);
        assert_eq!(s.ranges(), &[1..=3, 5..=7, 10..=20]);
        assert!(s.contains(3) && s.contains(20) && !s.contains(4) && !s.contains(21));
        let s = UidSet::from_uids([4, 1, 2, 9]);
        assert_eq!(s.ranges(), &[1..=2, 4..=4, 9..=9]);
        assert!(UidSet::all().contains(u32::MAX));
    }

    #[test]
    fn special_use_names() {
        let s = SpecialUse::from_name("\\sent").unwrap() | SpecialUse::TRASH;
        assert_eq!(s.names().collect::<Vec<_>>(), ["\\Sent", "\\Trash"]);
        assert!(!SpecialUse::NONE.contains(SpecialUse::NONE));
    }
}
