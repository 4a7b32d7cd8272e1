//! DMARC policy records: the TXT record at `_dmarc.<domain>` (RFC 7489 §6.3, §6.4).

use std::fmt;

use crate::Error;

/// The version tag every DMARC record starts with. RFC 7489 §6.3: "It MUST have the value of
/// "DMARC1". The value of this tag MUST match precisely".
pub const VERSION: &str = "DMARC1";

/// The default aggregate report interval, one day (RFC 7489 §6.3 `ri`).
pub const DEFAULT_REPORT_INTERVAL: u32 = 86400;

/// A DMARC policy record.
///
/// ```abnf
/// dmarc-record    = dmarc-version dmarc-sep
///                   [dmarc-request]
///                   [dmarc-sep dmarc-srequest]
///                   [dmarc-sep dmarc-auri]
///                   [dmarc-sep dmarc-furi]
///                   [dmarc-sep dmarc-adkim]
///                   [dmarc-sep dmarc-aspf]
///                   [dmarc-sep dmarc-ainterval]
///                   [dmarc-sep dmarc-fo]
///                   [dmarc-sep dmarc-rfmt]
///                   [dmarc-sep dmarc-percent]
///                   [dmarc-sep]
///                   ; components other than dmarc-version and
///                   ; dmarc-request may appear in any order
/// dmarc-version   = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31
/// dmarc-sep       = *WSP %x3b *WSP
/// ```
///
/// Parse with [`Record::parse`] (strict: every known tag must be valid) or
/// [`Record::parse_lenient`] (what a mail receiver does, RFC 7489 §6.3 and §6.6.3 step 6).
/// [`Display`](fmt::Display) writes the record back in its usual form, leaving out tags that have
/// their default value:
///
/// ```
/// use dmarc::{Alignment, Policy, Record};
///
/// let record = Record::parse("v=DMARC1;p=reject; ADKIM=s ;rua=mailto:dmarc@example.com!10m")?;
/// assert_eq!(record.policy, Policy::Reject);
/// assert_eq!(record.dkim_alignment, Alignment::Strict);
/// assert_eq!(record.aggregate_report_uris[0].max_size_bytes(), Some(10 << 20));
/// assert_eq!(record.to_string(), "v=DMARC1; p=reject; rua=mailto:dmarc@example.com!10m; adkim=s");
/// # Ok::<(), dmarc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// `p=`: what to do with mail that fails DMARC, for the domain itself and, unless
    /// `subdomain_policy` says otherwise, its subdomains.
    pub policy: Policy,
    /// `sp=`: the policy for subdomains of the domain the record was found at.
    pub subdomain_policy: Option<Policy>,
    /// `rua=`: where to send aggregate reports.
    pub aggregate_report_uris: Vec<ReportUri>,
    /// `ruf=`: where to send failure reports.
    pub failure_report_uris: Vec<ReportUri>,
    /// `adkim=`: how a DKIM signing domain must match the From domain.
    pub dkim_alignment: Alignment,
    /// `aspf=`: how the SPF domain must match the From domain.
    pub spf_alignment: Alignment,
    /// `ri=`: requested seconds between aggregate reports.
    pub report_interval: u32,
    /// `fo=`: when to send failure reports; only meaningful with `ruf=`.
    pub failure_options: Vec<FailureOption>,
    /// `rf=`: formats for failure reports.
    pub report_formats: Vec<ReportFormat>,
    /// `pct=`: the share of failing mail the policy is applied to.
    pub percent: Percent,
}

impl Default for Record {
    /// `v=DMARC1; p=none` with every other tag at its default.
    fn default() -> Record {
        Record {
            policy: Policy::None,
            subdomain_policy: None,
            aggregate_report_uris: Vec::new(),
            failure_report_uris: Vec::new(),
            dkim_alignment: Alignment::Relaxed,
            spf_alignment: Alignment::Relaxed,
            report_interval: DEFAULT_REPORT_INTERVAL,
            failure_options: vec![FailureOption::AllFail],
            report_formats: vec![ReportFormat::afrf()],
            percent: Percent::ALL,
        }
    }
}

/// A record parsed the way a mail receiver must (RFC 7489 §6.3): problems that the RFC says to
/// discard or repair are listed in `problems`, and the tags they concern have their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientRecord {
    /// The record as it is to be applied.
    pub record: Record,
    /// What was wrong, in order of appearance; empty for a valid record.
    pub problems: Vec<Error>,
}

