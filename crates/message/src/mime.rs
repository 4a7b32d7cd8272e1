//! The MIME tree (RFC 2045, RFC 2046): every part with its byte offsets, content fields, and
//! decoded body.
//!
//! ```text
//! multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part
//!                   *encapsulation close-delimiter transport-padding [CRLF epilogue]
//! encapsulation  := delimiter transport-padding CRLF body-part
//! delimiter      := CRLF dash-boundary
//! close-delimiter := delimiter "--"
//! dash-boundary  := "--" boundary
//! transport-padding := *LWSP-char
//! ```
//!
//! RFC 2046 §5.1.1: the line ending before a delimiter belongs to the delimiter, not to the
//! part before it; so a part's body ends before that line ending.

use std::borrow::Cow;
use std::ops::Range;

use memchr::memmem;

use crate::content::{ContentDisposition, ContentType, TransferEncoding, decode_charset};
use crate::encoded_word::charset_encoding;
use crate::text::bytes_to_text;
use crate::transfer::{decode_base64, decode_quoted_printable};
use crate::{Header, MessageId, decode_encoded_words};

/// Multipart and message/rfc822 nesting deeper than this is not parsed further: the part at
/// the limit is kept as a single part with its raw body. Protects against hostile nesting.
pub const MAX_DEPTH: usize = 50;

/// At most this many parts are made for one message; past that, the remaining content stays in
/// the body of the last part made. Protects against messages of millions of empty parts.
pub const MAX_PARTS: usize = 10_000;

/// A parsed message: its header and its MIME tree, borrowing the message bytes.
///
/// Parsing never fails and never copies a body. Offsets are byte offsets into the parsed
/// bytes.
///
/// ```
/// let data = b"Subject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n";
/// let msg = message::Message::parse(data);
/// assert_eq!(msg.header().value("subject").as_deref(), Some("hi"));
/// let parts = msg.root().parts();
/// assert_eq!(parts.len(), 2);
/// assert_eq!(parts[0].body(), b"one");
/// assert_eq!(parts[1].content_type().essence(), "text/html");
/// assert_eq!(parts[1].raw_header(), b"Content-Type: text/html\r\n\r\n");
/// assert_eq!(msg.part_at(&[2]).unwrap().decoded_text(), "<p>two</p>");
/// ```
#[derive(Debug, Clone)]
pub struct Message<'a> {
    root: Part<'a>,
}

/// One MIME entity: a message, a part of a multipart, or the message inside a
/// message/rfc822 part.
///
/// Its bytes are `data[header_offset..body_end]`: the header section
/// `data[header_offset..body_offset]` (with the blank line after it, what IMAP returns for
/// `BODY[n.MIME]`), then the raw, still transfer-encoded body `data[body_offset..body_end]`.
#[derive(Clone)]
pub struct Part<'a> {
    data: &'a [u8],
    header: Header<'a>,
    body_end: usize,
    content_type: ContentType,
    transfer_encoding: TransferEncoding,
    body: Body<'a>,
}

/// What a part contains, besides its header.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Body<'a> {
    /// A leaf part: text, an attachment, or a multipart/message part that could not be parsed
    /// further (no boundary, encoded message/rfc822, nesting limit).
    Single,
    /// A multipart body.
    Multipart {
        /// The body parts; empty if no delimiter line was found.
        parts: Vec<Part<'a>>,
        /// Byte range of the text before the first delimiter (the whole body if there is
        /// none), without the line ending that belongs to the delimiter.
        preamble: Range<usize>,
        /// Byte range of the text after the close delimiter line; empty (at the body end) if
        /// the close delimiter is missing.
        epilogue: Range<usize>,
        /// Whether the close delimiter (`--boundary--`) was found.
        closed: bool,
    },
    /// A message/rfc822 (or message/global) part: the embedded message, whose header starts
    /// at this part's body offset.
    Message(Box<Part<'a>>),
}

impl<'a> Message<'a> {
    /// Parses a message: its header section and full MIME tree.
    pub fn parse(data: &'a [u8]) -> Message<'a> {
        let mut count = 0;
        let root = parse_part(data, 0, data.len(), 0, &mut count, false);
        Message { root }
    }

    /// The message's header section.
    pub fn header(&self) -> &Header<'a> {
        &self.root.header
    }

