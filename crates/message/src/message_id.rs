//! Message-ID, In-Reply-To and References (RFC 5322 §3.6.4).
//!
//! ```text
//! msg-id   = [CFWS] "<" id-left "@" id-right ">" [CFWS]
//! id-left  = dot-atom-text / obs-id-left
//! id-right = dot-atom-text / no-fold-literal / obs-id-right
//! references  = "References:" 1*msg-id CRLF
//! in-reply-to = "In-Reply-To:" 1*msg-id CRLF
//! ```

use std::fmt;

use crate::Error;

/// A message identifier, without its angle brackets: `<1234@local.machine.example>` is
/// `1234@local.machine.example`.
///
/// Comparison is exact. Real mail has ids without `@` and with odd characters; those are kept as
/// they are; whitespace and comments inside the brackets (obsolete syntax, RFC 5322 §4.5.4)
/// are removed, and control characters and angle brackets cannot occur in the value.
///
/// ```
/// let id = message::MessageId::parse(b" <1234@local.machine.example> (comment)")?;
/// assert_eq!(id.as_str(), "1234@local.machine.example");
/// assert_eq!(id.to_string(), "<1234@local.machine.example>");
/// # Ok::<(), message::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(Box<str>);

impl MessageId {
    /// Parses a Message-ID value: one `<...>` with optional comments and whitespace around it.
    /// Without angle brackets, a single bare token (`id@host`) is accepted, as some mailers
    /// write that.
    pub fn parse(value: &[u8]) -> Result<MessageId, Error> {
        let err = |expected, position| Error::Syntax { what: "message-id", expected, position };
        let mut pos = skip_cfws(value, 0);
        let (start, end) = if value.get(pos) == Some(&b'<') {
            let start = pos + 1;
            let len =
                value[start..].iter().position(|&b| b == b'>').ok_or(err("\">\"", value.len()))?;
            pos = start + len + 1;
            (start, start + len)
        } else {
            let start = pos;
            while pos < value.len() && !value[pos].is_ascii_whitespace() && value[pos] != b'(' {
                pos += 1;
            }
            (start, pos)
        };
        let id = id_text(value, start, end)?;
        pos = skip_cfws(value, pos);
        if pos < value.len() {
            return Err(err("end of message-id", pos));
        }
        Ok(id)
    }

    /// Every `<...>` id in a References or In-Reply-To value, in order. Text outside angle
    /// brackets (obsolete phrases, comments) is skipped, and malformed ids are left out, so this
    /// never fails.
    ///
    /// ```
    /// let ids = message::MessageId::parse_list(b"<a@x> (c)\r\n <b@y> \"phrase\" <> <unclosed");
    /// assert_eq!(ids.iter().map(|i| i.as_str()).collect::<Vec<_>>(), ["a@x", "b@y"]);
    /// ```
    pub fn parse_list(value: &[u8]) -> Vec<MessageId> {
        let mut ids = Vec::new();
        let mut pos = 0;
        while let Some(open) = memchr::memchr(b'<', &value[pos..]) {
            let start = pos + open + 1;
            let Some(len) = value[start..].iter().position(|&b| b == b'>' || b == b'<') else {
                break;
            };
            pos = start + len;
            if value[pos] == b'>' {
                pos += 1;
                if let Ok(id) = id_text(value, start, start + len) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// The id without angle brackets.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Writes the id in angle brackets, as it appears in a header.
impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId(<{}>)", self.0)
    }
}

fn id_text(value: &[u8], start: usize, end: usize) -> Result<MessageId, Error> {
    let err = |expected, position| Error::Syntax { what: "message-id", expected, position };
    let raw = &value[start..end];
    // RFC 5322 §4.5.4 obs-id-left/obs-id-right: CFWS between the words is not part of the id.
    let stripped;
    let raw = if raw.iter().any(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'(')) {
        stripped = strip_cfws(raw);
        &stripped[..]
    } else {
        raw
    };
    if raw.is_empty() {
        return Err(err("id", start));
    }
    if let Some(i) =
        raw.iter().position(|&b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'<')
    {
        return Err(err("id without whitespace", start + i));
    }
    let text =
        std::str::from_utf8(raw).map_err(|e| Error::Utf8 { position: start + e.valid_up_to() })?;
    Ok(MessageId(text.into()))
}

/// Removes whitespace and comments outside quoted strings.
fn strip_cfws(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        match b {
            b'\\' if depth > 0 => i += 1,
            b'(' if !quoted => depth += 1,
            b')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            b'"' => {
                quoted = !quoted;
                out.push(b);
            }
            b' ' | b'\t' | b'\r' | b'\n' if !quoted => {}
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn skip_cfws(s: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&b) = s.get(pos) {
        match b {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b'\\' if depth > 0 => pos += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if depth > 0 => {}
            _ => return pos,
        }
        pos += 1;
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5322_appendix_a_ids() {
        let id = MessageId::parse(b"<1234@local.machine.example>").unwrap();
        assert_eq!(id.as_str(), "1234@local.machine.example");
        let refs = MessageId::parse_list(b"<1234@local.machine.example>\r\n  <3456@example.net>");
        assert_eq!(
            refs.iter().map(MessageId::as_str).collect::<Vec<_>>(),
            ["1234@local.machine.example", "3456@example.net"]
        );
        // A.6.1: obsolete In-Reply-To with a phrase.
        let refs = MessageId::parse_list(b"<3456@example.net> Joe's message");
        assert_eq!(refs.len(), 1);
    }

    #[test]
    fn lenient_ids() {
        assert_eq!(MessageId::parse(b"no-at-sign-here").unwrap().as_str(), "no-at-sign-here");
        assert_eq!(MessageId::parse(b"<no-at>").unwrap().as_str(), "no-at");
        assert_eq!(MessageId::parse(b"(c) <a@[1.2.3.4]> (d)").unwrap().as_str(), "a@[1.2.3.4]");
        assert_eq!(MessageId::parse("<ü@x>".as_bytes()).unwrap().as_str(), "ü@x");
        // RFC 5322 A.6.3: obsolete CFWS inside the id.
        let id = MessageId::parse(b"<1234   @   local(blah)  .machine .example>").unwrap();
        assert_eq!(id.as_str(), "1234@local.machine.example");
    }

    #[test]
    fn errors() {
        let cases: [(&[u8], usize); 6] = [
            (b"", 0),
            (b"<>", 1),
            (b"<a\x01b@x>", 2),
            (b"<a@x", 4),
            (b"<a@x> <b@y>", 6),
            (b"<a\xff@x>", 2),
        ];
        for (input, position) in cases {
            let got = match MessageId::parse(input) {
                Err(Error::Syntax { position, .. } | Error::Utf8 { position }) => position,
                other => panic!("{input:?}: {other:?}"),
            };
            assert_eq!(got, position, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn list_skips_broken_ids() {
        let ids = MessageId::parse_list(b"<a@x> <b\x01y> <<c@z> <unterminated");
        assert_eq!(ids.iter().map(MessageId::as_str).collect::<Vec<_>>(), ["a@x", "c@z"]);
        assert!(MessageId::parse_list(b"").is_empty());
    }
}