impl Record {
    /// Parses a record strictly: the first problem in any known tag is an error. Use this to
    /// check a record before publishing it; mail receivers use [`Record::parse_lenient`].
    ///
    /// Tag names and keyword values are case-insensitive (ABNF quoted strings), the version
    /// `DMARC1` is not (RFC 7489 §6.3). Unknown tags are ignored, as §6.3 requires, so a record
    /// can carry tags from later extensions.
    ///
    /// Errors name the tag and the byte position of the problem:
    ///
    /// ```
    /// let err = dmarc::Record::parse("v=DMARC1; p=reject; pct=150").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value \"150\" for pct= at position 24: expected a percentage from 0 to 100"
    /// );
    /// ```
    pub fn parse(txt: &str) -> Result<Record, Error> {
        let mut lenient = parse_tags(txt)?;
        if lenient.problems.is_empty() {
            Ok(lenient.record)
        } else {
            Err(lenient.problems.swap_remove(0))
        }
    }

    /// Parses a record as a mail receiver must (RFC 7489 §6.3, §6.6.3):
    ///
    /// - A record that does not start with `v=DMARC1` is not a DMARC record:
    ///   [`Error::NotDmarc`].
    /// - A missing or invalid `p=`, or an invalid `sp=`, is repaired to `p=none` if `rua=` holds
    ///   at least one valid URI (§6.6.3 step 6.1); otherwise the record is unusable and the
    ///   error is returned (step 6.2).
    /// - Invalid values of other tags are replaced by the tag's default (§6.3: "Syntax errors in
    ///   the remainder of the record SHOULD be discarded in favor of default values"); invalid
    ///   URIs in `rua=`/`ruf=` are left out one by one.
    /// - A tag that appears twice makes the record invalid ([`Error::DuplicateTag`]): the
    ///   tag-value syntax DMARC uses (RFC 6376 §3.2) says so, and taking either value would be
    ///   a guess.
    pub fn parse_lenient(txt: &str) -> Result<LenientRecord, Error> {
        parse_tags(txt)
    }

    /// The policy for mail whose From domain is a subdomain of the domain the record was found
    /// at: `sp=`, or `p=` when `sp=` is absent.
    pub fn effective_subdomain_policy(&self) -> Policy {
        self.subdomain_policy.unwrap_or(self.policy)
    }
}

/// Whether a TXT record starts with `v=DMARC1`, the test RFC 7489 §6.6.3 steps 2 and 4 use to
/// keep or discard records during policy discovery.
pub fn is_dmarc_record(txt: &str) -> bool {
    version_end(txt).is_some()
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v={VERSION}; p={}", self.policy)?;
        if let Some(sp) = self.subdomain_policy {
            write!(f, "; sp={sp}")?;
        }
        write_list(f, "rua", &self.aggregate_report_uris, ",")?;
        write_list(f, "ruf", &self.failure_report_uris, ",")?;
        if self.dkim_alignment != Alignment::Relaxed {
            write!(f, "; adkim={}", self.dkim_alignment)?;
        }
        if self.spf_alignment != Alignment::Relaxed {
            write!(f, "; aspf={}", self.spf_alignment)?;
        }
        if self.report_interval != DEFAULT_REPORT_INTERVAL {
            write!(f, "; ri={}", self.report_interval)?;
        }
        if self.failure_options != [FailureOption::AllFail] {
            write_list(f, "fo", &self.failure_options, ":")?;
        }
        if self.report_formats != [ReportFormat::afrf()] {
            write_list(f, "rf", &self.report_formats, ":")?;
        }
        if self.percent != Percent::ALL {
            write!(f, "; pct={}", self.percent)?;
        }
        Ok(())
    }
}

fn write_list<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    tag: &str,
    items: &[T],
    separator: &str,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i == 0 {
            write!(f, "; {tag}={item}")?;
        } else {
            write!(f, "{separator}{item}")?;
        }
    }
    Ok(())
}

/// The policy a Domain Owner requests for mail that fails DMARC (`p=` and `sp=`).
///
/// ```abnf
/// dmarc-request   = "p" *WSP "=" *WSP ( "none" / "quarantine" / "reject" )
/// dmarc-srequest  = "sp" *WSP "=" *WSP ( "none" / "quarantine" / "reject" )
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Policy {
    /// Take no action because of DMARC ("monitoring mode").
    None,
    /// Treat failing mail as suspicious, for example deliver it to the junk folder.
    Quarantine,
    /// Reject failing mail, preferably during the SMTP transaction.
    Reject,
}

impl Policy {
    /// The keyword as written in records and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    fn parse(value: &str) -> Option<Policy> {
        [Policy::None, Policy::Quarantine, Policy::Reject]
            .into_iter()
            .find(|p| value.eq_ignore_ascii_case(p.as_str()))
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifier alignment mode (`adkim=`, `aspf=`; RFC 7489 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Alignment {
    /// `r`: the organizational domains must be equal, so `mail.example.com` aligns with
    /// `example.com`.
    #[default]
    Relaxed,
    /// `s`: the domains must be equal.
    Strict,
}

impl Alignment {
    /// The letter as written in records and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Alignment::Relaxed => "r",
            Alignment::Strict => "s",
        }
    }

    fn parse(value: &str) -> Option<Alignment> {
        match value {
            "r" | "R" => Some(Alignment::Relaxed),
            "s" | "S" => Some(Alignment::Strict),
            _ => None,
        }
    }
}