    /// The root part: the message itself as a MIME entity.
    pub fn root(&self) -> &Part<'a> {
        &self.root
    }

    /// The message body (everything after the header section), raw.
    pub fn body(&self) -> &'a [u8] {
        self.root.body()
    }

    /// The bytes the message was parsed from.
    pub fn data(&self) -> &'a [u8] {
        self.root.data
    }

    /// The part with an IMAP section number (RFC 3501 §6.4.5), such as `[1, 2]` for "1.2": in a
    /// multipart, n is the nth part; inside a message/rfc822 part, the numbers go on in the
    /// embedded message; a message that is not multipart has only part 1, its body. `[]` is
    /// the root.
    pub fn part_at(&self, section: &[u32]) -> Option<&Part<'a>> {
        let mut current = &self.root;
        // Whether `current` is a message (root or embedded) rather than a body part.
        let mut is_message = true;
        for &n in section {
            let index = usize::try_from(n).ok()?.checked_sub(1)?;
            if let Body::Message(inner) = &current.body
                && !is_message
            {
                current = inner;
                is_message = true;
            }
            match &current.body {
                Body::Multipart { parts, .. } => {
                    current = parts.get(index)?;
                    is_message = false;
                }
                _ if is_message && index == 0 => is_message = false,
                _ => return None,
            }
        }
        Some(current)
    }

    /// All parts, depth first in document order, starting with the root; embedded messages'
    /// parts included.
    pub fn parts(&self) -> impl Iterator<Item = &Part<'a>> {
        self.root.walk()
    }
}

