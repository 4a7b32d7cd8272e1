//! Parsing SMTP command lines (RFC 5321 §4.1) with the parameters of the extensions we offer:
//! SIZE (RFC 1870), 8BITMIME and BINARYMIME (RFC 6152, RFC 3030), AUTH= (RFC 4954), SMTPUTF8
//! (RFC 6531), REQUIRETLS (RFC 8689), FUTURERELEASE (RFC 4865), DSN (RFC 3461) and BDAT
//! (RFC 3030).
//!
//! [`parse_command`] takes one line without its CRLF. Errors are the [`Reply`] to send, so
//! the session answers a malformed command with the right code: 500 for an unknown verb, 501
//! for bad syntax, 555 for an unknown parameter, 553 for a refused address form.

use std::fmt;
use std::net::IpAddr;

use dns::Domain;
use message::Localpart;

use crate::reply::{Ecode, Reply};

/// A command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `HELO domain`.
    Helo(Domain),
    /// `EHLO domain-or-address-literal`.
    Ehlo(HelloName),
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        /// The mechanism name, upper-cased.
        mechanism: String,
        /// The initial response (base64, or `=` for empty), if given.
        initial: Option<String>,
    },
    /// `MAIL FROM:<reverse-path> [params]`.
    Mail {
        /// The reverse-path.
        from: ReversePath,
        /// The parameters.
        params: MailParams,
    },
    /// `RCPT TO:<forward-path> [params]`.
    Rcpt {
        /// The forward-path.
        to: ForwardPath,
        /// The parameters.
        params: RcptParams,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// Octets of message data that follow the command line.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `VRFY string`.
    Vrfy,
    /// `EXPN string`.
    Expn,
    /// `HELP [string]`.
    Help,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
}

impl Command {
    /// The verb, for logs and metrics.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Helo(_) => "helo",
            Command::Ehlo(_) => "ehlo",
            Command::StartTls => "starttls",
            Command::Auth { .. } => "auth",
            Command::Mail { .. } => "mail",
            Command::Rcpt { .. } => "rcpt",
            Command::Data => "data",
            Command::Bdat { .. } => "bdat",
            Command::Rset => "rset",
            Command::Vrfy => "vrfy",
            Command::Expn => "expn",
            Command::Help => "help",
            Command::Noop => "noop",
            Command::Quit => "quit",
        }
    }
}

/// The name a client gives in HELO/EHLO: a domain or an address literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HelloName {
    /// A domain name.
    Domain(Domain),
    /// An address literal, `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
    Ip(IpAddr),
}

impl fmt::Display for HelloName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelloName::Domain(d) => write!(f, "{}", d.ascii()),
            HelloName::Ip(ip) => f.write_str(&address_literal(*ip)),
        }
    }
}

/// The domain part of a path: a domain, or an address literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathDomain {
    /// A domain name.
    Domain(Domain),
    /// An address literal.
    Ip(IpAddr),
}

/// A mailbox in a path: `localpart@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    /// The local part, unquoted.
    pub localpart: Localpart,
    /// Whether the client wrote the local part as a quoted string.
    pub quoted: bool,
    /// The domain or address literal.
    pub domain: PathDomain,
}

impl Path {
    /// The address, with the domain in ASCII (IDNA) form.
    pub fn ascii(&self) -> String {
        match &self.domain {
            PathDomain::Domain(d) => format!("{}@{}", self.localpart, d.ascii()),
            PathDomain::Ip(ip) => format!("{}@{}", self.localpart, address_literal(*ip)),
        }
    }

    /// The address, with the domain in Unicode form.
    pub fn unicode(&self) -> String {
        match &self.domain {
            PathDomain::Domain(d) => format!("{}@{}", self.localpart, d.unicode()),
            PathDomain::Ip(ip) => format!("{}@{}", self.localpart, address_literal(*ip)),
        }
    }

    /// The domain, if not an address literal.
    pub fn domain(&self) -> Option<&Domain> {
        match &self.domain {
            PathDomain::Domain(d) => Some(d),
            PathDomain::Ip(_) => None,
        }
    }

    /// The address as a [`message::Address`], if the domain is not an address literal.
    pub fn address(&self) -> Option<message::Address> {
        self.domain().map(|d| message::Address::new(self.localpart.clone(), d.clone()))
    }

