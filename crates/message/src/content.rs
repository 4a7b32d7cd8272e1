//! MIME content fields: Content-Type (RFC 2045 §5, RFC 2046), Content-Transfer-Encoding
//! (RFC 2045 §6), Content-Disposition (RFC 2183), and their parameters with RFC 2231
//! continuations, charsets and languages.
//!
//! ```text
//! content     := "Content-Type" ":" type "/" subtype *(";" parameter)
//! parameter   := attribute "=" value
//! value       := token / quoted-string
//! disposition := "Content-Disposition" ":" disposition-type *(";" disposition-parm)
//! ; RFC 2231 §3-4:
//! parameter   := regular-parameter / extended-parameter
//! regular-parameter-name := attribute [section]          ; section = "*" digits
//! extended-parameter := (extended-initial-name "=" extended-initial-value) /
//!                       (extended-other-names "=" extended-other-values)
//! extended-initial-value := [charset] "'" [language] "'" extended-other-values
//! ```

use std::collections::HashMap;
use std::fmt;

use crate::encoded_word::{charset_encoding, decode_encoded_words};
use crate::text::bytes_to_text;

/// A Content-Type: media type, subtype and parameters, names lowercased.
///
/// ```
/// let ct = message::ContentType::parse(b"Text/HTML; Charset=\"UTF-8\" (comment); format=flowed");
/// assert_eq!(ct.essence(), "text/html");
/// assert_eq!(ct.param("charset"), Some("UTF-8"));
/// assert_eq!(ct.param("FORMAT"), Some("flowed"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ContentType {
    /// The top-level type, lowercased: `text`, `multipart`, `message`, `application`, ...
    pub media_type: String,
    /// The subtype, lowercased: `plain`, `mixed`, `rfc822`, ...
    pub subtype: String,
    /// The parameters in order (after joining RFC 2231 continuations), first of each name.
    pub params: Vec<Param>,
}

/// A parameter of a Content-Type or Content-Disposition.
#[derive(Clone, PartialEq, Eq)]
pub struct Param {
    /// The name, lowercased, without RFC 2231 `*` markers.
    pub name: String,
    /// The value: quoted-pairs unescaped, RFC 2231 continuations joined and percent-encoding
    /// and charset decoded.
    pub value: String,
    /// The RFC 2231 language tag, if one was given (`en-us` in `title*=us-ascii'en-us'...`).
    pub language: Option<String>,
}

/// A Content-Disposition (RFC 2183): `inline` or `attachment`, with parameters such as
/// `filename`.
///
/// ```
/// let cd = message::ContentDisposition::parse(b"attachment; filename*=UTF-8''na%C3%AFve.txt");
/// assert_eq!(cd.kind, "attachment");
/// assert_eq!(cd.filename().as_deref(), Some("naïve.txt"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ContentDisposition {
    /// The disposition type, lowercased (`inline`, `attachment`, or another value).
    pub kind: String,
    /// The parameters, as for [`ContentType::params`].
    pub params: Vec<Param>,
}

/// A Content-Transfer-Encoding (RFC 2045 §6.1).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum TransferEncoding {
    /// `7bit`, also the default when the field is absent.
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `base64`.
    Base64,
    /// Any other value, lowercased; the body is left as it is (RFC 2045 §6.4 says to treat
    /// such a part as application/octet-stream).
    Other(String),
}

impl ContentType {
    /// Parses a Content-Type value. Never fails: a value without a valid `type/subtype` gives
    /// the RFC 2045 §5.2 default, `text/plain; charset=us-ascii`.
    pub fn parse(value: &[u8]) -> ContentType {
        let mut p = Cursor { s: value, pos: 0 };
        p.skip_cfws();
        let media_type = p.token();
        p.skip_cfws();
        let subtype = if p.eat(b'/') {
            p.skip_cfws();
            p.token()
        } else {
            Vec::new()
        };
        if media_type.is_empty() || subtype.is_empty() {
            return ContentType::default();
        }
        ContentType {
            media_type: String::from_utf8_lossy(&media_type).to_ascii_lowercase(),
            subtype: String::from_utf8_lossy(&subtype).to_ascii_lowercase(),
            params: p.params(),
        }
    }

    /// A content type without parameters.
    pub fn new(media_type: &str, subtype: &str) -> ContentType {
        ContentType {
            media_type: media_type.to_ascii_lowercase(),
            subtype: subtype.to_ascii_lowercase(),
            params: Vec::new(),
        }
    }

    /// `type/subtype`, lowercased.
    pub fn essence(&self) -> String {
        format!("{}/{}", self.media_type, self.subtype)
    }

