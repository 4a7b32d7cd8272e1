//! The MIME structure of a stored message, parsed once at delivery (by the `message` crate) and
//! kept in the database: what IMAP needs for `BODYSTRUCTURE` and to serve `BODY[section]`
//! without parsing the message again.
//!
//! Stored with serde in postcard's compact encoding (varint integers, length-prefixed strings):
//! a typical single-part text message takes about 40 bytes. The envelope is not stored: its
//! fields are in the header sections, whose offsets are here.

use serde::{Deserialize, Serialize};

/// One MIME entity: the message itself, a part of a multipart, or a message inside a
/// message/rfc822 part. Offsets are byte offsets into the message as served (the delivery
/// prefix followed by the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Offset of the part's header section.
    pub header_offset: u64,
    /// Offset of the part's body (after the blank line ending the header).
    pub body_offset: u64,
    /// Offset just past the body.
    pub body_end: u64,
    /// Media type, lowercased (`text`, `multipart`, ...).
    pub media_type: String,
    /// Subtype, lowercased (`plain`, `mixed`, ...).
    pub subtype: String,
    /// Content-Type parameters (RFC 2231 continuations joined and decoded).
    pub params: Vec<Param>,
    /// Content-ID as written (with angle brackets).
    pub content_id: Option<String>,
    /// Content-Description as written (encoded words not decoded, as IMAP returns it).
    pub description: Option<String>,
    /// Content-Transfer-Encoding, lowercased (`7bit` when absent).
    pub transfer_encoding: String,
    /// Lines in the body (IMAP `body-fld-lines`).
    pub lines: u64,
    /// Content-MD5 as written.
    pub md5: Option<String>,
    /// Content-Disposition.
    pub disposition: Option<Disposition>,
    /// Content-Language tags.
    pub language: Vec<String>,
    /// Content-Location.
    pub location: Option<String>,
    /// What the part contains.
    pub body: PartBody,
}

/// A parameter of a Content-Type or Content-Disposition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Name, lowercased.
    pub name: String,
    /// Value.
    pub value: String,
    /// RFC 2231 language tag, if given.
    pub language: Option<String>,
}

/// A Content-Disposition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    /// `inline`, `attachment`, ..., lowercased.
    pub kind: String,
    /// Its parameters.
    pub params: Vec<Param>,
}

/// The contents of a [`Part`] besides its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartBody {
    /// A leaf part.
    Single,
    /// A multipart's parts.
    Multipart(Vec<Part>),
    /// The message inside a message/rfc822 part.
    Message(Box<Part>),
}

impl Part {
    /// Parses `data` (a message file) with the message crate.
    pub fn parse(data: &[u8]) -> Part {
        let msg = message::Message::parse(data);
        Part::from_message_part(msg.root())
    }

    fn from_message_part(p: &message::Part<'_>) -> Part {
        let h = p.header();
        let value = |name: &str| h.value(name).map(|v| v.trim().to_string());
        let ct = p.content_type();
        let body = match p.body_structure() {
            message::Body::Multipart { parts, .. } => {
                PartBody::Multipart(parts.iter().map(Part::from_message_part).collect())
            }
            message::Body::Message(m) => PartBody::Message(Box::new(Part::from_message_part(m))),
            _ => PartBody::Single,
        };
        Part {
            header_offset: p.header_offset() as u64,
            body_offset: p.body_offset() as u64,
            body_end: p.body_end() as u64,
            media_type: ct.media_type.clone(),
            subtype: ct.subtype.clone(),
            params: ct.params.iter().map(Param::from).collect(),
            content_id: value("Content-ID"),
            description: value("Content-Description"),
            transfer_encoding: p.transfer_encoding().as_str().to_string(),
            lines: p.line_count() as u64,
            md5: p.content_md5(),
            disposition: p.content_disposition().map(|d| Disposition {
                kind: d.kind.clone(),
                params: d.params.iter().map(Param::from).collect(),
            }),
            language: p.content_language(),
            location: p.content_location(),
            body,
        }
    }

    /// The part with an IMAP section number (RFC 9051 §6.4.5), like
    /// `message::Message::part_at`: `[]` is the message, `[1, 2]` is "1.2".
    pub fn part_at(&self, section: &[u32]) -> Option<&Part> {
        let mut current = self;
        let mut is_message = true;
        for &n in section {
            let index = usize::try_from(n).ok()?.checked_sub(1)?;
            if let (PartBody::Message(inner), false) = (&current.body, is_message) {
                current = inner;
                is_message = true;
            }
            match &current.body {
                PartBody::Multipart(parts) => {
                    current = parts.get(index)?;
                    is_message = false;
                }
                _ if is_message && index == 0 => is_message = false,
                _ => return None,
            }
        }
        Some(current)
    }

    /// Adds `delta` to every offset, except the root's header offset that stays 0: the offsets
    /// of a file's structure, moved behind a prefix of `delta` header bytes.
    pub(crate) fn shift(&mut self, delta: u64) {
        fn walk(p: &mut Part, delta: u64) {
            p.header_offset += delta;
            p.body_offset += delta;
            p.body_end += delta;
            match &mut p.body {
                PartBody::Multipart(parts) => parts.iter_mut().for_each(|c| walk(c, delta)),
                PartBody::Message(m) => walk(m, delta),
                PartBody::Single => {}
            }
        }
        walk(self, delta);
        self.header_offset = 0;
    }
}

impl From<&message::Param> for Param {
    fn from(p: &message::Param) -> Param {
        Param { name: p.name.clone(), value: p.value.clone(), language: p.language.clone() }
    }
}

/// Parses and serializes the structure of a message file.
pub(crate) fn encode_structure(data: &[u8]) -> Vec<u8> {
    crate::codec::encode(&Part::parse(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Subject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\none\r\nline two\r\n\
--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=m.eml\r\n\r\n\
Subject: inner\r\n\r\ninner body\r\n\
--b--\r\n";

    #[test]
    fn structure_of_nested_message() {
        let p = Part::parse(MSG);
        assert_eq!((p.media_type.as_str(), p.subtype.as_str()), ("multipart", "mixed"));
        let PartBody::Multipart(parts) = &p.body else { panic!("{p:?}") };
        assert_eq!(parts.len(), 2);
        let text = p.part_at(&[1]).unwrap();
        assert_eq!(&MSG[text.body_offset as usize..text.body_end as usize], b"one\r\nline two");
        assert_eq!(text.lines, 2);
        assert_eq!(
            text.params[0],
            Param { name: "charset".into(), value: "utf-8".into(), language: None }
        );
        let att = p.part_at(&[2]).unwrap();
        assert_eq!(att.disposition.as_ref().unwrap().kind, "attachment");
        let inner = p.part_at(&[2, 1]).unwrap();
        assert_eq!(&MSG[inner.body_offset as usize..inner.body_end as usize], b"inner body");
        assert!(p.part_at(&[3]).is_none());

        // Round trip through the stored encoding.
        let enc = encode_structure(MSG);
        assert_eq!(crate::codec::decode::<Part>(&enc).unwrap(), p);
        let one = encode_structure(b"Subject: x\r\n\r\nbody\r\n");
        assert!(one.len() < 48, "{} bytes for a one-part message", one.len());
    }

    #[test]
    fn shift_moves_offsets_behind_prefix() {
        let mut p = Part::parse(MSG);
        let b = p.part_at(&[1]).unwrap().body_offset;
        p.shift(10);
        assert_eq!(p.header_offset, 0);
        assert_eq!(p.part_at(&[1]).unwrap().body_offset, b + 10);
    }
}