impl fmt::Display for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure reporting option (`fo=`; RFC 7489 §6.3).
///
/// ```abnf
/// dmarc-fo        = "fo" *WSP "=" *WSP
///                   ( "0" / "1" / "d" / "s" )
///                   *(*WSP ":" *WSP ( "0" / "1" / "d" / "s" ))
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureOption {
    /// `0`: report when all mechanisms fail to produce an aligned pass (the default).
    AllFail,
    /// `1`: report when any mechanism produces something other than an aligned pass.
    AnyFail,
    /// `d`: report a DKIM signature that failed, aligned or not.
    DkimFail,
    /// `s`: report an SPF failure, aligned or not.
    SpfFail,
}

impl FailureOption {
    /// The character as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureOption::AllFail => "0",
            FailureOption::AnyFail => "1",
            FailureOption::DkimFail => "d",
            FailureOption::SpfFail => "s",
        }
    }

    fn parse(value: &str) -> Option<FailureOption> {
        match value {
            "0" => Some(FailureOption::AllFail),
            "1" => Some(FailureOption::AnyFail),
            "d" | "D" => Some(FailureOption::DkimFail),
            "s" | "S" => Some(FailureOption::SpfFail),
            _ => None,
        }
    }
}

impl fmt::Display for FailureOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure report format (`rf=`): an SMTP `Keyword` (RFC 5321 §4.1.2), lowercased. Only
/// `afrf` (RFC 6591) is registered.
///
/// ```abnf
/// dmarc-rfmt      = "rf"  *WSP "=" *WSP Keyword *(*WSP ":" Keyword)
/// Keyword         = Ldh-str
/// Ldh-str         = *( ALPHA / DIGIT / "-" ) Let-dig
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportFormat(Box<str>);

impl ReportFormat {
    /// `afrf`, the Authentication Failure Reporting Format (RFC 6591), the default.
    pub fn afrf() -> ReportFormat {
        ReportFormat("afrf".into())
    }

    /// Parses a keyword; None if it is not a valid `Keyword`.
    pub fn parse(value: &str) -> Option<ReportFormat> {
        let bytes = value.as_bytes();
        let valid = bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        valid.then(|| ReportFormat(value.to_ascii_lowercase().into()))
    }

    /// The keyword, lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A percentage from 0 to 100 (`pct=`).
///
/// ```abnf
/// dmarc-percent   = "pct" *WSP "=" *WSP 1*3DIGIT
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Percent(u8);

impl Percent {
    /// 100%, the default.
    pub const ALL: Percent = Percent(100);

    /// The percentage, or None above 100.
    pub fn new(value: u8) -> Option<Percent> {
        (value <= 100).then_some(Percent(value))
    }

    /// The value, 0 to 100.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A report destination in `rua=` or `ruf=`: a URI with an optional size limit (RFC 7489 §6.2).
///
/// ```abnf
/// dmarc-uri       = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
///                   ; "URI" is imported from [URI]; commas (ASCII
///                   ; 0x2C) and exclamation points (ASCII 0x21)
///                   ; MUST be encoded; the numeric portion MUST fit
///                   ; within an unsigned 64-bit integer
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportUri {
    uri: Box<str>,
    max_size: Option<MaxSize>,
}

/// The size limit of a [`ReportUri`]: a count of units, where units are powers of two (RFC 7489
/// §6.4: "a kilobyte is 2^10").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxSize {
    /// The number of units.
    pub count: u64,
    /// The unit.
    pub unit: SizeUnit,
}

/// The unit of a [`MaxSize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeUnit {
    /// No suffix: bytes.
    Bytes,
    /// `k`: 2^10 bytes.
    Kilo,
    /// `m`: 2^20 bytes.
    Mega,
    /// `g`: 2^30 bytes.
    Giga,
    /// `t`: 2^40 bytes.
    Tera,
}

impl SizeUnit {
    fn shift(self) -> u32 {
        match self {
            SizeUnit::Bytes => 0,
            SizeUnit::Kilo => 10,
            SizeUnit::Mega => 20,
            SizeUnit::Giga => 30,
            SizeUnit::Tera => 40,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            SizeUnit::Bytes => "",
            SizeUnit::Kilo => "k",
            SizeUnit::Mega => "m",
            SizeUnit::Giga => "g",
            SizeUnit::Tera => "t",
        }
    }
}

impl MaxSize {
    /// The limit in bytes, saturating at `u64::MAX` (a limit that large is no limit).
    pub fn bytes(self) -> u64 {
        let shift = self.unit.shift();
        if self.count.leading_zeros() < shift { u64::MAX } else { self.count << shift }
    }
}