impl<'a> Part<'a> {
    /// The part's header section (for the root part, the message header).
    pub fn header(&self) -> &Header<'a> {
        &self.header
    }

    /// Offset of the part's first byte (its header section).
    pub fn header_offset(&self) -> usize {
        self.header.offset()
    }

    /// Offset of the part's body, after the blank line that ends its header.
    pub fn body_offset(&self) -> usize {
        self.header.body_offset()
    }

    /// Offset just past the part's body.
    pub fn body_end(&self) -> usize {
        self.body_end
    }

    /// The raw header section, including the blank line after it (IMAP `BODY[n.MIME]`, or
    /// `BODY[HEADER]` for a message).
    pub fn raw_header(&self) -> &'a [u8] {
        self.header.raw()
    }

    /// The raw body, still transfer-encoded (IMAP `BODY[n]`).
    pub fn body(&self) -> &'a [u8] {
        &self.data[self.body_offset()..self.body_end]
    }

    /// The whole part: header section and body.
    pub fn raw(&self) -> &'a [u8] {
        &self.data[self.header_offset()..self.body_end]
    }

    /// The content type: from the Content-Type field, or the default (`text/plain;
    /// charset=us-ascii`, or `message/rfc822` inside multipart/digest, RFC 2046 §5.1.5).
    pub fn content_type(&self) -> &ContentType {
        &self.content_type
    }

    /// The Content-Transfer-Encoding (7bit when absent).
    pub fn transfer_encoding(&self) -> &TransferEncoding {
        &self.transfer_encoding
    }

    /// What the part contains: nothing more, parts, or an embedded message.
    pub fn body_structure(&self) -> &Body<'a> {
        &self.body
    }

    /// The parts of a multipart; empty for other parts.
    pub fn parts(&self) -> &[Part<'a>] {
        match &self.body {
            Body::Multipart { parts, .. } => parts,
            _ => &[],
        }
    }

    /// The embedded message of a message/rfc822 part.
    pub fn embedded_message(&self) -> Option<&Part<'a>> {
        match &self.body {
            Body::Message(m) => Some(m),
            _ => None,
        }
    }

    /// Whether this is a multipart with its parts parsed.
    pub fn is_multipart(&self) -> bool {
        matches!(self.body, Body::Multipart { .. })
    }

    /// This part and all parts inside it, depth first in document order.
    pub fn walk(&self) -> impl Iterator<Item = &Part<'a>> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let part = stack.pop()?;
            match &part.body {
                Body::Multipart { parts, .. } => stack.extend(parts.iter().rev()),
                Body::Message(m) => stack.push(m),
                Body::Single => {}
            }
            Some(part)
        })
    }

    /// The number of lines in the raw body (IMAP `body-fld-lines`): line endings, plus one for
    /// a last line without one.
    pub fn line_count(&self) -> usize {
        let body = self.body();
        let n = memchr::memchr_iter(b'\n', body).count();
        if body.last().is_some_and(|&b| b != b'\n') { n + 1 } else { n }
    }

    /// The body with its transfer encoding removed (base64 and quoted-printable, leniently);
    /// borrowed for 7bit, 8bit, binary and unknown encodings.
    pub fn decoded_body(&self) -> Cow<'a, [u8]> {
        let body = self.body();
        match self.transfer_encoding {
            TransferEncoding::Base64 => Cow::Owned(decode_base64(body)),
            TransferEncoding::QuotedPrintable => Cow::Owned(decode_quoted_printable(body)),
            _ => Cow::Borrowed(body),
        }
    }

    /// The decoded body as text in its charset (the `charset` parameter). UTF-8 and US-ASCII
    /// bodies that are valid UTF-8 are borrowed; invalid UTF-8 in a body without a charset or
    /// declared US-ASCII is read as Windows-1252; an unknown charset is read as UTF-8 with
    /// replacement characters.
    pub fn decoded_text(&self) -> Cow<'a, str> {
        let bytes = self.decoded_body();
        let charset = self.content_type.charset();
        let encoding = charset.and_then(charset_encoding);
        let utf8_or_ascii = match charset {
            None => true,
            Some(c) => encoding == Some(encoding_rs::UTF_8) || c.eq_ignore_ascii_case("us-ascii"),
        };
        if utf8_or_ascii || encoding.is_none() {
            let lossy = charset.is_some_and(|c| !c.eq_ignore_ascii_case("us-ascii"));
            return match bytes {
                Cow::Borrowed(b) => match std::str::from_utf8(b) {
                    Ok(s) => Cow::Borrowed(s),
                    Err(_) if lossy => String::from_utf8_lossy(b),
                    Err(_) => bytes_to_text(b),
                },
                Cow::Owned(b) => match String::from_utf8(b) {
                    Ok(s) => Cow::Owned(s),
                    Err(e) if lossy => {
                        Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned())
                    }
                    Err(e) => Cow::Owned(bytes_to_text(e.as_bytes()).into_owned()),
                },
            };
        }
        Cow::Owned(decode_charset(&bytes, charset))
    }

    /// The Content-Disposition, if there is one.
    pub fn content_disposition(&self) -> Option<ContentDisposition> {
        self.header.get("Content-Disposition").map(|f| ContentDisposition::parse(f.raw_value()))
    }

    /// The attachment's file name: the disposition's `filename`, else the content type's `name`
    /// (with RFC 2231 and, leniently, RFC 2047 decoding).
    pub fn filename(&self) -> Option<String> {
        if let Some(name) = self.content_disposition().and_then(|d| d.filename()) {
            return Some(name);
        }
        self.content_type.param("name").map(|n| decode_encoded_words(n).into_owned())
    }

    /// The Content-ID (RFC 2045 §7), without angle brackets.
    pub fn content_id(&self) -> Option<MessageId> {
        self.header.get("Content-ID").and_then(|f| MessageId::parse(f.raw_value()).ok())
    }

    /// The Content-Description (RFC 2045 §8), encoded words decoded.
    pub fn content_description(&self) -> Option<String> {
        self.header.get("Content-Description").map(|f| f.decoded_value().into_owned())
    }

    /// The Content-Language tags (RFC 3282), comma separated in the field.
    pub fn content_language(&self) -> Vec<String> {
        let Some(field) = self.header.get("Content-Language") else { return Vec::new() };
        field
            .value()
            .split(',')
            .map(|tag| tag.trim())
            .filter(|tag| !tag.is_empty())
            .map(String::from)
            .collect()
    }

    /// The Content-Location (RFC 2557 §4.2), unfolded with whitespace removed (long URIs
    /// are folded at arbitrary places).
    pub fn content_location(&self) -> Option<String> {
        self.header
            .get("Content-Location")
            .map(|f| f.value().chars().filter(|c| !c.is_whitespace()).collect())
    }

    /// The Content-MD5 (RFC 1864), as written.
    pub fn content_md5(&self) -> Option<String> {
        self.header.get("Content-MD5").map(|f| f.value().into_owned())
    }
}

