//! The header section of a message or MIME part (RFC 5322 §2.2, §3.6), with raw bytes preserved.
//!
//! ```text
//! field       = field-name ":" unstructured CRLF
//! field-name  = 1*ftext
//! ftext       = %d33-57 / %d59-126      ; printable US-ASCII except ":"
//! obs-optional = field-name *WSP ":" unstructured CRLF   ; RFC 5322 §4.5.8
//! ```
//!
//! A field is kept exactly as it appears in the message (name, colon, folded value and line
//! ending), because DKIM (RFC 6376 §3.4) signs the raw bytes.

use std::borrow::Cow;
use std::fmt;

use crate::encoded_word::decode_encoded_words;
use crate::text::{bytes_to_text, is_wsp};

/// The header section of a message or MIME part: its fields in order, and where the body starts.
///
/// Parsing never fails. It accepts CRLF and bare LF line endings, a header without a blank line
/// after it (then the body is empty or starts at the first line that is not a field), a last
/// field without a line ending, whitespace before the first field (a first line that starts
/// with whitespace and is not a field is skipped), and the obsolete
/// `Name : value` spacing (RFC 5322 §4.5.8). A line that is neither a field nor a continuation
/// line ends the header section, and the body starts at that line (as in Python's `email`).
///
/// All offsets are byte offsets into the slice given to [`Header::parse`].
///
/// ```
/// let msg = b"From: a@example.org\r\nSubject: hello\r\n  world\r\n\r\nbody\r\n";
/// let header = message::Header::parse(msg);
/// assert_eq!(header.len(), 2);
/// let subject = header.get("subject").unwrap();
/// assert_eq!(subject.raw(), b"Subject: hello\r\n  world\r\n");
/// assert_eq!(subject.value(), "hello  world");
/// assert_eq!(&msg[header.body_offset()..], b"body\r\n");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Header<'a> {
    data: &'a [u8],
    start: usize,
    fields: Vec<Field<'a>>,
    body_offset: usize,
    has_separator: bool,
}

/// One header field, borrowing its raw bytes from the message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    raw: &'a [u8],
    offset: usize,
    // Length of the name, without obsolete whitespace before the colon.
    name_len: usize,
    // Index of the colon in `raw`.
    colon: usize,
    // Length of the line ending at the end of `raw` (0, 1 or 2).
    line_ending_len: usize,
}

impl<'a> Header<'a> {
    /// Parses the header section at the start of `data` (a whole message, or anything that starts
    /// with a header section).
    pub fn parse(data: &'a [u8]) -> Header<'a> {
        Header::parse_range(data, 0, data.len())
    }

    /// Parses the header section in `data[start..end]`; offsets stay relative to `data`.
    pub(crate) fn parse_range(data: &'a [u8], start: usize, end: usize) -> Header<'a> {
        let end = end.min(data.len());
        let start = start.min(end);
        // Growing from empty reallocates three times before a typical header section (10 to
        // 30 fields) fits; guess from the size instead, small for a MIME part's few fields.
        let mut fields = Vec::with_capacity(((end - start) / 64).clamp(4, 32));
        let mut pos = start;
        // Whitespace before the first field is not part of any field: skip it. A first line
        // that starts with whitespace and is not a field after it (a continuation line with
        // nothing to continue, or only whitespace) is skipped whole, as Python's email does.
        while pos < end && is_wsp(data[pos]) {
            while pos < end && is_wsp(data[pos]) {
                pos += 1;
            }
            if parse_field(data, pos, end).is_none() {
                pos = line_end(data, pos, end);
            }
        }
        let mut has_separator = false;
        let body_offset = loop {
            if pos >= end {
                break end;
            }
            match data[pos] {
                b'\n' => {
                    has_separator = true;
                    break pos + 1;
                }
                b'\r' if pos + 1 < end && data[pos + 1] == b'\n' => {
                    has_separator = true;
                    break pos + 2;
                }
                _ => {}
            }
            match parse_field(data, pos, end) {
                Some(field) => {
                    pos += field.raw.len();
                    fields.push(field);
                }
                None => break pos,
            }
        };
        Header { data, start, fields, body_offset, has_separator }
    }

    /// The fields in the order they appear.
    pub fn fields(&self) -> &[Field<'a>] {
        &self.fields
    }

    /// Iterates over the fields in order; `.rev()` gives them bottom-up, as DKIM selects them.
    pub fn iter(&self) -> std::slice::Iter<'_, Field<'a>> {
        self.fields.iter()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The first field named `name` (compared ASCII case-insensitively).
    pub fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.is(name))
    }

    /// All fields named `name` (ASCII case-insensitively), top to bottom; `.rev()` for bottom-up.
    pub fn get_all<'s>(
        &'s self,
        name: &'s str,
    ) -> impl DoubleEndedIterator<Item = &'s Field<'a>> + 's {
        self.fields.iter().filter(move |f| f.is(name))
    }

    /// The unfolded value of the first field named `name`; see [`Field::value`].
    pub fn value(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get(name).map(|f| f.value())
    }

    /// Offset of the start of the header section (where the first field would begin).
    pub fn offset(&self) -> usize {
        self.start
    }

    /// Offset just past the last field (at the blank line, if there is one).
    pub fn fields_end(&self) -> usize {
        self.fields.last().map_or(self.start, |f| f.offset + f.raw.len())
    }

    /// Offset of the first byte of the body: after the blank line that ends the header section,
    /// or where the header section stopped if there is no blank line.
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// Whether the header section ended with a blank line (it does in every well-formed
    /// message).
    pub fn has_separator(&self) -> bool {
        self.has_separator
    }

    /// The raw header section: all fields and the blank line after them, if any (what IMAP
    /// returns for `BODY[HEADER]` and `BODY[1.MIME]`).
    pub fn raw(&self) -> &'a [u8] {
        &self.data[self.start..self.body_offset]
    }
}

