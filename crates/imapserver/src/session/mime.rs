//! FETCH data from a message's stored MIME structure: BODYSTRUCTURE and BODY (RFC 9051
//! §7.5.2), ENVELOPE, the byte ranges of `BODY[section]`, BINARY decoding (RFC 3516) and
//! PREVIEW text (RFC 8970).

use std::ops::Range;

use store::structure::{Part, PartBody};

use crate::command::{Section, SectionText};
use crate::response::{nstring, string};
use crate::seqset::push_u64;

/// Writes the structure of `part` (BODYSTRUCTURE when `extensible`, else BODY). `header` reads
/// the header section of an embedded message (for its envelope).
pub(crate) fn body_structure(
    out: &mut Vec<u8>,
    part: &Part,
    extensible: bool,
    utf8: bool,
    header: &mut dyn FnMut(&Part) -> Vec<u8>,
) {
    out.push(b'(');
    match &part.body {
        PartBody::Multipart(parts) => {
            // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
            if parts.is_empty() {
                // A multipart without parts (broken message): one empty text part, as a
                // multipart needs at least one.
                out.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
            }
            for p in parts {
                body_structure(out, p, extensible, utf8, header);
            }
            out.push(b' ');
            string(out, part.subtype.to_ascii_uppercase().as_bytes(), utf8);
            if extensible {
                out.push(b' ');
                params(out, &part.params, utf8);
                out.push(b' ');
                extension_tail(out, part, utf8);
            }
        }
        body => {
            string(out, part.media_type.to_ascii_uppercase().as_bytes(), utf8);
            out.push(b' ');
            string(out, part.subtype.to_ascii_uppercase().as_bytes(), utf8);
            out.push(b' ');
            params(out, &part.params, utf8);
            out.push(b' ');
            nstring(out, part.content_id.as_deref().map(str::as_bytes), utf8);
            out.push(b' ');
            nstring(out, part.description.as_deref().map(str::as_bytes), utf8);
            out.push(b' ');
            string(out, part.transfer_encoding.to_ascii_uppercase().as_bytes(), utf8);
            out.push(b' ');
            push_u64(out, part.body_end.saturating_sub(part.body_offset));
            match body {
                PartBody::Message(inner) => {
                    out.push(b' ');
                    let h = header(inner);
                    envelope(out, &h, utf8);
                    out.push(b' ');
                    body_structure(out, inner, extensible, utf8, header);
                    out.push(b' ');
                    push_u64(out, part.lines);
                }
                _ if part.media_type == "text" => {
                    out.push(b' ');
                    push_u64(out, part.lines);
                }
                _ => {}
            }
            if extensible {
                out.push(b' ');
                nstring(out, part.md5.as_deref().map(str::as_bytes), utf8);
                out.push(b' ');
                extension_tail(out, part, utf8);
            }
        }
    }
    out.push(b')');
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc`
fn extension_tail(out: &mut Vec<u8>, part: &Part, utf8: bool) {
    match &part.disposition {
        Some(d) => {
            out.push(b'(');
            string(out, d.kind.to_ascii_uppercase().as_bytes(), utf8);
            out.push(b' ');
            params(out, &d.params, utf8);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    match part.language.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => string(out, one.as_bytes(), utf8),
        many => {
            out.push(b'(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, l.as_bytes(), utf8);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    nstring(out, part.location.as_deref().map(str::as_bytes), utf8);
}

/// `body-fld-param`: `("CHARSET" "utf-8" ...)` or NIL. RFC 2231 parameters were decoded by
/// the parser; their values are sent as UTF-8 (as literals to clients without UTF-8).
fn params(out: &mut Vec<u8>, params: &[store::structure::Param], utf8: bool) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, p.name.to_ascii_uppercase().as_bytes(), utf8);
        out.push(b' ');
        string(out, p.value.as_bytes(), utf8);
    }
    out.push(b')');
}

/// Writes the ENVELOPE of a message from its header section (RFC 9051 §7.5.2): date, subject,
/// from, sender, reply-to, to, cc, bcc, in-reply-to, message-id. Values are as in the header
/// (unfolded, encoded words left for the client), addresses split into their parts.
pub(crate) fn envelope(out: &mut Vec<u8>, header: &[u8], utf8: bool) {
    let h = message::Header::parse(header);
    let value = |name: &str| -> Option<Vec<u8>> {
        h.get(name).map(|f| unfold(f.raw_value()).trim_ascii().to_vec())
    };
    out.push(b'(');
    nstring(out, value("Date").as_deref(), utf8);
    out.push(b' ');
    nstring(out, value("Subject").as_deref(), utf8);
    let from = value("From");
    for (i, name) in ["From", "Sender", "Reply-To", "To", "Cc", "Bcc"].iter().enumerate() {
        out.push(b' ');
        let v = value(name);
        // Sender and Reply-To default to From (RFC 9051 §7.5.2).
        let v = match (&v, i) {
            (None, 1 | 2) => from.clone(),
            (Some(x), 1 | 2) if x.is_empty() => from.clone(),
            _ => v,
        };
        address_list(out, v.as_deref().unwrap_or(b""), utf8);
    }
    out.push(b' ');
    nstring(out, value("In-Reply-To").as_deref(), utf8);
    out.push(b' ');
    nstring(out, value("Message-ID").as_deref(), utf8);
    out.push(b')');
}

fn unfold(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    for &c in v {
        if c != b'\r' && c != b'\n' {
            out.push(c);
        }
    }
    out
}

/// An address of an envelope: `(name adl mailbox host)`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EnvAddress {
    pub name: Option<Vec<u8>>,
    pub adl: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

fn address_list(out: &mut Vec<u8>, value: &[u8], utf8: bool) {
    let addrs = parse_addresses(value);
    if addrs.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in addrs {
        out.push(b'(');
        nstring(out, a.name.as_deref(), utf8);
        out.push(b' ');
        nstring(out, a.adl.as_deref(), utf8);
        out.push(b' ');
        nstring(out, a.mailbox.as_deref(), utf8);
        out.push(b' ');
        nstring(out, a.host.as_deref(), utf8);
        out.push(b')');
    }
    out.push(b')');
}

/// Parses an RFC 5322 address list leniently into envelope addresses, groups as the
/// `(NIL NIL "group" NIL) ... (NIL NIL NIL NIL)` markers IMAP uses.
pub(crate) fn parse_addresses(v: &[u8]) -> Vec<EnvAddress> {
    let tokens = tokenize(v);
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_group = false;
    // Words collected for the current entry, and whether an angle address was seen.
    while i < tokens.len() {
        // One entry: phrase words up to ',' ';' ':' or '<', or an addr-spec.
        let start = i;
        let mut phrase: Vec<&Tok> = Vec::new();
        while i < tokens.len() && !matches!(tokens[i], Tok::Special(b',' | b';' | b':' | b'<')) {
            phrase.push(&tokens[i]);
            i += 1;
        }
        match tokens.get(i) {
            Some(Tok::Special(b':')) if !in_group => {
                // Group start.
                in_group = true;
                out.push(EnvAddress { mailbox: Some(join_words(&phrase)), ..Default::default() });
                i += 1;
                continue;
            }
            Some(Tok::Special(b'<')) => {
                i += 1;
                let s = i;
                while i < tokens.len() && !matches!(tokens[i], Tok::Special(b'>')) {
                    i += 1;
                }
                let inner = &tokens[s..i];
                i += 1; // '>'
                let mut a = addr_spec(inner);
                if !phrase.is_empty() {
                    a.name = Some(join_words(&phrase));
                }
                out.push(a);
                // Skip to the separator.
                while i < tokens.len() && !matches!(tokens[i], Tok::Special(b',' | b';')) {
                    i += 1;
                }
            }
            _ => {
                if i > start {
                    let a = addr_spec(&tokens[start..i]);
                    if a.mailbox.is_some() || a.host.is_some() {
                        out.push(a);
                    }
                }
            }
        }
        match tokens.get(i) {
            Some(Tok::Special(b';')) if in_group => {
                in_group = false;
                out.push(EnvAddress::default());
                i += 1;
            }
            Some(_) => i += 1,
            None => {}
        }
    }
    if in_group {
        out.push(EnvAddress::default());
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An atom or dot-atom, or a quoted string's content (with `quoted` set).
    Word(Vec<u8>, bool),
    Special(u8),
}

fn tokenize(v: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                // Comment, possibly nested.
                let mut depth = 0;
                while i < v.len() {
                    match v[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'"' => {
                let mut w = Vec::new();
                i += 1;
                while i < v.len() && v[i] != b'"' {
                    if v[i] == b'\\' && i + 1 < v.len() {
                        i += 1;
                    }
                    if v[i] != b'\r' && v[i] != b'\n' {
                        w.push(v[i]);
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Word(w, true));
            }
            b',' | b';' | b':' | b'<' | b'>' | b'@' | b'[' | b']' => {
                if c == b'[' {
                    // Domain literal: keep as one word.
                    let s = i;
                    while i < v.len() && v[i] != b']' {
                        i += 1;
                    }
                    i = (i + 1).min(v.len());
                    out.push(Tok::Word(v[s..i].to_vec(), false));
                } else {
                    out.push(Tok::Special(c));
                    i += 1;
                }
            }
            _ => {
                let s = i;
                while i < v.len() && !b" \t\r\n()\",;:<>@[]".contains(&v[i]) {
                    i += 1;
                }
                out.push(Tok::Word(v[s..i].to_vec(), false));
            }
        }
    }
    out
}

fn join_words(words: &[&Tok]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, t) in words.iter().enumerate() {
        match t {
            Tok::Word(w, _) => {
                if n > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(w);
            }
            Tok::Special(c) => out.push(*c),
        }
    }
    out
}

/// `[obs-route] local-part "@" domain` from tokens.
fn addr_spec(tokens: &[Tok]) -> EnvAddress {
    let mut tokens = tokens;
    let mut a = EnvAddress::default();
    // obs-route: "@a,@b:" before the addr-spec.
    if let Some(colon) = tokens.iter().position(|t| *t == Tok::Special(b':')) {
        let route: Vec<u8> = tokens[..colon]
            .iter()
            .flat_map(|t| match t {
                Tok::Word(w, _) => w.clone(),
                Tok::Special(c) => vec![*c],
            })
            .collect();
        a.adl = Some(route);
        tokens = &tokens[colon + 1..];
    }
    let at = tokens.iter().rposition(|t| *t == Tok::Special(b'@'));
    let (local, domain) = match at {
        Some(at) => (&tokens[..at], Some(&tokens[at + 1..])),
        None => (tokens, None),
    };
    let mut lp = Vec::new();
    for t in local {
        match t {
            Tok::Word(w, _) => lp.extend_from_slice(w),
            Tok::Special(c) => lp.push(*c),
        }
    }
    if !lp.is_empty() {
        a.mailbox = Some(lp);
    }
    if let Some(d) = domain {
        let mut dv = Vec::new();
        for t in d {
            if let Tok::Word(w, _) = t {
                dv.extend_from_slice(w);
            }
        }
        a.host = Some(dv);
    } else {
        // An address without domain (e.g. "undisclosed"): host is not NIL here, since NIL
        // host marks a group; RFC 3501 clients expect something. Use an empty host.
        a.host = Some(Vec::new());
    }
    a
}

/// Where a `BODY[section]` is in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SectionData {
    /// These bytes of the message.
    Range(Range<u64>),
    /// Selected lines of the header in this range, followed by an empty line.
    HeaderFields { range: Range<u64>, not: bool, fields: Vec<String> },
    /// The part does not exist.
    Missing,
}

/// Resolves a section against the message's structure (RFC 9051 §6.4.5).
pub(crate) fn section_data(root: &Part, section: &Section) -> SectionData {
    let Some(part) = root.part_at(&section.part) else { return SectionData::Missing };
    if section.part.is_empty() {
        return msgtext(root, section.text.as_ref(), 0..root.body_end);
    }
    match &section.text {
        None => SectionData::Range(part.body_offset..part.body_end),
        Some(SectionText::Mime) => SectionData::Range(part.header_offset..part.body_offset),
        Some(t) => match &part.body {
            // HEADER, TEXT, HEADER.FIELDS of a part apply to an embedded message.
            PartBody::Message(inner) => {
                msgtext(inner, Some(t), inner.header_offset..inner.body_end)
            }
            _ => SectionData::Missing,
        },
    }
}

fn msgtext(msg: &Part, text: Option<&SectionText>, whole: Range<u64>) -> SectionData {
    match text {
        None => SectionData::Range(whole),
        Some(SectionText::Header) => SectionData::Range(msg.header_offset..msg.body_offset),
        Some(SectionText::Text) => SectionData::Range(msg.body_offset..msg.body_end),
        Some(SectionText::HeaderFields { not, fields }) => SectionData::HeaderFields {
            range: msg.header_offset..msg.body_offset,
            not: *not,
            fields: fields.clone(),
        },
        Some(SectionText::Mime) => SectionData::Missing,
    }
}

/// The header lines whose names are (or, with `not`, are not) in `fields`, each with its
/// continuation lines, then the empty line that ends a header.
pub(crate) fn header_fields(header: &[u8], fields: &[String], not: bool) -> Vec<u8> {
    let h = message::Header::parse(header);
    let mut out = Vec::new();
    for f in h.fields() {
        let listed = fields.iter().any(|n| f.is(n));
        if listed != not {
            out.extend_from_slice(f.raw());
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Why a part could not be decoded for BINARY.
#[derive(Debug)]
pub(crate) struct UnknownCte;

/// The content of a part with its transfer encoding undone (RFC 3516 §4.2).
pub(crate) fn decode_binary(part: &Part, body: &[u8]) -> Result<Vec<u8>, UnknownCte> {
    match part.transfer_encoding.as_str() {
        "7bit" | "8bit" | "binary" | "" => Ok(body.to_vec()),
        "base64" => Ok(message::decode_base64(body)),
        "quoted-printable" => Ok(message::decode_quoted_printable(body)),
        _ => Err(UnknownCte),
    }
}

/// The first text part suitable for a preview: text/plain preferred, else text/html.
pub(crate) fn preview_part(root: &Part) -> Option<&Part> {
    fn find<'a>(p: &'a Part, subtype: &str) -> Option<&'a Part> {
        match &p.body {
            PartBody::Multipart(parts) => parts.iter().find_map(|c| find(c, subtype)),
            PartBody::Message(_) => None,
            PartBody::Single => {
                let attachment = p.disposition.as_ref().is_some_and(|d| d.kind == "attachment");
                (p.media_type == "text" && p.subtype == subtype && !attachment).then_some(p)
            }
        }
    }
    find(root, "plain").or_else(|| find(root, "html"))
}

/// PREVIEW text (RFC 8970 §3.2): at most 200 characters of the start of the text, whitespace
/// collapsed, HTML tags and quoted lines left out.
pub(crate) fn preview_text(part: &Part, body: &[u8]) -> String {
    let decoded = decode_binary(part, body).unwrap_or_else(|_| body.to_vec());
    let charset = part.params.iter().find(|p| p.name == "charset").map(|p| p.value.as_str());
    let text = match charset.and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes())) {
        Some(enc) => enc.decode_without_bom_handling(&decoded).0.into_owned(),
        None => String::from_utf8_lossy(&decoded).into_owned(),
    };
    let text = if part.subtype == "html" { strip_html(&text) } else { text };
    let mut out = String::new();
    let mut last_space = true;
    let mut n = 0;
    for line in text.lines() {
        let t = line.trim();
        // Quoted text and signature separators say little about a message.
        if t.starts_with('>') {
            continue;
        }
        if t == "--" {
            break;
        }
        for c in t.chars().chain(std::iter::once(' ')) {
            if n >= 200 {
                break;
            }
            if c.is_whitespace() || c.is_control() {
                if !last_space {
                    out.push(' ');
                    n += 1;
                    last_space = true;
                }
            } else {
                out.push(c);
                n += 1;
                last_space = false;
            }
        }
    }
    out.trim_end().to_string()
}

fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    let lower = s.to_ascii_lowercase();
    let mut skip_until: Option<&str> = None;
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        if let Some(end) = skip_until {
            if lower[i..].starts_with(end) {
                skip_until = None;
                i += end.len();
            } else {
                i += 1;
            }
            continue;
        }
        if lower[i..].starts_with("<style") {
            skip_until = Some("</style>");
            continue;
        }
        if lower[i..].starts_with("<script") {
            skip_until = Some("</script>");
            continue;
        }
        let c = b[i];
        if c == b'<' {
            in_tag = true;
            out.push(' ');
        } else if c == b'>' && in_tag {
            in_tag = false;
        } else if !in_tag {
            // Copy whole UTF-8 sequences.
            let ch_len = utf8_len(c);
            out.push_str(s.get(i..i + ch_len).unwrap_or(" "));
            i += ch_len;
            continue;
        }
        i += 1;
    }
    out.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(h: &str) -> String {
        let mut out = Vec::new();
        envelope(&mut out, h.as_bytes(), false);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn envelope_of_rfc9051_example() {
        // The header of RFC 9051 §8's example message, as its ENVELOPE shows it.
        let h = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4rev2 WG mtg summary and minutes\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\r\n";
        assert_eq!(
            env(h),
            "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((NIL NIL \"imap\" \"cac.washington.edu\")) \
((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) \
NIL NIL \"<B27397-0100000@cac.washington.edu>\")"
        );
    }

    #[test]
    fn groups_routes_and_quotes() {
        let a = parse_addresses(b"undisclosed-recipients:;");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].mailbox.as_deref(), Some(&b"undisclosed-recipients"[..]));
        assert_eq!(a[1], EnvAddress::default());
        let a = parse_addresses(b"\"Doe, John\" <@relay.example:john@example.com> (comment), x@y");
        assert_eq!(a[0].name.as_deref(), Some(&b"Doe, John"[..]));
        assert_eq!(a[0].adl.as_deref(), Some(&b"@relay.example"[..]));
        assert_eq!(a[0].mailbox.as_deref(), Some(&b"john"[..]));
        assert_eq!(a[1].host.as_deref(), Some(&b"y"[..]));
        let a = parse_addresses(b"=?utf-8?q?J=C3=B6rg?= <j@x>");
        assert_eq!(a[0].name.as_deref(), Some(&b"=?utf-8?q?J=C3=B6rg?="[..]), "kept encoded");
        assert!(parse_addresses(b"").is_empty());
    }

    #[test]
    fn sections_and_structure() {
        let msg = b"Subject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\none\r\nline two\r\n\
--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: a@b\r\n\r\ninner body\r\n\
--b--\r\n";
        let root = Part::parse(msg);
        let get = |s: &str| -> Vec<u8> {
            let c =
                crate::parse::parse_command(format!("a FETCH 1 BODY[{s}]\r\n").as_bytes()).unwrap();
            let crate::command::CommandBody::Fetch { items, .. } = c.body else { panic!() };
            let crate::command::FetchAttr::BodySection { section, .. } = &items[0] else {
                panic!()
            };
            match section_data(&root, section) {
                SectionData::Range(r) => msg[r.start as usize..r.end as usize].to_vec(),
                SectionData::HeaderFields { range, not, fields } => {
                    header_fields(&msg[range.start as usize..range.end as usize], &fields, not)
                }
                SectionData::Missing => b"MISSING".to_vec(),
            }
        };
        assert_eq!(get("1"), b"one\r\nline two");
        assert_eq!(get("1.MIME"), b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
        assert_eq!(get("2.HEADER"), b"Subject: inner\r\nFrom: a@b\r\n\r\n");
        assert_eq!(get("2.TEXT"), b"inner body");
        assert_eq!(get("2.HEADER.FIELDS (FROM)"), b"From: a@b\r\n\r\n");
        assert_eq!(get("HEADER.FIELDS.NOT (content-type)"), b"Subject: hi\r\n\r\n");
        assert_eq!(get("1.TEXT"), b"MISSING");
        assert_eq!(get("3"), b"MISSING");
        assert_eq!(get(""), msg);

        let mut out = Vec::new();
        body_structure(&mut out, &root, true, false, &mut |p| {
            msg[p.header_offset as usize..p.body_offset as usize].to_vec()
        });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 13 2 NIL NIL NIL NIL)\
(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 39 (NIL \"inner\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) \
((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL) 4 \
NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)"
        );
    }

    #[test]
    fn previews() {
        let p = Part::parse(b"Content-Type: text/plain\r\n\r\n");
        let t = preview_text(&p, b"Hello   there,\r\n> quoted\r\nsecond line\r\n-- \r\nsig");
        assert_eq!(t, "Hello there, second line");
        let p = Part::parse(b"Content-Type: text/html\r\n\r\n");
        assert_eq!(preview_text(&p, b"<p>Hi <b>you</b></p><style>x{}</style>"), "Hi you");
        let long = "x".repeat(300);
        assert_eq!(preview_text(&Part::parse(b"\r\n"), long.as_bytes()).chars().count(), 200);
    }
}
