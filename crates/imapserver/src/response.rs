//! Writing responses: strings quoted or as literals as their bytes require, mailbox names in
//! UTF-8 or modified UTF-7, status responses with their codes.
//!
//! ```text
//! quoted          = DQUOTE *QUOTED-CHAR DQUOTE
//! QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials /
//!                   UTF8-2 / UTF8-3 / UTF8-4      ; UTF-8 only after ENABLE IMAP4rev2/UTF8=ACCEPT
//! literal         = "{" number64 "}" CRLF *CHAR8
//! literal8        = "~{" number64 "}" CRLF *OCTET
//! ```

use crate::parse::is_astring_char;
use crate::seqset::push_u64;

/// Longest string sent quoted; longer ones go as literals (easier on clients' line buffers).
const MAX_QUOTED: usize = 1024;

/// Writes `b` as an IMAP `string`: quoted when it can be, else a literal. `utf8`: the client
/// accepts UTF-8 in quoted strings.
pub fn string(out: &mut Vec<u8>, b: &[u8], utf8: bool) {
    if quotable(b, utf8) {
        quoted(out, b);
    } else {
        literal(out, b, false);
    }
}

/// Writes `b` as an `astring`: a bare atom when it is one, else a string.
pub fn astring(out: &mut Vec<u8>, b: &[u8], utf8: bool) {
    if !b.is_empty() && b.iter().all(|&c| is_astring_char(c)) && !b.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(b);
    } else {
        string(out, b, utf8);
    }
}

/// Writes an `nstring`: `NIL` for `None`.
pub fn nstring(out: &mut Vec<u8>, b: Option<&[u8]>, utf8: bool) {
    match b {
        Some(b) => string(out, b, utf8),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Writes a literal (`~{n}` for literal8).
pub fn literal(out: &mut Vec<u8>, b: &[u8], binary: bool) {
    literal_header(out, b.len() as u64, binary);
    out.extend_from_slice(b);
}

/// Writes the announcement of a literal of `len` bytes, whose data the caller writes next.
pub fn literal_header(out: &mut Vec<u8>, len: u64, binary: bool) {
    if binary {
        out.push(b'~');
    }
    out.push(b'{');
    push_u64(out, len);
    out.extend_from_slice(b"}\r\n");
}

fn quotable(b: &[u8], utf8: bool) -> bool {
    if b.len() > MAX_QUOTED {
        return false;
    }
    if b.iter().any(|&c| c == 0 || c == b'\r' || c == b'\n') {
        return false;
    }
    if b.is_ascii() {
        return true;
    }
    utf8 && std::str::from_utf8(b).is_ok()
}

/// Writes a quoted string; `b` must be quotable.
pub fn quoted(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'"');
    for &c in b {
        if c == b'"' || c == b'\\' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// The name of a mailbox as shown to clients: the store's `Inbox` is `INBOX` (also as the
/// first level of a child's name), in modified UTF-7 for clients without UTF-8 (RFC 3501
/// §5.1.3).
pub fn mailbox_display(name: &str, utf8: bool) -> String {
    let name = if name == "Inbox" {
        "INBOX".to_string()
    } else if let Some(rest) = name.strip_prefix("Inbox/") {
        format!("INBOX/{rest}")
    } else {
        name.to_string()
    };
    if utf8 { name } else { crate::utf7::encode(&name) }
}

/// Writes a mailbox name (as [`mailbox_display`]) as an astring.
pub fn mailbox(out: &mut Vec<u8>, name: &str, utf8: bool) {
    let n = mailbox_display(name, utf8);
    if n == "INBOX" {
        out.extend_from_slice(b"INBOX");
    } else {
        // Quoted even when it would be an atom: clients handle that best.
        string(out, n.as_bytes(), utf8);
    }
}

/// Writes human-readable response text, replacing what text may not contain (line ends) and,
/// for clients without UTF-8, non-ASCII characters.
pub fn text(out: &mut Vec<u8>, s: &str, utf8: bool) {
    for c in s.chars() {
        match c {
            '\r' | '\n' | '\0' => out.push(b' '),
            c if c.is_ascii() => out.push(c as u8),
            c if utf8 => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => out.push(b'?'),
        }
    }
}

/// Writes a flag list: `(\Seen $Junk)`.
pub fn flags(out: &mut Vec<u8>, flags: &store::Flags, recent: bool) {
    out.push(b'(');
    let mut first = true;
    for n in flags.system.names() {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(n.as_bytes());
    }
    for k in &flags.keywords {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(k.as_str().as_bytes());
    }
    if recent {
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(b"\\Recent");
    }
    out.push(b')');
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Writes an IMAP `date-time` (quoted): `"17-Jul-1996 02:44:25 -0700"`.
pub fn date_time(out: &mut Vec<u8>, t: store::Timestamp) {
    let local = t.unix + i64::from(t.offset_minutes) * 60;
    let days = local.div_euclid(86400);
    let secs = local.rem_euclid(86400);
    let (y, m, d) = message::calendar::civil_from_days(days);
    let off = i32::from(t.offset_minutes);
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    let s = format!(
        "\"{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}\"",
        d,
        MONTHS[(m as usize).saturating_sub(1) % 12],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        sign,
        off / 60,
        off % 60
    );
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings() {
        assert_eq!(s(|o| string(o, b"a \"b\" \\", false)), "\"a \\\"b\\\" \\\\\"");
        assert_eq!(s(|o| string(o, b"a\r\nb", false)), "{4}\r\na\r\nb");
        assert_eq!(s(|o| string(o, "é".as_bytes(), false)), "{2}\r\né");
        assert_eq!(s(|o| string(o, "é".as_bytes(), true)), "\"é\"");
        assert_eq!(s(|o| astring(o, b"abc", false)), "abc");
        assert_eq!(s(|o| astring(o, b"nil", false)), "\"nil\"");
        assert_eq!(s(|o| astring(o, b"", false)), "\"\"");
        assert_eq!(s(|o| nstring(o, None, false)), "NIL");
        assert_eq!(s(|o| literal(o, b"\0x", true)), "~{2}\r\n\0x");
    }

    #[test]
    fn mailbox_names() {
        assert_eq!(s(|o| mailbox(o, "Inbox", false)), "INBOX");
        assert_eq!(s(|o| mailbox(o, "Inbox/Sub", false)), "\"INBOX/Sub\"");
        assert_eq!(s(|o| mailbox(o, "Entwürfe", false)), "\"Entw&APw-rfe\"");
        assert_eq!(s(|o| mailbox(o, "Entwürfe", true)), "\"Entwürfe\"");
    }

    #[test]
    fn dates() {
        let t = store::Timestamp { unix: 837_596_665, offset_minutes: -420 };
        assert_eq!(s(|o| date_time(o, t)), "\"17-Jul-1996 02:44:25 -0700\"");
        assert_eq!(
            s(|o| date_time(o, store::Timestamp::from_unix(0))),
            "\"01-Jan-1970 00:00:00 +0000\""
        );
    }
}