impl<'a, 's> IntoIterator for &'s Header<'a> {
    type Item = &'s Field<'a>;
    type IntoIter = std::slice::Iter<'s, Field<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

impl fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("offset", &self.start)
            .field("fields", &self.fields)
            .field("body_offset", &self.body_offset)
            .finish()
    }
}

impl<'a> Field<'a> {
    /// The field name as it appears (original case, without obsolete whitespace before the
    /// colon). Always printable ASCII.
    pub fn name(&self) -> &'a str {
        // parse_field only accepts ftext (printable ASCII) in names, so this never fails.
        std::str::from_utf8(&self.raw[..self.name_len]).unwrap_or_default()
    }

    /// Whether the field is named `name`, ASCII case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        // On bytes: the name needs no UTF-8 check to be compared.
        self.raw[..self.name_len].eq_ignore_ascii_case(name.as_bytes())
    }

    /// The whole field exactly as in the message: name, colon, folded value and line ending (if
    /// the message had one).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Byte offset of the field's first byte in the parsed data.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The raw value: everything after the colon, folding included, without the final line
    /// ending. DKIM relaxed canonicalization (RFC 6376 §3.4.2) works on this.
    pub fn raw_value(&self) -> &'a [u8] {
        &self.raw[self.colon + 1..self.raw.len() - self.line_ending_len]
    }

    /// The value unfolded (RFC 5322 §2.2.3: line endings followed by whitespace removed), with
    /// leading and trailing whitespace trimmed, as bytes. Borrowed unless the field was folded.
    pub fn value_bytes(&self) -> Cow<'a, [u8]> {
        unfold(self.raw_value())
    }

    /// The unfolded value as text. Bytes that are not UTF-8 are decoded as Windows-1252 (the
    /// usual fallback for raw 8-bit headers). Encoded words (RFC 2047) are not decoded: see
    /// [`Field::decoded_value`].
    pub fn value(&self) -> Cow<'a, str> {
        match self.value_bytes() {
            Cow::Borrowed(b) => bytes_to_text(b),
            Cow::Owned(b) => Cow::Owned(bytes_to_text(&b).into_owned()),
        }
    }

    /// The unfolded value with RFC 2047 encoded words decoded: the text of an unstructured
    /// field such as Subject, as shown to people.
    ///
    /// ```
    /// let header = message::Header::parse(b"Subject: =?utf-8?q?caf=C3=A9?=\r\n =?utf-8?b?IOKYlQ==?=\r\n\r\n");
    /// assert_eq!(header.get("subject").unwrap().decoded_value(), "café ☕");
    /// ```
    pub fn decoded_value(&self) -> Cow<'a, str> {
        match self.value() {
            Cow::Borrowed(s) => decode_encoded_words(s),
            Cow::Owned(s) => Cow::Owned(decode_encoded_words(&s).into_owned()),
        }
    }
}