    /// Whether the path needs SMTPUTF8 (non-ASCII local part or domain).
    pub fn is_utf8(&self) -> bool {
        !self.localpart.is_ascii()
            || self.domain().is_some_and(|d| d.unicode() != d.ascii() || !d.ascii().is_ascii())
    }
}

impl fmt::Display for Path {
    /// With the domain in Unicode form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.unicode())
    }
}

/// The MAIL FROM path: the null reverse-path `<>` (for bounces) or a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    /// `<>`.
    Null,
    /// A mailbox.
    Path(Path),
}

impl ReversePath {
    /// The path, if not null.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ReversePath::Null => None,
            ReversePath::Path(p) => Some(p),
        }
    }

    /// The address in ASCII form, or the empty string for `<>`.
    pub fn ascii(&self) -> String {
        self.path().map(Path::ascii).unwrap_or_default()
    }

    /// The address in Unicode form, or the empty string for `<>`.
    pub fn unicode(&self) -> String {
        self.path().map(Path::unicode).unwrap_or_default()
    }
}

/// The RCPT TO path: `<Postmaster>` without domain (RFC 5321 §4.1.1.3), or a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPath {
    /// `<Postmaster>`, case-insensitively.
    Postmaster,
    /// A mailbox.
    Path(Path),
}