    /// Whether this is `media_type/subtype` (ASCII case-insensitive).
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type)
            && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The value of the first parameter named `name` (ASCII case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    /// The `charset` parameter.
    pub fn charset(&self) -> Option<&str> {
        self.param("charset")
    }

    /// The `boundary` parameter of a multipart type.
    pub fn boundary(&self) -> Option<&str> {
        self.param("boundary")
    }
}

/// `text/plain; charset=us-ascii` (RFC 2045 §5.2).
impl Default for ContentType {
    fn default() -> Self {
        ContentType {
            media_type: "text".into(),
            subtype: "plain".into(),
            params: vec![Param {
                name: "charset".into(),
                value: "us-ascii".into(),
                language: None,
            }],
        }
    }
}

impl ContentDisposition {
    /// Parses a Content-Disposition value. Never fails; an empty type is kept as empty.
    pub fn parse(value: &[u8]) -> ContentDisposition {
        let mut p = Cursor { s: value, pos: 0 };
        p.skip_cfws();
        let kind = String::from_utf8_lossy(&p.token()).to_ascii_lowercase();
        ContentDisposition { kind, params: p.params() }
    }

    /// The value of the first parameter named `name` (ASCII case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    /// The `filename` parameter, with RFC 2047 encoded words decoded (not allowed by the RFCs
    /// in parameters, but common).
    pub fn filename(&self) -> Option<String> {
        self.param("filename").map(|f| decode_encoded_words(f).into_owned())
    }

    /// Whether the type is `attachment`.
    pub fn is_attachment(&self) -> bool {
        self.kind == "attachment"
    }
}

impl TransferEncoding {
    /// Parses a Content-Transfer-Encoding value (case-insensitive, comments allowed).
    pub fn parse(value: &[u8]) -> TransferEncoding {
        let mut p = Cursor { s: value, pos: 0 };
        p.skip_cfws();
        let token = String::from_utf8_lossy(&p.token()).to_ascii_lowercase();
        match token.as_str() {
            "7bit" | "" => TransferEncoding::SevenBit,
            "8bit" => TransferEncoding::EightBit,
            "binary" => TransferEncoding::Binary,
            "quoted-printable" => TransferEncoding::QuotedPrintable,
            "base64" => TransferEncoding::Base64,
            _ => TransferEncoding::Other(token),
        }
    }

    /// The canonical lowercase name.
    pub fn as_str(&self) -> &str {
        match self {
            TransferEncoding::SevenBit => "7bit",
            TransferEncoding::EightBit => "8bit",
            TransferEncoding::Binary => "binary",
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Base64 => "base64",
            TransferEncoding::Other(s) => s,
        }
    }

    /// Whether the body is stored as it is (7bit, 8bit, binary): no decoding needed.
    pub fn is_identity(&self) -> bool {
        matches!(
            self,
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
        )
    }
}

impl fmt::Debug for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentType({}/{}", self.media_type, self.subtype)?;
        for p in &self.params {
            write!(f, "; {p:?}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for ContentDisposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentDisposition({}", self.kind)?;
        for p in &self.params {
            write!(f, "; {p:?}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)?;
        if let Some(lang) = &self.language {
            write!(f, " (lang {lang})")?;
        }
        Ok(())
    }
}

fn find_param<'p>(params: &'p [Param], name: &str) -> Option<&'p str> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value.as_str())
}

/// One `name[*n][*]=value` as written, before RFC 2231 joining.
struct RawParam {
    name: String,
    section: Option<u32>,
    extended: bool,
    value: Vec<u8>,
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// RFC 2045 token: any CHAR except SPACE, CTLs and tspecials. 8-bit bytes are accepted.
    fn token(&mut self) -> Vec<u8> {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.pos += 1;
        }
        self.s[start..self.pos].to_vec()
    }

    fn skip_cfws(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.pos += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.pos = (self.pos + 1).min(self.s.len());
        }
    }

    /// `*(";" parameter)`, lenient: missing semicolons are tolerated (RFC 2231's own examples
    /// omit them), stray text without "=" gives an empty value, and unquoted values run to the
    /// next ";", "(" or line ending (so `name=my file.pdf` works).
    fn params(&mut self) -> Vec<Param> {
        let mut raw = Vec::new();
        loop {
            self.skip_cfws();
            match self.peek() {
                None => break,
                Some(b';') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'"') => {
                    self.quoted();
                    continue;
                }
                _ => {}
            }
            let name = self.token();
            if name.is_empty() {
                self.pos += 1;
                continue;
            }
            self.skip_cfws();
            let value = if self.eat(b'=') {
                self.skip_cfws();
                if self.peek() == Some(b'"') {
                    self.quoted()
                } else {
                    let start = self.pos;
                    while self.peek().is_some_and(|b| !b";\"(\r\n".contains(&b)) {
                        self.pos += 1;
                    }
                    let mut v = &self.s[start..self.pos];
                    while let [rest @ .., last] = v
                        && last.is_ascii_whitespace()
                    {
                        v = rest;
                    }
                    v.to_vec()
                }
            } else {
                Vec::new()
            };
            raw.push(raw_param(&name, value));
        }
        join_params(raw)
    }

    /// A quoted-string at its opening quote: unescaped, folding removed; an unterminated one runs
    /// to the end.
    fn quoted(&mut self) -> Vec<u8> {
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    // Windows paths in filenames ("C:\dir\file") are often unescaped: keep a
                    // backslash that is not before a quote or backslash.
                    match self.peek() {
                        Some(q @ (b'"' | b'\\')) => {
                            out.push(q);
                            self.pos += 1;
                        }
                        _ => out.push(b'\\'),
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(b),
            }
        }
        out
    }
}