/// Offsets, content fields and structure; not the message bytes.
impl std::fmt::Debug for Part<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part")
            .field("header_offset", &self.header_offset())
            .field("body_offset", &self.body_offset())
            .field("body_end", &self.body_end)
            .field("content_type", &self.content_type)
            .field("transfer_encoding", &self.transfer_encoding)
            .field("body", &self.body)
            .finish()
    }
}

/// Parses the entity in `data[start..end]`.
fn parse_part<'a>(
    data: &'a [u8],
    start: usize,
    end: usize,
    depth: usize,
    count: &mut usize,
    in_digest: bool,
) -> Part<'a> {
    *count += 1;
    let header = Header::parse_range(data, start, end);
    let content_type = match header.get("Content-Type") {
        Some(f) => ContentType::parse(f.raw_value()),
        None if in_digest => ContentType::new("message", "rfc822"),
        None => ContentType::default(),
    };
    let transfer_encoding = header
        .get("Content-Transfer-Encoding")
        .map_or(TransferEncoding::SevenBit, |f| TransferEncoding::parse(f.raw_value()));
    let body_offset = header.body_offset();
    let body = if depth >= MAX_DEPTH || *count >= MAX_PARTS {
        Body::Single
    } else if content_type.media_type == "multipart" {
        match content_type.boundary() {
            Some(boundary) if !boundary.is_empty() => {
                let digest = content_type.subtype == "digest";
                parse_multipart(data, body_offset, end, boundary.as_bytes(), depth, count, digest)
            }
            _ => Body::Single,
        }
    } else if content_type.media_type == "message"
        && matches!(content_type.subtype.as_str(), "rfc822" | "global")
        && transfer_encoding.is_identity()
    {
        Body::Message(Box::new(parse_part(data, body_offset, end, depth + 1, count, false)))
    } else {
        Body::Single
    };
    Part { data, header, body_end: end, content_type, transfer_encoding, body }
}

fn parse_multipart<'a>(
    data: &'a [u8],
    body_offset: usize,
    end: usize,
    boundary: &[u8],
    depth: usize,
    count: &mut usize,
    digest: bool,
) -> Body<'a> {
    let mut dash_boundary = Vec::with_capacity(boundary.len() + 2);
    dash_boundary.extend_from_slice(b"--");
    dash_boundary.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&dash_boundary);

    let mut parts = Vec::new();
    let mut preamble = body_offset..end;
    // Start of the current part's header, once the first delimiter was seen.
    let mut part_start: Option<usize> = None;
    let mut search = body_offset;
    let mut closed = false;
    let mut epilogue = end..end;
    while search < end {
        let Some(found) = finder.find(&data[search..end]) else { break };
        let at = search + found;
        search = at + dash_boundary.len();
        let Some(delimiter) = delimiter_at(data, body_offset, at, dash_boundary.len(), end) else {
            continue;
        };
        match part_start {
            None => preamble = body_offset..delimiter.before,
            Some(start) => {
                if *count + 1 >= MAX_PARTS {
                    // The rest goes into one last part, made below.
                    break;
                }
                // "--b\r\n--b": the line ending between is taken by both delimiter lines;
                // the part between them is empty.
                let part_end = delimiter.before.max(start);
                parts.push(parse_part(data, start, part_end, depth + 1, count, digest));
            }
        }
        if delimiter.close {
            closed = true;
            epilogue = delimiter.after..end;
            part_start = None;
            break;
        }
        part_start = Some(delimiter.after);
        search = delimiter.after;
    }
    // A missing close delimiter: the last part runs to the end.
    if let Some(start) = part_start {
        parts.push(parse_part(data, start, end, depth + 1, count, digest));
    }
    Body::Multipart { parts, preamble, epilogue, closed }
}

struct Delimiter {
    /// Where the content before the delimiter ends (before the line ending that belongs to it).
    before: usize,
    /// Just past the delimiter line.
    after: usize,
    close: bool,
}