/// BODY= of MAIL FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyType {
    /// `7BIT`, the default.
    #[default]
    SevenBit,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BINARYMIME` (RFC 3030): needs BDAT.
    BinaryMime,
}

/// RET= of MAIL FROM (RFC 3461 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnRet {
    /// Return the full message in a DSN.
    Full,
    /// Return only the headers.
    Headers,
}

/// When a message is to be released (RFC 4865).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FutureRelease {
    /// `HOLDFOR=seconds`.
    For(u64),
    /// `HOLDUNTIL=date-time`, as seconds since the epoch, with the text as given.
    Until {
        /// Seconds since the Unix epoch.
        timestamp: i64,
        /// The value as given, for DSNs.
        text: String,
    },
}

/// MAIL FROM parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParams {
    /// SIZE= (RFC 1870).
    pub size: Option<u64>,
    /// BODY=.
    pub body: BodyType,
    /// Whether BODY= was given.
    pub body_given: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// REQUIRETLS (RFC 8689).
    pub requiretls: bool,
    /// AUTH= (RFC 4954 §5): the decoded mailbox, or None for `<>`; ignored for trust.
    pub auth: Option<Option<String>>,
    /// RET= (RFC 3461).
    pub ret: Option<DsnRet>,
    /// ENVID= (RFC 3461), decoded from xtext.
    pub envid: Option<String>,
    /// HOLDFOR= or HOLDUNTIL= (RFC 4865).
    pub future_release: Option<FutureRelease>,
}

/// NOTIFY= of RCPT TO (RFC 3461 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    /// `NEVER`.
    pub never: bool,
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

/// RCPT TO parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParams {
    /// NOTIFY= (RFC 3461).
    pub notify: Option<Notify>,
    /// ORCPT= (RFC 3461): address type and the decoded address.
    pub orcpt: Option<(String, String)>,
}

/// Longest path, angle brackets included (RFC 5321 §4.5.3.1.3).
const MAX_PATH: usize = 256;
/// Longest local part we accept; RFC 5321 §4.5.3.1.1 says 64, real mail (SRS, VERP) exceeds it.
const MAX_LOCALPART: usize = 128;

fn syntax(msg: impl Into<String>) -> Reply {
    Reply::new(501, Ecode::PROTO_SYNTAX, msg)
}

/// Parses one command line (without CRLF). `smtputf8_allowed` says whether the SMTPUTF8
/// extension is offered (it is, always); a RCPT TO path with UTF-8 is only accepted if
/// `transaction_smtputf8` (the MAIL FROM had SMTPUTF8).
pub fn parse_command(line: &[u8], transaction_smtputf8: bool) -> Result<Command, Reply> {
    let line = std::str::from_utf8(line)
        .map_err(|_| Reply::new(500, Ecode::PROTO_SYNTAX, "command line is not valid UTF-8"))?;
    // RFC 5321 §4.1.1: the verb is followed by a space (or the end of the line).
    let (verb, rest) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, ""),
    };
    let upper = verb.to_ascii_uppercase();
    let mut p = Parser::new(rest);
    let cmd = match upper.as_str() {
        "HELO" => {
            p.space()?;
            let name = p.domain(true)?;
            p.end()?;
            Command::Helo(name)
        }
        "EHLO" => {
            p.space()?;
            let name = p.hello_name()?;
            // RFC 5321 §4.1.4 mentions additional text after an address literal; allow it.
            if matches!(name, HelloName::Ip(_)) && p.eat(" ") {
                p.take_rest();
            }
            p.end()?;
            Command::Ehlo(name)
        }
        "STARTTLS" => {
            p.end()?;
            Command::StartTls
        }
        "AUTH" => {
            p.space()?;
            let mechanism = p.take_while(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if mechanism.is_empty() || mechanism.len() > 20 {
                return Err(syntax("expected sasl mechanism name"));
            }
            let mechanism = mechanism.to_ascii_uppercase();
            let initial = if p.eat(" ") {
                // Some clients send two spaces; be lenient.
                while p.eat(" ") {}
                let rest = p.take_rest().trim_end();
                if rest.is_empty() {
                    return Err(syntax("missing initial response after space"));
                }
                Some(rest.to_string())
            } else {
                p.end()?;
                None
            };
            Command::Auth { mechanism, initial }
        }
        "MAIL" => {
            p.keyword(" FROM:")?;
            // Not allowed by RFC 5321, but sent by some clients (Outlook).
            p.eat(" ");
            let raw = p.raw_path()?;
            let params = mail_params(&mut p)?;
            let from = if raw == "<>" {
                ReversePath::Null
            } else {
                // The SMTPUTF8 parameter comes after the path: parse the path now.
                let path = Parser::new(&raw).path(params.smtputf8, 550)?;
                ReversePath::Path(path)
            };
            Command::Mail { from, params }
        }
        "RCPT" => {
            p.keyword(" TO:")?;
            p.eat(" ");
            let to = if p.rest().len() >= 12 && p.rest()[..12].eq_ignore_ascii_case("<postmaster>")
            {
                p.pos += 12;
                ForwardPath::Postmaster
            } else {
                let raw = p.raw_path()?;
                ForwardPath::Path(Parser::new(&raw).path(transaction_smtputf8, 553)?)
            };
            let params = rcpt_params(&mut p)?;
            Command::Rcpt { to, params }
        }
        "DATA" => {
            p.end()?;
            Command::Data
        }
        "BDAT" => {
            p.space()?;
            let digits = p.take_while(|c| c.is_ascii_digit());
            if digits.is_empty() || digits.len() > 18 {
                return Err(syntax("expected chunk size"));
            }
            let size = digits.parse().map_err(|_| syntax("bad chunk size"))?;
            let last = if p.eat(" ") {
                let word = p.take_while(|c| c.is_ascii_alphabetic());
                if !word.eq_ignore_ascii_case("LAST") {
                    return Err(syntax("expected LAST"));
                }
                true
            } else {
                false
            };
            p.end()?;
            Command::Bdat { size, last }
        }
        "RSET" => {
            p.end()?;
            Command::Rset
        }
        "VRFY" | "EXPN" => {
            p.space()?;
            if p.rest().trim().is_empty() {
                return Err(syntax("missing argument"));
            }
            p.take_rest();
            if upper == "VRFY" { Command::Vrfy } else { Command::Expn }
        }
        "HELP" => {
            p.take_rest();
            Command::Help
        }
        "NOOP" => {
            p.take_rest();
            Command::Noop
        }
        "QUIT" => {
            p.end()?;
            Command::Quit
        }
        _ => return Err(Reply::new(500, Ecode::PROTO_BAD_SEQUENCE, "unknown command")),
    };
    Ok(cmd)
}

/// Reads the ` KEY[=VALUE]` parameters after a MAIL or RCPT path up to the end of the line,
/// refusing a parameter given twice, and calls `each` with the key as given, uppercased, and
/// its value.
fn each_param<'a>(
    p: &mut Parser<'a>,
    mut each: impl FnMut(&'a str, &str, Option<&'a str>) -> Result<(), Reply>,
) -> Result<(), Reply> {
    let mut seen: Vec<String> = Vec::new();
    while p.eat(" ") {
        if p.at_end_or_space_only() {
            break;
        }
        let (key, value) = p.param()?;
        let upper = key.to_ascii_uppercase();
        if seen.contains(&upper) {
            return Err(Reply::new(
                501,
                Ecode::PROTO_BAD_PARAMS,
                format!("duplicate parameter {key}"),
            ));
        }
        each(key, &upper, value)?;
        seen.push(upper);
    }
    p.end()
}

fn mail_params(p: &mut Parser<'_>) -> Result<MailParams, Reply> {
    let mut params = MailParams::default();
    each_param(p, |key, upper, value| {
        let need_value = |v: Option<&str>| -> Result<String, Reply> {
            v.map(str::to_string).ok_or_else(|| {
                Reply::new(501, Ecode::PROTO_BAD_PARAMS, format!("parameter {key} needs a value"))
            })
        };
        let no_value = |v: Option<&str>| -> Result<(), Reply> {
            match v {
                None => Ok(()),
                Some(_) => Err(Reply::new(
                    501,
                    Ecode::PROTO_BAD_PARAMS,
                    format!("parameter {key} takes no value"),
                )),
            }
        };
        match upper {
            "SIZE" => {
                let v = need_value(value)?;
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Reply::new(501, Ecode::PROTO_BAD_PARAMS, "bad SIZE value"));
                }
                params.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            "BODY" => {
                let v = need_value(value)?;
                params.body = match v.to_ascii_uppercase().as_str() {
                    "7BIT" => BodyType::SevenBit,
                    "8BITMIME" => BodyType::EightBitMime,
                    "BINARYMIME" => BodyType::BinaryMime,
                    _ => {
                        return Err(Reply::new(
                            555,
                            Ecode::PROTO_BAD_PARAMS,
                            format!("unrecognized BODY value {v:?}"),
                        ));
                    }
                };
                params.body_given = true;
            }
            "SMTPUTF8" => {
                no_value(value)?;
                params.smtputf8 = true;
            }
            "REQUIRETLS" => {
                no_value(value)?;
                params.requiretls = true;
            }
            "AUTH" => {
                let v = need_value(value)?;
                params.auth = Some(if v == "<>" { None } else { Some(xtext_decode(&v)?) });
            }
            "RET" => {
                let v = need_value(value)?;
                params.ret = Some(match v.to_ascii_uppercase().as_str() {
                    "FULL" => DsnRet::Full,
                    "HDRS" => DsnRet::Headers,
                    _ => return Err(Reply::new(501, Ecode::PROTO_BAD_PARAMS, "bad RET value")),
                });
            }
            "ENVID" => {
                let v = need_value(value)?;
                // RFC 3461 §4.4: at most 100 characters.
                if v.len() > 100 {
                    return Err(Reply::new(501, Ecode::PROTO_BAD_PARAMS, "ENVID too long"));
                }
                params.envid = Some(xtext_decode(&v)?);
            }
            "HOLDFOR" | "HOLDUNTIL" => {
                if params.future_release.is_some() {
                    return Err(Reply::new(
                        501,
                        Ecode::PROTO_BAD_PARAMS,
                        "cannot use both HOLDFOR and HOLDUNTIL",
                    ));
                }
                let v = need_value(value)?;
                params.future_release = Some(if upper == "HOLDFOR" {
                    if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(Reply::new(501, Ecode::PROTO_BAD_PARAMS, "bad HOLDFOR value"));
                    }
                    FutureRelease::For(v.parse().unwrap_or(u64::MAX))
                } else {
                    let timestamp = parse_datetime_utc(&v).ok_or_else(|| {
                        Reply::new(501, Ecode::PROTO_BAD_PARAMS, "bad HOLDUNTIL date-time")
                    })?;
                    FutureRelease::Until { timestamp, text: v }
                });
            }
            _ => {
                return Err(Reply::new(
                    555,
                    Ecode::SYS_NOT_SUPPORTED,
                    format!("unrecognized parameter {key:?}"),
                ));
            }
        }
        Ok(())
    })?;
    Ok(params)
}

fn rcpt_params(p: &mut Parser<'_>) -> Result<RcptParams, Reply> {
    let mut params = RcptParams::default();
    each_param(p, |key, upper, value| {
        let value = value.ok_or_else(|| {
            Reply::new(501, Ecode::PROTO_BAD_PARAMS, format!("parameter {key} needs a value"))
        })?;
        match upper {
            "NOTIFY" => {
                let mut n = Notify::default();
                for word in value.split(',') {
                    match word.to_ascii_uppercase().as_str() {
                        "NEVER" => n.never = true,
                        "SUCCESS" => n.success = true,
                        "FAILURE" => n.failure = true,
                        "DELAY" => n.delay = true,
                        _ => {
                            return Err(Reply::new(
                                501,
                                Ecode::PROTO_BAD_PARAMS,
                                "bad NOTIFY value",
                            ));
                        }
                    }
                }
                // RFC 3461 §4.1: NEVER cannot be combined with the others.
                if n.never && (n.success || n.failure || n.delay) {
                    return Err(Reply::new(
                        501,
                        Ecode::PROTO_BAD_PARAMS,
                        "NOTIFY=NEVER cannot be combined",
                    ));
                }
                params.notify = Some(n);
            }
            "ORCPT" => {
                // RFC 3461 §4.2: addr-type ";" xtext, at most 500 characters.
                if value.len() > 500 {
                    return Err(Reply::new(501, Ecode::PROTO_BAD_PARAMS, "ORCPT too long"));
                }
                let (kind, addr) = value.split_once(';').ok_or_else(|| {
                    Reply::new(501, Ecode::PROTO_BAD_PARAMS, "ORCPT needs address type")
                })?;
                if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(Reply::new(501, Ecode::PROTO_BAD_PARAMS, "bad ORCPT address type"));
                }
                params.orcpt = Some((kind.to_string(), xtext_decode(addr)?));
            }
            _ => {
                return Err(Reply::new(
                    555,
                    Ecode::SYS_NOT_SUPPORTED,
                    format!("unrecognized parameter {key:?}"),
                ));
            }
        }
        Ok(())
    })?;
    Ok(params)
}

/// Decodes xtext (RFC 3461 §4): `+XX` is the octet with hex value XX.
pub fn xtext_decode(s: &str) -> Result<String, Reply> {
    let bad = || Reply::new(501, Ecode::PROTO_BAD_PARAMS, "bad xtext");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                let hex = s.get(i + 1..i + 3).ok_or_else(bad)?;
                if !hex.bytes().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)) {
                    return Err(bad());
                }
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            c @ 33..=126 if c != b'=' => {
                out.push(c);
                i += 1;
            }
            // UTF-8 is allowed in SMTPUTF8 transactions (RFC 6533 relaxes xtext).
            c if c >= 0x80 => {
                out.push(c);
                i += 1;
            }
            _ => return Err(bad()),
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Encodes xtext (RFC 3461 §4).
pub fn xtext_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
pub fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// Parses an RFC 3339 date-time in UTC (`2024-01-02T03:04:05Z`, fractions allowed), as
/// HOLDUNTIL requires (RFC 4865 §5).
fn parse_datetime_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || !matches!(*b.last()?, b'Z' | b'z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = &s[19..s.len() - 1];
    if !(frac.is_empty()
        || (frac.len() > 1
            && frac.starts_with('.')
            && frac[1..].bytes().all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Parser<'a> {
        Parser { s, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn eat(&mut self, prefix: &str) -> bool {
        let rest = self.rest();
        if rest.len() >= prefix.len()
            && rest.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<(), Reply> {
        if self.eat(kw) { Ok(()) } else { Err(syntax(format!("expected {:?}", kw.trim_start()))) }
    }

    fn space(&mut self) -> Result<(), Reply> {
        if self.eat(" ") { Ok(()) } else { Err(syntax("expected space")) }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let n = rest.find(|c: char| !f(c)).unwrap_or(rest.len());
        self.pos += n;
        &rest[..n]
    }

    fn take_rest(&mut self) -> &'a str {
        let rest = self.rest();
        self.pos = self.s.len();
        rest
    }

    fn at_end_or_space_only(&self) -> bool {
        self.rest().bytes().all(|b| b == b' ' || b == b'\t')
    }

    /// End of the command: only trailing white space may follow (RFC 5321 §4.1.1 is strict,
    /// but real clients add spaces).
    fn end(&mut self) -> Result<(), Reply> {
        if self.at_end_or_space_only() {
            self.pos = self.s.len();
            Ok(())
        } else {
            Err(syntax(format!("unexpected text {:?}", truncate(self.rest(), 40))))
        }
    }

    /// `<...>` as raw text, brackets included; the path itself is parsed later.
    fn raw_path(&mut self) -> Result<String, Reply> {
        let rest = self.rest();
        if !rest.starts_with('<') {
            return Err(syntax("expected \"<\""));
        }
        // A quoted local part may contain '>'.
        let mut in_quote = false;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' if in_quote => escaped = true,
                '"' => in_quote = !in_quote,
                '>' if !in_quote => {
                    let raw = &rest[..=i];
                    if raw.len() > MAX_PATH {
                        return Err(syntax("path longer than 256 octets"));
                    }
                    self.pos += i + 1;
                    return Ok(raw.to_string());
                }
                _ => {}
            }
        }
        Err(syntax("expected \">\""))
    }

    /// `<` [source route `:`] Mailbox `>`; the whole input must be the path. `utf8_code` is
    /// the reply code for UTF-8 without SMTPUTF8 (RFC 6531 §3.5: 553 for RCPT, 550 for MAIL).
    fn path(&mut self, smtputf8: bool, utf8_code: u16) -> Result<Path, Reply> {
        if !self.eat("<") {
            return Err(syntax("expected \"<\""));
        }
        if self.rest().starts_with('@') {
            // RFC 5321 §4.1.1.3 says to ignore source routes; we refuse them instead, so a
            // route can never be mistaken for a relay request.
            return Err(Reply::new(
                553,
                Ecode::POL_DELIVERY_UNAUTH,
                "source routes are not accepted",
            ));
        }
        let (localpart, quoted) = self.localpart()?;
        if !self.eat("@") {
            return Err(syntax("expected \"@\" in address"));
        }
        let domain = if self.rest().starts_with('[') {
            PathDomain::Ip(self.address_literal()?)
        } else {
            PathDomain::Domain(self.domain(smtputf8)?)
        };
        if !self.eat(">") {
            if self.rest().starts_with('.') {
                return Err(Reply::new(
                    553,
                    Ecode::ADDR_SYNTAX,
                    "domain with trailing dot not accepted",
                ));
            }
            return Err(syntax("expected \">\""));
        }
        if !self.rest().is_empty() {
            return Err(syntax("text after path"));
        }
        let path = Path { localpart, quoted, domain };
        if !smtputf8 && path.is_utf8() {
            return Err(Reply::new(
                utf8_code,
                Ecode::MSG_NON_ASCII_ADDR,
                "non-ASCII address not permitted without SMTPUTF8",
            ));
        }
        Ok(path)
    }

    fn localpart(&mut self) -> Result<(Localpart, bool), Reply> {
        let rest = self.rest();
        let (text, quoted) = if rest.starts_with('"') {
            let mut escaped = false;
            let mut end = None;
            for (i, c) in rest.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(i + 1);
                    break;
                }
            }
            let end = end.ok_or_else(|| syntax("unterminated quoted local part"))?;
            (&rest[..end], true)
        } else {
            let n = rest.find(['@', '>']).unwrap_or(rest.len());
            (&rest[..n], false)
        };
        let lp = Localpart::parse(text).map_err(|e| syntax(format!("bad local part: {e}")))?;
        if lp.as_str().len() > MAX_LOCALPART {
            return Err(syntax("local part too long"));
        }
        self.pos += text.len();
        Ok((lp, quoted))
    }

    fn address_literal(&mut self) -> Result<IpAddr, Reply> {
        let rest = self.rest();
        let end = rest.find(']').ok_or_else(|| syntax("unterminated address literal"))?;
        let inner = &rest[1..end];
        let ip = if let Some(v6) = inner.get(..5).filter(|t| t.eq_ignore_ascii_case("IPv6:")) {
            let _ = v6;
            inner[5..]
                .parse::<std::net::Ipv6Addr>()
                .map(IpAddr::V6)
                .map_err(|_| syntax("bad IPv6 address literal"))?
        } else {
            inner
                .parse::<std::net::Ipv4Addr>()
                .map(IpAddr::V4)
                .map_err(|_| syntax("bad address literal"))?
        };
        self.pos += end + 1;
        Ok(ip)
    }

    fn hello_name(&mut self) -> Result<HelloName, Reply> {
        if self.rest().starts_with('[') {
            Ok(HelloName::Ip(self.address_literal()?))
        } else {
            Ok(HelloName::Domain(self.domain(true)?))
        }
    }

    /// RFC 5321 §4.1.2 `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig
    /// [Ldh-str]`, with U-labels when `utf8` (RFC 6531 §3.3). No trailing dot.
    fn domain(&mut self, utf8: bool) -> Result<Domain, Reply> {
        let rest = self.rest();
        let mut end = 0;
        let mut label_start = true;
        let mut last = ' ';
        for (i, c) in rest.char_indices() {
            let ok = c.is_ascii_alphanumeric() || (!c.is_ascii() && utf8);
            if ok || (c == '-' && !label_start) || (c == '_' && !label_start) {
                label_start = false;
            } else if c == '.' && !label_start {
                label_start = true;
            } else {
                break;
            }
            last = c;
            end = i + c.len_utf8();
        }
        if end == 0 {
            if !utf8 && rest.chars().next().is_some_and(|c| !c.is_ascii()) {
                return Err(Reply::new(
                    553,
                    Ecode::MSG_NON_ASCII_ADDR,
                    "non-ASCII domain not permitted without SMTPUTF8",
                ));
            }
            return Err(syntax("expected domain"));
        }
        if last == '.' {
            let after = rest[end..].chars().next();
            if matches!(after, None | Some('>') | Some(' ')) {
                return Err(Reply::new(
                    553,
                    Ecode::ADDR_SYNTAX,
                    "domain with trailing dot not accepted",
                ));
            }
            return Err(syntax("empty label in domain"));
        }
        if last == '-' {
            return Err(syntax("domain label ends with hyphen"));
        }
        let text = &rest[..end];
        let domain = Domain::parse(text).map_err(|e| syntax(format!("bad domain: {e}")))?;
        self.pos += end;
        Ok(domain)
    }

    /// `esmtp-keyword ["=" esmtp-value]`.
    fn param(&mut self) -> Result<(&'a str, Option<&'a str>), Reply> {
        let key = self.take_while(|c| c.is_ascii_alphanumeric() || c == '-');
        if key.is_empty() || key.starts_with('-') {
            return Err(syntax("expected parameter"));
        }
        if !self.eat("=") {
            return Ok((key, None));
        }
        // esmtp-value = 1*(%d33-60 / %d62-126), and UTF-8 (RFC 6531).
        let value = self.take_while(|c| c != ' ' && c != '=' && (c > ' ' && c != '\x7f'));
        if value.is_empty() {
            return Err(syntax(format!("empty value for parameter {key}")));
        }
        Ok((key, Some(value)))
    }
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, Reply> {
        parse_command(line.as_bytes(), false)
    }

    fn code(line: &str) -> u16 {
        parse(line).unwrap_err().code
    }

    #[test]
    fn simple_commands() {
        assert_eq!(parse("QUIT"), Ok(Command::Quit));
        assert_eq!(parse("quit  "), Ok(Command::Quit));
        assert_eq!(parse("noop hello there"), Ok(Command::Noop));
        assert_eq!(parse("DATA"), Ok(Command::Data));
        assert_eq!(parse("RSET"), Ok(Command::Rset));
        assert_eq!(parse("STARTTLS"), Ok(Command::StartTls));
        assert_eq!(code("DATA x"), 501);
        assert_eq!(code("FOO"), 500);
        assert_eq!(code("VRFY"), 501);
        assert_eq!(parse("VRFY bob"), Ok(Command::Vrfy));
    }

    #[test]
    fn hello() {
        let Command::Ehlo(HelloName::Domain(d)) = parse("EHLO Mail.Example.ORG").unwrap() else {
            panic!()
        };
        assert_eq!(d.ascii(), "mail.example.org");
        assert_eq!(
            parse("EHLO [192.0.2.1]"),
            Ok(Command::Ehlo(HelloName::Ip("192.0.2.1".parse().unwrap())))
        );
        assert_eq!(
            parse("EHLO [IPv6:2001:db8::1]"),
            Ok(Command::Ehlo(HelloName::Ip("2001:db8::1".parse().unwrap())))
        );
        assert_eq!(code("EHLO"), 501);
        assert_eq!(code("EHLO a..b"), 501);
        assert_eq!(code("HELO [192.0.2.1]"), 501);
        assert_eq!(code("EHLO example.org."), 553);
    }

    #[test]
    fn mail_from() {
        let Command::Mail { from, params } =
            parse("MAIL FROM:<Bob@Example.org> SIZE=1000 BODY=8BITMIME").unwrap()
        else {
            panic!()
        };
        assert_eq!(from.ascii(), "Bob@example.org");
        assert_eq!(params.size, Some(1000));
        assert_eq!(params.body, BodyType::EightBitMime);
        assert_eq!(
            parse("MAIL FROM:<>")
                .map(|c| matches!(c, Command::Mail { from: ReversePath::Null, .. })),
            Ok(true)
        );
        // A space after the colon is accepted, as mox does.
        assert!(parse("MAIL FROM: <a@b.example>").is_ok());
        assert_eq!(code("MAIL FROM:<a@b.example> SIZE=1 SIZE=2"), 501);
        assert_eq!(code("MAIL FROM:<a@b.example> FOO=bar"), 555);
        assert_eq!(code("MAIL FROM:a@b.example"), 501);
        assert_eq!(code("MAIL FROM:<a@b.example"), 501);
        // UTF-8 needs SMTPUTF8, which may follow the path.
        assert_eq!(code("MAIL FROM:<jøran@b.example>"), 550);
        assert!(parse("MAIL FROM:<jøran@bücher.example> SMTPUTF8").is_ok());
        let Command::Mail { params, .. } =
            parse("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2Bx AUTH=<> REQUIRETLS").unwrap()
        else {
            panic!()
        };
        assert_eq!(params.ret, Some(DsnRet::Headers));
        assert_eq!(params.envid.as_deref(), Some("QQ+x"));
        assert_eq!(params.auth, Some(None));
        assert!(params.requiretls);
        let Command::Mail { params, .. } =
            parse("MAIL FROM:<a@b.example> HOLDUNTIL=2030-01-02T03:04:05Z").unwrap()
        else {
            panic!()
        };
        assert!(matches!(
            params.future_release,
            Some(FutureRelease::Until { timestamp: 1893553445, .. })
        ));
    }

    #[test]
    fn rcpt_to() {
        let Command::Rcpt { to: ForwardPath::Path(p), params } =
            parse("RCPT TO:<alice+tag@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(p.localpart.as_str(), "alice+tag");
        let n = params.notify.unwrap();
        assert!(n.success && n.failure && !n.delay);
        assert_eq!(params.orcpt, Some(("rfc822".into(), "a@b".into())));
        assert_eq!(
            parse("RCPT TO:<postmaster>"),
            Ok(Command::Rcpt { to: ForwardPath::Postmaster, params: RcptParams::default() })
        );
        assert_eq!(code("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS"), 501);
        assert_eq!(code("RCPT TO:<jøran@b.example>"), 553);
        assert!(parse_command("RCPT TO:<jøran@b.example>".as_bytes(), true).is_ok());
    }

    #[test]
    fn relay_forms_are_refused() {
        // Source route.
        assert_eq!(code("RCPT TO:<@relay.example:bob@victim.example>"), 553);
        // Trailing dot.
        assert_eq!(code("RCPT TO:<bob@example.org.>"), 553);
        // Percent hack and bang paths parse (they are dot-atoms); the session refuses them.
        let Command::Rcpt { to: ForwardPath::Path(p), .. } =
            parse("RCPT TO:<bob%victim.example@example.org>").unwrap()
        else {
            panic!()
        };
        assert_eq!(p.localpart.as_str(), "bob%victim.example");
        let Command::Rcpt { to: ForwardPath::Path(p), .. } =
            parse(r#"RCPT TO:<"bob@victim"@example.org>"#).unwrap()
        else {
            panic!()
        };
        assert!(p.quoted);
        assert_eq!(p.localpart.as_str(), "bob@victim");
        let Command::Rcpt { to: ForwardPath::Path(p), .. } =
            parse("RCPT TO:<bob@[192.0.2.9]>").unwrap()
        else {
            panic!()
        };
        assert_eq!(p.domain, PathDomain::Ip("192.0.2.9".parse().unwrap()));
    }

    #[test]
    fn auth_and_bdat() {
        assert_eq!(
            parse("AUTH plain  AGEAYg=="),
            Ok(Command::Auth { mechanism: "PLAIN".into(), initial: Some("AGEAYg==".into()) })
        );
        assert_eq!(
            parse("AUTH LOGIN"),
            Ok(Command::Auth { mechanism: "LOGIN".into(), initial: None })
        );
        assert_eq!(parse("BDAT 100 LAST"), Ok(Command::Bdat { size: 100, last: true }));
        assert_eq!(parse("BDAT 0"), Ok(Command::Bdat { size: 0, last: false }));
        assert_eq!(code("BDAT"), 501);
        assert_eq!(code("BDAT x"), 501);
        assert_eq!(code("BDAT 10 FIRST"), 501);
    }

    #[test]
    fn xtext() {
        assert_eq!(xtext_decode("a+2Bb+3D").unwrap(), "a+b=");
        assert!(xtext_decode("a+2").is_err());
        assert!(xtext_decode("a=b").is_err());
        assert_eq!(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
    }
}