impl ReportUri {
    /// Parses one DMARC URI, such as `mailto:dmarc@example.com!10m`. The reason on error says
    /// what is wrong.
    pub fn parse(text: &str) -> Result<ReportUri, &'static str> {
        let (uri, size) = match text.split_once('!') {
            Some((uri, size)) => (uri, Some(size)),
            None => (text, None),
        };
        check_uri(uri)?;
        let max_size = size.map(parse_max_size).transpose()?;
        Ok(ReportUri { uri: uri.into(), max_size })
    }

    /// The URI, as written (percent-encoding kept).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The scheme, lowercased (`mailto`, `https`).
    pub fn scheme(&self) -> String {
        self.uri.split_once(':').map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default()
    }

    /// The size limit, if given.
    pub fn max_size(&self) -> Option<MaxSize> {
        self.max_size
    }

    /// The size limit in bytes, if given.
    pub fn max_size_bytes(&self) -> Option<u64> {
        self.max_size.map(MaxSize::bytes)
    }
}

impl fmt::Display for ReportUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)?;
        if let Some(size) = self.max_size {
            write!(f, "!{}{}", size.count, size.unit.suffix())?;
        }
        Ok(())
    }
}

/// Checks the URI syntax of RFC 3986 §3 as far as a report destination needs: a scheme, and
/// only characters a URI may hold, with well-formed percent-encoding. Commas and exclamation
/// points must be percent-encoded in DMARC URIs (they separate list items and size limits).
fn check_uri(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() {
        return Err("empty URI");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err("no scheme (such as mailto:)");
    };
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    let scheme_ok = scheme.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err("invalid scheme");
    }
    if rest.is_empty() {
        return Err("nothing after the scheme");
    }
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return Err("malformed percent-encoding");
                }
                i += 3;
                continue;
            }
            b',' => return Err("unencoded comma"),
            // unreserved, gen-delims and sub-delims (RFC 3986 §2.2, §2.3) other than "!" and ",".
            b if b.is_ascii_alphanumeric() || b"-._~:/?#[]@$&'()*+;=".contains(&b) => {}
            b if b.is_ascii() => return Err("character not allowed in a URI"),
            _ => return Err("non-ASCII character (URIs must be percent-encoded)"),
        }
        i += 1;
    }
    Ok(())
}

fn parse_max_size(size: &str) -> Result<MaxSize, &'static str> {
    let (digits, unit) = match size.as_bytes().last() {
        Some(b'k' | b'K') => (&size[..size.len() - 1], SizeUnit::Kilo),
        Some(b'm' | b'M') => (&size[..size.len() - 1], SizeUnit::Mega),
        Some(b'g' | b'G') => (&size[..size.len() - 1], SizeUnit::Giga),
        Some(b't' | b'T') => (&size[..size.len() - 1], SizeUnit::Tera),
        _ => (size, SizeUnit::Bytes),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("size limit after \"!\" must be digits with an optional k, m, g or t");
    }
    let count = digits.parse().map_err(|_| "size limit does not fit in 64 bits")?;
    Ok(MaxSize { count, unit })
}

/// Where `v=DMARC1` ends (just before the separator or the end), if the record starts with it.
fn version_end(txt: &str) -> Option<usize> {
    let lead = txt.len() - txt.trim_start_matches(is_wsp).len();
    let rest = &txt[lead..];
    let rest = rest.strip_prefix(['v', 'V'])?;
    let after_v = rest.trim_start_matches(is_wsp);
    let after_eq = after_v.strip_prefix('=')?.trim_start_matches(is_wsp);
    let after_version = after_eq.strip_prefix(VERSION)?;
    // The version value ends at a separator or the end; "DMARC10" is not DMARC1.
    let tail = after_version.trim_start_matches(is_wsp);
    if !(tail.is_empty() || tail.starts_with(';')) {
        return None;
    }
    Some(txt.len() - after_version.len())
}

