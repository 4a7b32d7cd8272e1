//! Entry points for the fuzz targets in `fuzz/` and for the corpus tests: each parses its input
//! and asserts the invariants that must hold for any input. Not a stable API.

use crate::{
    Body, DateTime, Header, Message, MessageId, Part, decode_encoded_words, encode_encoded_words,
    parse_address_list,
};

/// Parses a whole message, checks every offset, and decodes every part.
///
/// # Panics
///
/// If an invariant does not hold: that is a bug in this crate.
pub fn message_parse(data: &[u8]) {
    let msg = Message::parse(data);
    check_part(data, msg.root(), 0, data.len());
    for part in msg.parts() {
        let _ = part.decoded_body();
        let _ = part.decoded_text();
        let _ = part.filename();
        let _ = part.content_id();
        let _ = part.content_description();
        let _ = part.content_language();
        let _ = part.content_location();
        let lines = part.line_count();
        assert!(lines <= part.body().len());
    }
    let header = msg.header();
    let _ = header.from_mailboxes();
    let _ = header.address_list("To");
    for field in header {
        let _ = field.decoded_value();
    }
    if let Some(date) = header.get("Date") {
        let _ = DateTime::parse(date.raw_value());
    }
    if let Some(id) = header.get("Message-ID") {
        let _ = MessageId::parse(id.raw_value());
    }
    for section in [&[1][..], &[1, 1], &[2, 1, 1], &[1, 2, 3]] {
        if let Some(part) = msg.part_at(section) {
            assert!(part.body_end() <= data.len());
        }
    }
}

/// Parses an address list and, if it parses, checks that its Display form parses to the same.
///
/// # Panics
///
/// If an invariant does not hold.
pub fn address_list(data: &[u8]) {
    let Ok(list) = parse_address_list(data) else { return };
    let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
    let shown = shown.join(", ");
    match parse_address_list(shown.as_bytes()) {
        Ok(again) => assert_eq!(again, list, "{shown:?}"),
        Err(e) => panic!("{shown:?} does not parse: {e}"),
    }
}

/// Round trips of the encoders: dates, encoded words and address lists.
///
/// # Panics
///
/// If a round trip does not give back what was encoded.
pub fn header_roundtrip(data: &[u8]) {
    address_list(data);
    if let Ok(date) = DateTime::parse(data) {
        let shown = date.to_string();
        assert_eq!(DateTime::parse(shown.as_bytes()), Ok(date), "{shown:?}");
    }
    let text = String::from_utf8_lossy(data);
    let encoded = encode_encoded_words(&text);
    assert_eq!(decode_encoded_words(&encoded), text, "{encoded:?}");
    let header = Header::parse(data);
    for field in &header {
        assert_eq!(&data[field.offset()..field.offset() + field.raw().len()], field.raw());
    }
}

/// Checks a part's offsets against its parent's body range `[start, end)`, then its children.
fn check_part(data: &[u8], part: &Part<'_>, start: usize, end: usize) {
    let (h, b, e) = (part.header_offset(), part.body_offset(), part.body_end());
    assert!(
        start <= h && h <= b && b <= e && e <= end,
        "part {h}..{b}..{e} outside {start}..{end}"
    );
    assert!(end <= data.len());
    assert_eq!(part.raw().len(), e - h);
    assert_eq!(part.raw_header().len() + part.body().len(), e - h);
    let header = part.header();
    let mut at = h;
    for field in header {
        assert!(field.offset() >= at, "field at {} before {at}", field.offset());
        at = field.offset() + field.raw().len();
        assert!(at <= b, "field ends at {at} after body offset {b}");
        assert_eq!(&data[field.offset()..at], field.raw());
        assert!(field.raw().starts_with(field.name().as_bytes()));
        assert!(field.raw_value().len() < field.raw().len());
    }
    match part.body_structure() {
        Body::Single => {}
        Body::Message(inner) => {
            assert_eq!(inner.header_offset(), b);
            assert_eq!(inner.body_end(), e);
            check_part(data, inner, b, e);
        }
        Body::Multipart { parts, preamble, epilogue, closed } => {
            assert_eq!(preamble.start, b);
            assert!(preamble.start <= preamble.end && preamble.end <= e);
            assert!(epilogue.start <= epilogue.end && epilogue.end == e);
            if !closed {
                assert!(epilogue.is_empty());
            }
            // Between the preamble or a part and the next part lies a delimiter line, at
            // least "--" and the boundary long.
            let delimiter_len = part.content_type().boundary().map_or(0, |b| b.len() + 2);
            let mut at = preamble.end;
            for child in parts {
                assert!(
                    child.header_offset() >= at + delimiter_len,
                    "child at {} before {at} + {delimiter_len}",
                    child.header_offset()
                );
                check_part(data, child, b, e);
                at = child.body_end();
            }
            assert!(
                at <= epilogue.start,
                "last child ends at {at} after epilogue {}",
                epilogue.start
            );
        }
    }
}