/// Checks that the "--boundary" at `at` is a delimiter line: at the start of a line, followed
/// by an optional "--", transport padding and a line ending (or the end).
fn delimiter_at(
    data: &[u8],
    body_offset: usize,
    at: usize,
    len: usize,
    end: usize,
) -> Option<Delimiter> {
    let before = if at == body_offset {
        at
    } else if data[at - 1] == b'\n' {
        if at - 1 > body_offset && data[at - 2] == b'\r' { at - 2 } else { at - 1 }
    } else {
        return None;
    };
    let mut i = at + len;
    let close = data.get(i..i + 2) == Some(b"--") && i + 2 <= end;
    if close {
        i += 2;
    }
    while i < end && (data[i] == b' ' || data[i] == b'\t') {
        i += 1;
    }
    let after = if i == end {
        end
    } else if data[i] == b'\n' {
        i + 1
    } else if data[i] == b'\r' && i + 1 < end && data[i + 1] == b'\n' {
        i + 2
    } else if data[i] == b'\r' && i + 1 == end {
        end
    } else {
        return None;
    };
    Some(Delimiter { before, after, close })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_part_message() {
        let data = b"Subject: x\r\n\r\nline1\r\nline2";
        let msg = Message::parse(data);
        let root = msg.root();
        assert_eq!(root.header_offset(), 0);
        assert_eq!(root.body_offset(), 14);
        assert_eq!(root.body_end(), data.len());
        assert_eq!(root.body(), b"line1\r\nline2");
        assert_eq!(root.line_count(), 2);
        assert_eq!(root.content_type(), &ContentType::default());
        assert!(matches!(root.body_structure(), Body::Single));
        assert_eq!(msg.part_at(&[1]).map(Part::body_offset), Some(14));
        assert!(msg.part_at(&[2]).is_none());
        assert!(msg.part_at(&[0]).is_none());
    }

    #[test]
    fn delimiters_need_line_start_and_padding_only() {
        let data = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre --b\r\n--b \t\r\nA\r\n--bx\r\n--b--x\r\n--b--  \r\nepi\r\n";
        let msg = Message::parse(data);
        let Body::Multipart { parts, preamble, epilogue, closed } = msg.root().body_structure()
        else {
            panic!()
        };
        assert!(closed);
        assert_eq!(&data[preamble.clone()], b"pre --b");
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].raw(), b"A\r\n--bx\r\n--b--x");
        assert_eq!(&data[epilogue.clone()], b"epi\r\n");
    }

    #[test]
    fn delimiters_sharing_a_line_ending_give_an_empty_part() {
        let data = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\nx\r\n--b--";
        let msg = Message::parse(data);
        let parts = msg.root().parts();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].header_offset(), 50);
        assert_eq!(parts[0].body_end(), 50);
        assert_eq!(parts[1].header_offset(), 55);
        assert_eq!(parts[1].body(), b"x");
        crate::fuzzing::message_parse(data);
    }

    #[test]
    fn debug_shows_structure_not_bytes() {
        let msg = Message::parse(b"Subject: secret\r\n\r\nsecret body");
        let shown = format!("{:?}", msg.root());
        assert!(shown.contains("body_offset: 19"), "{shown}");
        assert!(!shown.contains("secret body"), "{shown}");
    }

    #[test]
    fn missing_close_delimiter() {
        let data = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n";
        let msg = Message::parse(data);
        let Body::Multipart { parts, closed, epilogue, .. } = msg.root().body_structure() else {
            panic!()
        };
        assert!(!closed);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body(), b"one");
        assert_eq!(parts[1].body(), b"two\n");
        assert!(epilogue.is_empty());
    }

    #[test]
    fn multipart_without_boundary_or_delimiters() {
        let msg = Message::parse(b"Content-Type: multipart/mixed\r\n\r\nbody");
        assert!(matches!(msg.root().body_structure(), Body::Single));
        let data = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno delimiters";
        let msg = Message::parse(data);
        let Body::Multipart { parts, preamble, .. } = msg.root().body_structure() else { panic!() };
        assert!(parts.is_empty());
        assert_eq!(&data[preamble.clone()], b"no delimiters");
    }

    #[test]
    fn digest_defaults_to_message_rfc822() {
        let data = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: inner\r\n\r\nhi\r\n--d--\r\n";
        let msg = Message::parse(data);
        let part = &msg.root().parts()[0];
        assert!(part.content_type().is("message", "rfc822"));
        let inner = part.embedded_message().unwrap();
        assert_eq!(inner.header().value("subject").as_deref(), Some("inner"));
        assert_eq!(inner.body(), b"hi");
        assert_eq!(msg.part_at(&[1, 1]).map(Part::body), Some(&b"hi"[..]));
    }

    #[test]
    fn part_at_follows_imap_numbering() {
        let data = b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nA\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\nB\r\n--i\r\n\r\nC\r\n--i--\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: s\r\n\r\nD\r\n--o--\r\n";
        let msg = Message::parse(data);
        let body = |s: &[u32]| msg.part_at(s).map(Part::body);
        assert_eq!(body(&[1]), Some(&b"A"[..]));
        assert!(msg.part_at(&[2]).unwrap().content_type().is("message", "rfc822"));
        assert_eq!(body(&[2, 1]), Some(&b"B"[..]));
        assert_eq!(body(&[2, 2]), Some(&b"C"[..]));
        assert_eq!(body(&[3, 1]), Some(&b"D"[..]));
        assert_eq!(body(&[3, 2]), None);
        assert_eq!(body(&[1, 1]), None);
        assert_eq!(msg.parts().count(), 8);
    }

    #[test]
    fn encoded_message_rfc822_is_not_parsed() {
        let data = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQpoaQ==\r\n";
        let msg = Message::parse(data);
        assert!(matches!(msg.root().body_structure(), Body::Single));
        assert_eq!(msg.root().decoded_body().as_ref(), b"Subject: x\r\n\r\nhi");
    }

    #[test]
    fn depth_limit() {
        let mut data = Vec::new();
        for i in 0..MAX_DEPTH + 10 {
            data.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        data.extend_from_slice(b"\r\nleaf\r\n");
        let msg = Message::parse(&data);
        let deepest = msg.parts().count();
        assert_eq!(deepest, MAX_DEPTH + 1);
    }

    #[test]
    fn part_limit() {
        let mut data = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for _ in 0..MAX_PARTS + 100 {
            data.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        let msg = Message::parse(&data);
        assert_eq!(msg.parts().count(), MAX_PARTS);
        assert_eq!(msg.root().body_end(), data.len());
        let last = msg.root().parts().last().unwrap();
        assert_eq!(last.body_end(), data.len());
    }

    #[test]
    fn text_decoding() {
        let cases: [(&[u8], &str); 6] = [
            (b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9", "café"),
            (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nY2Fmw6k=", "café"),
            (b"Content-Type: text/plain; charset=windows-1251\r\n\r\n\xf1\xef\xe0\xf1\xe8\xe1\xee", "спасибо"),
            (b"Content-Type: text/plain\r\n\r\ncaf\xe9", "café"),
            (b"Content-Type: text/plain; charset=utf-8\r\n\r\ncaf\xe9", "caf\u{fffd}"),
            (b"Content-Type: text/plain; charset=x-unknown\r\n\r\ncaf\xc3\xa9", "café"),
        ];
        for (data, want) in cases {
            assert_eq!(Message::parse(data).root().decoded_text(), want);
        }
    }

    #[test]
    fn content_fields() {
        let data = b"Content-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\r\nContent-ID: <part1@x>\r\nContent-Description: =?utf-8?q?d=C3=A9?=\r\nContent-Language: en, de\r\nContent-Location: http://x/\r\n a.pdf\r\nContent-MD5: abc=\r\n\r\n";
        let msg = Message::parse(data);
        let p = msg.root();
        assert_eq!(p.filename().as_deref(), Some("résumé.pdf"));
        assert_eq!(p.content_id().unwrap().as_str(), "part1@x");
        assert_eq!(p.content_description().as_deref(), Some("dé"));
        assert_eq!(p.content_language(), ["en", "de"]);
        assert_eq!(p.content_location().as_deref(), Some("http://x/a.pdf"));
        assert_eq!(p.content_md5().as_deref(), Some("abc="));
        assert!(p.content_disposition().is_none());
        assert_eq!(p.line_count(), 0);
    }
}