/// `WSP`, and also CR and LF: the tag-value syntax DMARC builds on (RFC 6376 §3.2) allows
/// folding whitespace around tags and values.
fn is_wsp(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The tags DMARC defines, for the duplicate check and error messages.
const KNOWN_TAGS: [&str; 11] =
    ["v", "p", "sp", "rua", "ruf", "adkim", "aspf", "ri", "fo", "rf", "pct"];

fn parse_tags(txt: &str) -> Result<LenientRecord, Error> {
    let Some(version_end) = version_end(txt) else {
        return Err(Error::NotDmarc);
    };
    let mut record = Record::default();
    let mut problems = Vec::new();
    let mut seen: Vec<String> = vec!["v".into()];
    let mut policy_seen = false;
    // Set when p= is missing or invalid, or sp= invalid: repaired below, or fatal.
    let mut policy_problem: Option<Error> = None;

    // The tags after the version. ";" cannot occur in a tag value (RFC 6376 §3.2 VALCHAR
    // excludes it), so splitting on it is exact. The first piece is what follows "DMARC1" up to
    // the first ";", only whitespace (checked by version_end).
    for (index, spec) in txt[version_end..].split(';').enumerate().skip(1) {
        let spec = spec.trim_matches(is_wsp);
        let position = offset_in(txt, spec);
        if spec.is_empty() {
            // ";;" or a trailing ";": nothing to take.
            continue;
        }
        let Some((name, value)) = spec.split_once('=') else {
            problems.push(Error::MalformedTag { text: spec.into(), position });
            continue;
        };
        let name = name.trim_matches(is_wsp);
        // tag-name = ALPHA *ALNUMPUNC
        let name_ok = name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            problems.push(Error::MalformedTag { text: spec.into(), position });
            continue;
        }
        let name = name.to_ascii_lowercase();
        let value = value.trim_matches(is_wsp);
        let value_position = offset_in(txt, value);

        let Some(tag) = KNOWN_TAGS.iter().copied().find(|t| *t == name) else {
            continue; // RFC 7489 §6.3: "unknown tags MUST be ignored".
        };
        if seen.iter().any(|s| s == tag) {
            return Err(Error::DuplicateTag { tag, position });
        }
        seen.push(tag.into());
        let invalid = |expected: &'static str| Error::InvalidValue {
            tag,
            value: value.into(),
            position: value_position,
            expected,
        };
        match tag {
            "p" => {
                policy_seen = true;
                // §6.3: "the "v" and "p" tags MUST be present and MUST appear in that order";
                // the ABNF puts p directly after v.
                if index != 1 {
                    problems.push(Error::PolicyNotFirst { position });
                }
                match Policy::parse(value) {
                    Some(p) => record.policy = p,
                    None => {
                        let e = invalid("none, quarantine or reject");
                        policy_problem.get_or_insert_with(|| e.clone());
                        problems.push(e);
                    }
                }
            }
            "sp" => match Policy::parse(value) {
                Some(p) => record.subdomain_policy = Some(p),
                None => {
                    let e = invalid("none, quarantine or reject");
                    policy_problem.get_or_insert_with(|| e.clone());
                    problems.push(e);
                }
            },
            "rua" | "ruf" => {
                let uris = parse_uri_list(tag, value, value_position, &mut problems);
                if tag == "rua" {
                    record.aggregate_report_uris = uris;
                } else {
                    record.failure_report_uris = uris;
                }
            }
            "adkim" | "aspf" => match Alignment::parse(value) {
                Some(a) if tag == "adkim" => record.dkim_alignment = a,
                Some(a) => record.spf_alignment = a,
                None => problems.push(invalid("r (relaxed) or s (strict)")),
            },
            "ri" => match parse_digits::<u32>(value) {
                Some(ri) => record.report_interval = ri,
                None => problems.push(invalid("a number of seconds (32-bit)")),
            },
            "fo" => match parse_colon_list(value, FailureOption::parse) {
                Some(options) => record.failure_options = options,
                None => problems.push(invalid("0, 1, d or s, separated by \":\"")),
            },
            "rf" => match parse_colon_list(value, ReportFormat::parse) {
                Some(formats) => record.report_formats = formats,
                None => problems.push(invalid("report format keywords separated by \":\"")),
            },
            "pct" => match parse_digits::<u8>(value).filter(|_| value.len() <= 3) {
                Some(pct) if pct <= 100 => record.percent = Percent(pct),
                _ => problems.push(invalid("a percentage from 0 to 100")),
            },
            _ => {}
        }
    }

    if !policy_seen {
        let e = Error::MissingPolicy;
        policy_problem.get_or_insert_with(|| e.clone());
        problems.push(e);
    }
    if let Some(fatal) = policy_problem {
        // RFC 7489 §6.6.3 step 6: with a valid rua, act as if p=none was published.
        if record.aggregate_report_uris.is_empty() {
            return Err(fatal);
        }
        record.policy = Policy::None;
        record.subdomain_policy = None;
    }
    Ok(LenientRecord { record, problems })
}

/// The byte offset of `sub` in `txt`; `sub` must be a slice of `txt`.
fn offset_in(txt: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).saturating_sub(txt.as_ptr() as usize).min(txt.len())
}

fn parse_digits<T: std::str::FromStr>(value: &str) -> Option<T> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A ":"-separated list with optional whitespace around the colons; None if any item is
/// invalid or the list is empty.
fn parse_colon_list<T>(value: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
    value.split(':').map(|item| parse(item.trim_matches(is_wsp))).collect()
}

