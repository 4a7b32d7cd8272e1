//! Modified UTF-7 (RFC 3501 §5.1.3): how IMAP4rev1 clients that did not enable UTF8=ACCEPT
//! spell mailbox names with non-ASCII characters (`Entw&APw-rfe` for `Entwürfe`).
//!
//! Printable ASCII stands for itself except `&`, written `&-`; everything else is UTF-16 in a
//! modified base64 (`,` instead of `/`, no padding) between `&` and `-`.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Why a name is not valid modified UTF-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf7Error {
    /// A character outside printable ASCII appeared unencoded.
    NotAscii,
    /// A byte in a shifted section is not in the modified base64 alphabet.
    BadBase64,
    /// A shifted section does not end with `-`.
    Unterminated,
    /// A shifted section decodes to an odd number of bytes, or leftover bits are not zero.
    BadLength,
    /// Unpaired UTF-16 surrogate.
    BadSurrogate,
    /// A shifted section encodes only printable ASCII, or two shifted sections are adjacent:
    /// RFC 3501 forbids both, as they make one name have several spellings.
    NotCanonical,
}

impl fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Utf7Error::NotAscii => "non-ASCII character in modified UTF-7",
            Utf7Error::BadBase64 => "bad base64 in modified UTF-7",
            Utf7Error::Unterminated => "unterminated shift in modified UTF-7",
            Utf7Error::BadLength => "bad length of shifted modified UTF-7",
            Utf7Error::BadSurrogate => "bad UTF-16 surrogate in modified UTF-7",
            Utf7Error::NotCanonical => "modified UTF-7 not in its canonical form",
        })
    }
}

impl std::error::Error for Utf7Error {}

/// Encodes a Unicode mailbox name as modified UTF-7.
///
/// ```
/// assert_eq!(imapserver::utf7::encode("Entwürfe & Co"), "Entw&APw-rfe &- Co");
/// assert_eq!(imapserver::utf7::decode("Entw&APw-rfe &- Co").unwrap(), "Entwürfe & Co");
/// ```
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, pending: &mut Vec<u16>) {
    if pending.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out.push('-');
    pending.clear();
}

/// Decodes a modified UTF-7 mailbox name, strictly (only the canonical spelling is accepted).
pub fn decode(name: &str) -> Result<String, Utf7Error> {
    let b = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    let mut last_shift_end = usize::MAX;
    while i < b.len() {
        let c = b[i];
        if !(0x20..=0x7e).contains(&c) {
            return Err(Utf7Error::NotAscii);
        }
        if c != b'&' {
            out.push(c as char);
            i += 1;
            continue;
        }
        let end = b[i + 1..].iter().position(|&c| c == b'-').ok_or(Utf7Error::Unterminated)?;
        let section = &b[i + 1..i + 1 + end];
        if section.is_empty() {
            out.push('&');
            i += 2;
            continue;
        }
        if last_shift_end == i {
            return Err(Utf7Error::NotCanonical);
        }
        let units = decode_base64(section)?;
        let decoded = char::decode_utf16(units.iter().copied())
            .collect::<Result<String, _>>()
            .map_err(|_| Utf7Error::BadSurrogate)?;
        if decoded.chars().any(|c| (' '..='~').contains(&c)) {
            return Err(Utf7Error::NotCanonical);
        }
        out.push_str(&decoded);
        i += end + 2;
        last_shift_end = i;
    }
    Ok(out)
}

fn decode_base64(section: &[u8]) -> Result<Vec<u16>, Utf7Error> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut bytes = Vec::with_capacity(section.len() * 3 / 4);
    for &c in section {
        let v = ALPHABET.iter().position(|&a| a == c).ok_or(Utf7Error::BadBase64)? as u32;
        bits = bits << 6 | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    if bits != 0 || nbits >= 6 || bytes.len() % 2 != 0 {
        return Err(Utf7Error::BadLength);
    }
    Ok(bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語".
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(), name);
    }

    #[test]
    fn round_trips() {
        for s in ["", "INBOX", "a&b", "&", "Entwürfe", "😀 emoji", "ö&ü", "x\u{1F600}y\u{e9}"]
        {
            assert_eq!(decode(&encode(s)).unwrap(), s, "{s:?}");
        }
    }

    #[test]
    fn rejects_non_canonical() {
        assert_eq!(decode("&AGE-"), Err(Utf7Error::NotCanonical), "encoded ASCII 'a'");
        assert_eq!(decode("&APw-&APw-"), Err(Utf7Error::NotCanonical), "adjacent shifts");
        assert_eq!(decode("&APw"), Err(Utf7Error::Unterminated));
        assert_eq!(decode("&A/w-"), Err(Utf7Error::BadBase64));
        assert_eq!(decode("&AP-"), Err(Utf7Error::BadLength));
        assert_eq!(decode("é"), Err(Utf7Error::NotAscii));
        assert_eq!(decode("&2D0-"), Err(Utf7Error::BadSurrogate));
    }
}