fn is_token_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

fn raw_param(name: &[u8], value: Vec<u8>) -> RawParam {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    // RFC 2231: "name*" (extended), "name*0", "name*0*".
    let (base, extended) = match name.strip_suffix('*') {
        Some(base) => (base, true),
        None => (name.as_str(), false),
    };
    let (base, section) = match base.rsplit_once('*') {
        Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => {
            (b, n.parse().ok())
        }
        _ => (base, None),
    };
    RawParam { name: base.to_string(), section, extended, value }
}

/// Joins RFC 2231 continuations and decodes extended values; a plain `name` is used only when
/// there is no RFC 2231 form of the same name. Linear in the number of parameters (hostile
/// headers can have very many).
fn join_params(raw: Vec<RawParam>) -> Vec<Param> {
    let is_2231 = |p: &RawParam| p.extended || p.section.is_some();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, p) in raw.iter().enumerate() {
        if is_2231(p) {
            groups.entry(p.name.as_str()).or_default().push(j);
        }
    }
    let mut out: Vec<Param> = Vec::new();
    // Name to (index in out, whether it came from RFC 2231).
    let mut seen: HashMap<String, (usize, bool)> = HashMap::new();
    for p in &raw {
        let extended = is_2231(p);
        let param = if extended {
            // The first section of a name seen assembles all of them.
            let Some(indexes) = groups.remove(p.name.as_str()) else { continue };
            let mut sections: Vec<(u32, usize)> =
                indexes.into_iter().map(|j| (raw[j].section.unwrap_or(0), j)).collect();
            sections.sort_by_key(|&(n, _)| n);
            sections.dedup_by_key(|&mut (n, _)| n);
            let mut bytes = Vec::new();
            let mut charset = None;
            let mut language = None;
            for (k, &(_, j)) in sections.iter().enumerate() {
                let s = &raw[j];
                let mut value = s.value.as_slice();
                if s.extended {
                    if k == 0 {
                        // charset'language'value
                        let mut it = value.splitn(3, |&b| b == b'\'');
                        if let (Some(cs), Some(lang), Some(rest)) =
                            (it.next(), it.next(), it.next())
                        {
                            charset = Some(String::from_utf8_lossy(cs).into_owned());
                            if !lang.is_empty() {
                                language = Some(String::from_utf8_lossy(lang).into_owned());
                            }
                            value = rest;
                        }
                    }
                    percent_decode(value, &mut bytes);
                } else {
                    bytes.extend_from_slice(value);
                }
            }
            Param {
                name: p.name.clone(),
                value: decode_charset(&bytes, charset.as_deref()),
                language,
            }
        } else {
            Param {
                name: p.name.clone(),
                value: bytes_to_text(&p.value).into_owned(),
                language: None,
            }
        };
        match seen.get_mut(&param.name) {
            // RFC 2231 wins over a plain parameter of the same name (sent for old readers).
            Some((k, from_2231)) if extended && !*from_2231 => {
                *from_2231 = true;
                out[*k] = param;
            }
            Some(_) => {}
            None => {
                seen.insert(param.name.clone(), (out.len(), extended));
                out.push(param);
            }
        }
    }
    out
}

fn percent_decode(value: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%'
            && let Some(hex) = value.get(i + 1..i + 3)
            && let Ok(s) = std::str::from_utf8(hex)
            && let Ok(b) = u8::from_str_radix(s, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(value[i]);
        i += 1;
    }
}