/// A ","-separated URI list. Invalid URIs are reported and left out.
fn parse_uri_list(
    tag: &'static str,
    value: &str,
    value_position: usize,
    problems: &mut Vec<Error>,
) -> Vec<ReportUri> {
    let mut uris = Vec::new();
    for item in value.split(',') {
        let item = item.trim_matches(is_wsp);
        match ReportUri::parse(item) {
            Ok(uri) => uris.push(uri),
            Err(reason) => problems.push(Error::InvalidUri {
                tag,
                uri: item.into(),
                position: value_position + offset_in(value, item),
                reason,
            }),
        }
    }
    uris
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> ReportUri {
        ReportUri::parse(s).unwrap()
    }

    #[test]
    fn rfc7489_appendix_b2_records() {
        // B.2.1
        let r = Record::parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com").unwrap();
        assert_eq!(r.policy, Policy::None);
        assert_eq!(r.aggregate_report_uris, [uri("mailto:dmarc-feedback@example.com")]);
        assert_eq!(r.percent, Percent::ALL);
        assert_eq!(r.dkim_alignment, Alignment::Relaxed);
        assert_eq!(r.report_interval, 86400);
        assert_eq!(r.failure_options, [FailureOption::AllFail]);
        assert_eq!(r.report_formats, [ReportFormat::afrf()]);

        // B.2.2 (the zone file's strings concatenated, as §6.1 requires).
        let r = Record::parse(concat!(
            "v=DMARC1; p=none; ",
            "rua=mailto:dmarc-feedback@example.com; ",
            "ruf=mailto:auth-reports@example.com"
        ))
        .unwrap();
        assert_eq!(r.failure_report_uris, [uri("mailto:auth-reports@example.com")]);

        // B.2.3
        let r = Record::parse(concat!(
            "v=DMARC1; p=none; ",
            "rua=mailto:dmarc-feedback@example.com; ",
            "ruf=mailto:auth-reports@thirdparty.example.net"
        ))
        .unwrap();
        assert_eq!(r.failure_report_uris[0].uri(), "mailto:auth-reports@thirdparty.example.net");
        // The third party's authorization record: a DMARC record without a policy.
        assert!(is_dmarc_record("v=DMARC1"));
        assert_eq!(Record::parse("v=DMARC1"), Err(Error::MissingPolicy));

        // B.2.4
        let r = Record::parse(concat!(
            "v=DMARC1; p=quarantine; ",
            "rua=mailto:dmarc-feedback@example.com,",
            "mailto:tld-test@thirdparty.example.net!10m; ",
            "pct=25"
        ))
        .unwrap();
        assert_eq!(r.policy, Policy::Quarantine);
        assert_eq!(r.percent.get(), 25);
        assert_eq!(r.aggregate_report_uris.len(), 2);
        let limited = &r.aggregate_report_uris[1];
        assert_eq!(limited.uri(), "mailto:tld-test@thirdparty.example.net");
        assert_eq!(limited.max_size(), Some(MaxSize { count: 10, unit: SizeUnit::Mega }));
        assert_eq!(limited.max_size_bytes(), Some(10 * 1024 * 1024));
        assert_eq!(
            r.to_string(),
            "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,\
             mailto:tld-test@thirdparty.example.net!10m; pct=25"
        );

        // B.3.1
        let r = Record::parse("v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com")
            .unwrap();
        assert_eq!((r.policy, r.spf_alignment), (Policy::Reject, Alignment::Relaxed));
    }

    #[test]
    fn every_tag_and_display_round_trip() {
        let txt = "v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@example.com,https://r.example/x!1k; \
                   ruf=mailto:f@example.com!20; adkim=s; aspf=s; ri=3600; fo=1:d:s; rf=afrf:iodef; pct=0";
        let r = Record::parse(txt).unwrap();
        assert_eq!(r.subdomain_policy, Some(Policy::Quarantine));
        assert_eq!(r.aggregate_report_uris[1].scheme(), "https");
        assert_eq!(r.aggregate_report_uris[1].max_size_bytes(), Some(1024));
        assert_eq!(r.failure_report_uris[0].max_size_bytes(), Some(20));
        assert_eq!((r.dkim_alignment, r.spf_alignment), (Alignment::Strict, Alignment::Strict));
        assert_eq!(r.report_interval, 3600);
        assert_eq!(
            r.failure_options,
            [FailureOption::AnyFail, FailureOption::DkimFail, FailureOption::SpfFail]
        );
        assert_eq!(
            r.report_formats.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            ["afrf", "iodef"]
        );
        assert_eq!(r.percent.get(), 0);
        assert_eq!(r.to_string(), txt);
        assert_eq!(Record::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn defaults_written_back_minimal() {
        assert_eq!(Record::default().to_string(), "v=DMARC1; p=none");
        let r =
            Record::parse("v=DMARC1;p=none;adkim=r;aspf=r;ri=86400;fo=0;rf=afrf;pct=100;").unwrap();
        assert_eq!(r, Record::default());
        assert_eq!(r.to_string(), "v=DMARC1; p=none");
    }

    #[test]
    fn whitespace_and_case() {
        let r = Record::parse("  V = DMARC1 ;\tP = Reject ; SP=NONE ; ADKIM = S ; PCT = 050 ;")
            .unwrap();
        assert_eq!(r.policy, Policy::Reject);
        assert_eq!(r.subdomain_policy, Some(Policy::None));
        assert_eq!(r.dkim_alignment, Alignment::Strict);
        assert_eq!(r.percent.get(), 50);
        // The version value is case-sensitive (%x notation in the ABNF).
        assert_eq!(Record::parse("v=dmarc1; p=none"), Err(Error::NotDmarc));
        assert_eq!(Record::parse("v=DMARC10; p=none"), Err(Error::NotDmarc));
        assert_eq!(Record::parse("v=DMARC1p=none"), Err(Error::NotDmarc));
    }

    #[test]
    fn version_must_come_first() {
        for txt in
            ["p=none; v=DMARC1", "v=spf1 -all", "", "  ", "; v=DMARC1; p=none", "v=DMARC2; p=none"]
        {
            assert!(!is_dmarc_record(txt), "{txt:?}");
            assert_eq!(Record::parse(txt), Err(Error::NotDmarc), "{txt:?}");
        }
        assert!(is_dmarc_record("v=DMARC1"));
        assert!(is_dmarc_record("v=DMARC1;"));
        assert!(is_dmarc_record("v = DMARC1 ; p=none"));
    }

    #[test]
    fn unknown_tags_ignored() {
        let r = Record::parse("v=DMARC1; p=reject; np=quarantine; t=y; psd=n; x_y=a b c;").unwrap();
        assert_eq!(r.policy, Policy::Reject);
        assert_eq!(r.to_string(), "v=DMARC1; p=reject");
    }

    #[test]
    fn errors_name_the_tag_and_position() {
        let cases: &[(&str, Error)] = &[
            (
                "v=DMARC1; p=block",
                Error::InvalidValue {
                    tag: "p",
                    value: "block".into(),
                    position: 12,
                    expected: "none, quarantine or reject",
                },
            ),
            (
                "v=DMARC1; p=none; adkim=x",
                Error::InvalidValue {
                    tag: "adkim",
                    value: "x".into(),
                    position: 24,
                    expected: "r (relaxed) or s (strict)",
                },
            ),
            (
                "v=DMARC1; p=none; ri=-1",
                Error::InvalidValue {
                    tag: "ri",
                    value: "-1".into(),
                    position: 21,
                    expected: "a number of seconds (32-bit)",
                },
            ),
            (
                "v=DMARC1; p=none; fo=0:x",
                Error::InvalidValue {
                    tag: "fo",
                    value: "0:x".into(),
                    position: 21,
                    expected: "0, 1, d or s, separated by \":\"",
                },
            ),
            (
                "v=DMARC1; p=none; rua=mailto:a@example.com, dmarc@example.com",
                Error::InvalidUri {
                    tag: "rua",
                    uri: "dmarc@example.com".into(),
                    position: 44,
                    reason: "no scheme (such as mailto:)",
                },
            ),
            ("v=DMARC1; p=none; p=reject", Error::DuplicateTag { tag: "p", position: 18 }),
            ("v=DMARC1; p=none; V=DMARC1", Error::DuplicateTag { tag: "v", position: 18 }),
            ("v=DMARC1; p=none; junk", Error::MalformedTag { text: "junk".into(), position: 18 }),
            ("v=DMARC1; p=none; =x", Error::MalformedTag { text: "=x".into(), position: 18 }),
            ("v=DMARC1; rua=mailto:a@example.com; p=none", Error::PolicyNotFirst { position: 36 }),
            ("v=DMARC1; sp=none", Error::MissingPolicy),
        ];
        for (txt, want) in cases {
            assert_eq!(&Record::parse(txt).unwrap_err(), want, "{txt:?}");
            let msg = want.to_string();
            if let Error::InvalidValue { tag, .. } | Error::InvalidUri { tag, .. } = want {
                assert!(msg.contains(&format!("{tag}=")), "{msg}");
            }
        }
        assert_eq!(
            Record::parse("v=DMARC1; p=none; rua=mailto:a@x.example!5q").unwrap_err().to_string(),
            "invalid report URI \"mailto:a@x.example!5q\" in rua= at position 22: \
             size limit after \"!\" must be digits with an optional k, m, g or t"
        );
    }

    #[test]
    fn pct_range() {
        for ok in ["0", "1", "100", "007"] {
            assert!(Record::parse(&format!("v=DMARC1; p=none; pct={ok}")).is_ok(), "{ok}");
        }
        for bad in ["101", "1000", "0100", "", "5%", "-1", "255", "256"] {
            assert!(
                matches!(
                    Record::parse(&format!("v=DMARC1; p=none; pct={bad}")),
                    Err(Error::InvalidValue { tag: "pct", .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn lenient_repairs_as_rfc_6_6_3_step_6() {
        // No p, but a valid rua: act as p=none.
        let l = Record::parse_lenient("v=DMARC1; sp=reject; rua=mailto:d@example.com").unwrap();
        assert_eq!(l.record.policy, Policy::None);
        assert_eq!(l.record.subdomain_policy, None);
        assert_eq!(l.problems, [Error::MissingPolicy]);
        // Invalid sp with a valid rua: p=none as well (not p=reject).
        let l = Record::parse_lenient("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com")
            .unwrap();
        assert_eq!(l.record.policy, Policy::None);
        assert_eq!(l.problems.len(), 1);
        // Without a valid rua the record is unusable.
        assert_eq!(
            Record::parse_lenient("v=DMARC1; p=bogus; rua=nope"),
            Err(Error::InvalidValue {
                tag: "p",
                value: "bogus".into(),
                position: 12,
                expected: "none, quarantine or reject"
            })
        );
        assert_eq!(Record::parse_lenient("v=DMARC1"), Err(Error::MissingPolicy));
    }

    #[test]
    fn lenient_uses_defaults_for_other_errors() {
        let l = Record::parse_lenient(
            "v=DMARC1; p=reject; pct=200; adkim=x; aspf=s; ri=soon; fo=7; rf=a_b; \
             rua=mailto:ok@example.com,bad uri,mailto:ok2@example.com; garbage",
        )
        .unwrap();
        let r = &l.record;
        assert_eq!(r.policy, Policy::Reject);
        assert_eq!(r.percent, Percent::ALL);
        assert_eq!(r.dkim_alignment, Alignment::Relaxed);
        assert_eq!(r.spf_alignment, Alignment::Strict);
        assert_eq!(r.report_interval, DEFAULT_REPORT_INTERVAL);
        assert_eq!(r.failure_options, [FailureOption::AllFail]);
        assert_eq!(r.report_formats, [ReportFormat::afrf()]);
        assert_eq!(r.aggregate_report_uris.len(), 2);
        let tags: Vec<_> = l
            .problems
            .iter()
            .map(|p| match p {
                Error::InvalidValue { tag, .. } | Error::InvalidUri { tag, .. } => *tag,
                Error::MalformedTag { .. } => "malformed",
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(tags, ["pct", "adkim", "ri", "fo", "rf", "rua", "malformed"]);
        // p later than second: applied, but reported.
        let l = Record::parse_lenient("v=DMARC1; rua=mailto:a@example.com; p=reject").unwrap();
        assert_eq!(l.record.policy, Policy::Reject);
        assert!(matches!(l.problems[..], [Error::PolicyNotFirst { .. }]));
    }

    #[test]
    fn uris() {
        for ok in [
            "mailto:dmarc@example.com",
            "mailto:dmarc+tag@example.com?subject=report",
            "mailto:a%2Cb@example.com",
            "https://reports.example.com/dmarc",
            "mailto:x@example.com!0",
            "mailto:x@example.com!18446744073709551615",
            "mailto:x@example.com!5T",
        ] {
            assert!(ReportUri::parse(ok).is_ok(), "{ok}");
            assert_eq!(ReportUri::parse(ok).unwrap().to_string().to_lowercase(), ok.to_lowercase());
        }
        for (bad, reason) in [
            ("", "empty URI"),
            ("dmarc@example.com", "no scheme (such as mailto:)"),
            ("1mailto:x@example.com", "invalid scheme"),
            ("mailto:", "nothing after the scheme"),
            ("mailto:a b@example.com", "character not allowed in a URI"),
            ("mailto:a%zz@example.com", "malformed percent-encoding"),
            ("mailto:a%2@example.com", "malformed percent-encoding"),
            ("mailto:d@bücher.example", "non-ASCII character (URIs must be percent-encoded)"),
            (
                "mailto:x@example.com!",
                "size limit after \"!\" must be digits with an optional k, m, g or t",
            ),
            (
                "mailto:x@example.com!m",
                "size limit after \"!\" must be digits with an optional k, m, g or t",
            ),
            (
                "mailto:x@example.com!1!2",
                "size limit after \"!\" must be digits with an optional k, m, g or t",
            ),
            ("mailto:x@example.com!18446744073709551616", "size limit does not fit in 64 bits"),
        ] {
            assert_eq!(ReportUri::parse(bad), Err(reason), "{bad:?}");
        }
        let big = ReportUri::parse("mailto:x@example.com!18446744073709551615t").unwrap();
        assert_eq!(big.max_size_bytes(), Some(u64::MAX));
        let edge = ReportUri::parse("mailto:x@example.com!16777215t").unwrap();
        assert_eq!(edge.max_size_bytes(), Some(16777215 << 40));
        let over = ReportUri::parse("mailto:x@example.com!16777216t").unwrap();
        assert_eq!(over.max_size_bytes(), Some(u64::MAX));
    }

    #[test]
    fn effective_subdomain_policy() {
        let r = Record::parse("v=DMARC1; p=reject").unwrap();
        assert_eq!(r.effective_subdomain_policy(), Policy::Reject);
        let r = Record::parse("v=DMARC1; p=reject; sp=none").unwrap();
        assert_eq!(r.effective_subdomain_policy(), Policy::None);
    }
}