impl fmt::Debug for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("offset", &self.offset)
            .field("raw", &String::from_utf8_lossy(self.raw))
            .finish()
    }
}

/// Parses one field starting at `pos` (which is not at a blank line). None if the line is not a
/// field.
fn parse_field(data: &[u8], pos: usize, end: usize) -> Option<Field<'_>> {
    let mut i = pos;
    while i < end && is_ftext(data[i]) {
        i += 1;
    }
    let name_len = i - pos;
    if name_len == 0 {
        return None;
    }
    while i < end && is_wsp(data[i]) {
        i += 1;
    }
    if i >= end || data[i] != b':' {
        return None;
    }
    let colon = i - pos;
    // The field runs to the end of its last line; lines that start with WSP continue it.
    let mut line_end = line_end(data, i, end);
    while line_end < end && is_wsp(data[line_end]) {
        line_end = self::line_end(data, line_end, end);
    }
    let raw = &data[pos..line_end];
    let line_ending_len = if raw.ends_with(b"\r\n") {
        2
    } else if raw.ends_with(b"\n") {
        1
    } else {
        0
    };
    Some(Field { raw, offset: pos, name_len, colon, line_ending_len })
}

/// The offset just past the line ending of the line containing `pos`, or `end`.
fn line_end(data: &[u8], pos: usize, end: usize) -> usize {
    match memchr::memchr(b'\n', &data[pos..end]) {
        Some(n) => pos + n + 1,
        None => end,
    }
}

fn is_ftext(b: u8) -> bool {
    (33..=126).contains(&b) && b != b':'
}