/// Decodes `bytes` in `charset`; UTF-8 (or Windows-1252 when not UTF-8) for unknown charsets.
pub(crate) fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    match charset.and_then(charset_encoding) {
        Some(enc) if enc != encoding_rs::UTF_8 => {
            enc.decode_without_bom_handling(bytes).0.into_owned()
        }
        _ => bytes_to_text(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(ct: &ContentType) -> Vec<(&str, &str)> {
        ct.params.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect()
    }

    #[test]
    fn content_types() {
        let ct = ContentType::parse(b"multipart/mixed; boundary=\"----=_Part_1\"");
        assert!(ct.is("multipart", "MIXED"));
        assert_eq!(ct.boundary(), Some("----=_Part_1"));
        let ct = ContentType::parse(b" text / plain ; charset = iso-8859-1 ;");
        assert_eq!(ct.essence(), "text/plain");
        assert_eq!(params(&ct), [("charset", "iso-8859-1")]);
        let ct = ContentType::parse(b"application/octet-stream;\r\n\tname=my file.pdf");
        assert_eq!(ct.param("name"), Some("my file.pdf"));
        let ct = ContentType::parse(b"text/plain; a=\"x\\\"y\"; b; c=1; a=2");
        assert_eq!(params(&ct), [("a", "x\"y"), ("b", ""), ("c", "1")]);
        let ct = ContentType::parse(b"text/plain; name=\"C:\\dir\\file.txt\"");
        assert_eq!(ct.param("name"), Some("C:\\dir\\file.txt"));
        let ct = ContentType::parse("text/plain; name=\"résumé.txt\"".as_bytes());
        assert_eq!(ct.param("name"), Some("résumé.txt"));
    }

    #[test]
    fn invalid_content_types_default() {
        for v in [&b""[..], b"text", b"/plain", b"text/", b";charset=utf-8", b"(comment)"] {
            assert_eq!(ContentType::parse(v), ContentType::default(), "{v:?}");
        }
        assert_eq!(ContentType::default().charset(), Some("us-ascii"));
    }

    /// RFC 2231 §3, §4 and §4.1 examples.
    #[test]
    fn rfc2231_examples() {
        let ct = ContentType::parse(
            b"message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
        );
        assert_eq!(ct.param("url"), Some("ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"));
        let ct = ContentType::parse(
            b"application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
        );
        assert_eq!(ct.param("title"), Some("This is ***fun***"));
        assert_eq!(ct.params[0].language.as_deref(), Some("en-us"));
        let ct = ContentType::parse(
            b"application/x-stuff\r\n title*0*=us-ascii'en'This%20is%20even%20more%20\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20\r\n title*2=\"isn't it!\"",
        );
        assert_eq!(ct.param("title"), Some("This is even more ***fun*** isn't it!"));
        assert_eq!(ct.params[0].language.as_deref(), Some("en"));
    }

    #[test]
    fn rfc2231_charsets_order_and_precedence() {
        let cd = ContentDisposition::parse(b"attachment; filename*=iso-8859-1''caf%E9.txt");
        assert_eq!(cd.filename().as_deref(), Some("café.txt"));
        // Out-of-order sections, and the RFC 2231 form wins over the plain fallback.
        let cd = ContentDisposition::parse(
            b"attachment; filename=\"fallback.txt\"; filename*1*=%C3%A9.txt; filename*0*=UTF-8''caf",
        );
        assert_eq!(cd.filename().as_deref(), Some("café.txt"));
        assert_eq!(cd.params.len(), 1);
        let cd = ContentDisposition::parse(
            b"attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf; filename=x",
        );
        assert_eq!(cd.filename().as_deref(), Some("日本.pdf"));
        // Bad percent escapes are kept.
        let cd = ContentDisposition::parse(b"inline; filename*=utf-8''100%.txt%zz");
        assert_eq!(cd.filename().as_deref(), Some("100%.txt%zz"));
        // Unknown charset: bytes as UTF-8.
        let cd = ContentDisposition::parse(b"inline; filename*=x-unknown''a%C3%A9");
        assert_eq!(cd.filename().as_deref(), Some("aé"));
    }

    #[test]
    fn encoded_words_in_filenames() {
        let cd = ContentDisposition::parse(b"attachment; filename=\"=?UTF-8?B?w6l0w6kucGRm?=\"");
        assert_eq!(cd.filename().as_deref(), Some("été.pdf"));
        assert!(cd.is_attachment());
    }

    #[test]
    fn transfer_encodings() {
        assert_eq!(TransferEncoding::parse(b" Base64 "), TransferEncoding::Base64);
        assert_eq!(
            TransferEncoding::parse(b"QUOTED-PRINTABLE (c)"),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(TransferEncoding::parse(b""), TransferEncoding::SevenBit);
        assert_eq!(TransferEncoding::parse(b"8BIT"), TransferEncoding::EightBit);
        assert_eq!(
            TransferEncoding::parse(b"x-uuencode"),
            TransferEncoding::Other("x-uuencode".into())
        );
        assert!(TransferEncoding::Binary.is_identity());
        assert_eq!(TransferEncoding::Base64.as_str(), "base64");
    }
}