/// Unfolds a raw value and trims surrounding whitespace (including line endings).
pub(crate) fn unfold(raw: &[u8]) -> Cow<'_, [u8]> {
    let trimmed = trim_wsp(raw);
    if !trimmed.iter().any(|&b| b == b'\n' || b == b'\r') {
        return Cow::Borrowed(trimmed);
    }
    let mut out = Vec::with_capacity(trimmed.len());
    let mut i = 0;
    while i < trimmed.len() {
        match trimmed[i] {
            b'\r' if trimmed.get(i + 1) == Some(&b'\n') => i += 2,
            b'\n' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn trim_wsp(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if is_wsp(*first) || *first == b'\r' || *first == b'\n' {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if is_wsp(*last) || *last == b'\r' || *last == b'\n' {
            b = rest;
        } else {
            break;
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<'a>(h: &'a Header<'_>) -> Vec<&'a str> {
        h.iter().map(|f| f.name()).collect()
    }

    #[test]
    fn crlf_message() {
        let msg = b"From: a@x\r\nTo: b@y\r\nSubject: s\r\n\r\nbody";
        let h = Header::parse(msg);
        assert_eq!(names(&h), ["From", "To", "Subject"]);
        assert_eq!(h.fields()[1].offset(), 11);
        assert_eq!(h.fields()[1].raw(), b"To: b@y\r\n");
        assert_eq!(h.fields()[1].raw_value(), b" b@y");
        assert_eq!(h.body_offset(), msg.len() - 4);
        assert_eq!(h.fields_end(), msg.len() - 6);
        assert!(h.has_separator());
        assert_eq!(h.raw(), &msg[..msg.len() - 4]);
    }

    #[test]
    fn bare_lf_and_folding() {
        let msg = b"Subject: one\n two\n\tthree\nX: y\n\nbody\n";
        let h = Header::parse(msg);
        assert_eq!(names(&h), ["Subject", "X"]);
        let s = h.get("SUBJECT").unwrap();
        assert_eq!(s.raw(), b"Subject: one\n two\n\tthree\n");
        assert_eq!(s.raw_value(), b" one\n two\n\tthree");
        assert_eq!(s.value(), "one two\tthree");
        assert_eq!(&msg[h.body_offset()..], b"body\n");
    }

    #[test]
    fn no_blank_line_and_no_final_newline() {
        let msg = b"A: 1\r\nB: 2";
        let h = Header::parse(msg);
        assert_eq!(names(&h), ["A", "B"]);
        assert_eq!(h.fields()[1].raw(), b"B: 2");
        assert_eq!(h.fields()[1].raw_value(), b" 2");
        assert_eq!(h.body_offset(), msg.len());
        assert!(!h.has_separator());

        let msg = b"A: 1\r\n";
        let h = Header::parse(msg);
        assert_eq!(h.len(), 1);
        assert_eq!(h.body_offset(), msg.len());
    }

    #[test]
    fn line_that_is_not_a_field_starts_the_body() {
        let msg = b"A: 1\r\nthis is body\r\nB: 2\r\n";
        let h = Header::parse(msg);
        assert_eq!(names(&h), ["A"]);
        assert_eq!(&msg[h.body_offset()..], b"this is body\r\nB: 2\r\n");
        assert!(!h.has_separator());
    }

    #[test]
    fn leading_whitespace_and_obsolete_spacing() {
        let msg = b"  From : a@x\r\nSubject\t:\thi\r\n\r\n";
        let h = Header::parse(msg);
        assert_eq!(names(&h), ["From", "Subject"]);
        assert_eq!(h.fields()[0].offset(), 2);
        assert_eq!(h.fields()[0].raw(), b"From : a@x\r\n");
        assert_eq!(h.value("from").as_deref(), Some("a@x"));
        assert_eq!(h.value("subject").as_deref(), Some("hi"));
        assert_eq!(h.offset(), 0);
    }

    #[test]
    fn leading_continuation_lines_are_skipped() {
        let msg = b" \r\n\tjunk without colon\r\nFrom: a@x\r\n\r\nbody";
        let h = Header::parse(msg);
        assert_eq!(names(&h), ["From"]);
        assert_eq!(h.fields()[0].offset(), 24);
        assert_eq!(&msg[h.body_offset()..], b"body");
        assert_eq!(h.raw(), &msg[..msg.len() - 4]);
        // Whitespace then a blank line: the skipped line is not the separator.
        let h = Header::parse(b"  \n\nbody");
        assert!(h.is_empty());
        assert_eq!(h.body_offset(), 4);
    }

    #[test]
    fn empty_and_blank_only() {
        let h = Header::parse(b"");
        assert!(h.is_empty());
        assert_eq!(h.body_offset(), 0);
        let h = Header::parse(b"\r\nbody");
        assert!(h.is_empty());
        assert_eq!(h.body_offset(), 2);
        assert!(h.has_separator());
        let h = Header::parse(b"\nbody");
        assert_eq!(h.body_offset(), 1);
    }

    #[test]
    fn get_all_in_both_directions() {
        let msg = b"Received: 1\r\nX: a\r\nreceived: 2\r\nRECEIVED: 3\r\n\r\n";
        let h = Header::parse(msg);
        let down: Vec<_> = h.get_all("Received").map(|f| f.value()).collect();
        assert_eq!(down, ["1", "2", "3"]);
        let up: Vec<_> = h.get_all("received").rev().map(|f| f.value()).collect();
        assert_eq!(up, ["3", "2", "1"]);
        assert!(h.get("Missing").is_none());
    }

    #[test]
    fn value_with_8bit_and_empty_value() {
        let h = Header::parse("Subject: caf\u{e9}\r\nX:\r\n\r\n".as_bytes());
        assert_eq!(h.value("subject").as_deref(), Some("café"));
        assert_eq!(h.value("x").as_deref(), Some(""));
        let h = Header::parse(b"Y: caf\xe9\r\n\r\n");
        assert_eq!(h.value("y").as_deref(), Some("café"));
    }

    #[test]
    fn continuation_of_whitespace_only_and_cr_in_value() {
        let msg = b"A: x\r\n \r\n y\r\nB: a\rb\r\n\r\n";
        let h = Header::parse(msg);
        assert_eq!(names(&h), ["A", "B"]);
        assert_eq!(h.fields()[0].value(), "x  y");
        assert_eq!(h.fields()[1].raw(), b"B: a\rb\r\n");
    }

    #[test]
    fn parse_range_keeps_absolute_offsets() {
        let data = b"ignored\r\nA: 1\r\n\r\nbody";
        let h = Header::parse_range(data, 9, data.len());
        assert_eq!(h.offset(), 9);
        assert_eq!(h.fields()[0].offset(), 9);
        assert_eq!(h.raw(), b"A: 1\r\n\r\n");
        assert_eq!(&data[h.body_offset()..], b"body");
    }
}
