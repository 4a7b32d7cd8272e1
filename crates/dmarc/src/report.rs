//! Aggregate reports (RFC 7489 §7.2, Appendix C): the XML `feedback` document that receivers
//! mail to the `rua=` addresses, as XML, gzip or zip.
//!
//! The types follow the Appendix C schema, with its names; [`parse_xml`] reads them, and their
//! `Serialize` implementation writes JSON (or XML again) with the same element names, except
//! that lists are plural (`records`, `errors`, `reasons`).
//!
//! Reports come from many implementations, so parsing is tolerant where it costs nothing:
//! surrounding whitespace is ignored, keywords are case-insensitive, unknown keywords are kept
//! as `Unknown(..)` rather than failing the report, fields that large senders leave out are
//! optional, and elements the schema does not have (such as those of DMARCbis drafts) are
//! ignored. What a report cannot do without (the metadata, the published policy's domain and
//! policy, each row's source IP, count and evaluated policy, and the header From) is required.

use std::io::{Cursor, Read};
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::Error;

/// The largest report accepted, in bytes, after decompression: 20 MiB. Large senders' daily
/// reports for busy domains reach a few MiB; this leaves room while bounding memory against
/// compression bombs.
pub const MAX_REPORT_SIZE: usize = 20 * 1024 * 1024;

/// An aggregate report: the `feedback` root element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The report format version (`1.0`), often absent.
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Who sent the report and for which period.
    pub report_metadata: ReportMetadata,
    /// The DMARC record the reporter applied.
    pub policy_published: PolicyPublished,
    /// One entry per group of messages with the same source IP and results.
    #[serde(default, rename(deserialize = "record", serialize = "records"))]
    pub records: Vec<ReportRecord>,
}

/// The `report_metadata` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMetadata {
    /// The reporting organization, such as `google.com`.
    #[serde(deserialize_with = "text")]
    pub org_name: String,
    /// The reporter's contact address.
    #[serde(deserialize_with = "text")]
    pub email: String,
    /// More contact information, usually a URL.
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub extra_contact_info: Option<String>,
    /// The report's identifier, unique per reporter.
    #[serde(deserialize_with = "text")]
    pub report_id: String,
    /// The period the report covers.
    pub date_range: DateRange,
    /// Errors the reporter ran into.
    #[serde(
        default,
        rename(deserialize = "error", serialize = "errors"),
        deserialize_with = "text_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<String>,
}

/// The `date_range` element: the period covered, in seconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// Start of the period.
    #[serde(deserialize_with = "number")]
    pub begin: i64,
    /// End of the period.
    #[serde(deserialize_with = "number")]
    pub end: i64,
}

/// The `policy_published` element: the DMARC record as the reporter found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPublished {
    /// The domain at which the record was found.
    #[serde(deserialize_with = "text")]
    pub domain: String,
    /// `adkim=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adkim: Option<AlignmentType>,
    /// `aspf=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspf: Option<AlignmentType>,
    /// `p=`.
    pub p: DispositionType,
    /// `sp=`; many reporters leave it out when the record has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp: Option<DispositionType>,
    /// `pct=`.
    #[serde(default, deserialize_with = "opt_number", skip_serializing_if = "Option::is_none")]
    pub pct: Option<u32>,
    /// `fo=`.
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub fo: Option<String>,
}

/// The `record` element: results for a group of messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// Source, count and what the reporter did.
    pub row: Row,
    /// The message's identifiers.
    pub identifiers: Identifiers,
    /// The SPF and DKIM results, before DMARC alignment.
    #[serde(default)]
    pub auth_results: AuthResults,
}

/// The `row` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The connecting IP address, IPv4 or IPv6.
    #[serde(deserialize_with = "ip_address")]
    pub source_ip: IpAddr,
    /// The number of messages.
    #[serde(deserialize_with = "number")]
    pub count: u64,
    /// The DMARC outcome.
    pub policy_evaluated: PolicyEvaluated,
}

/// The `policy_evaluated` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEvaluated {
    /// What the reporter did with the messages.
    pub disposition: DispositionType,
    /// Whether DKIM passed with alignment.
    pub dkim: DmarcResultType,
    /// Whether SPF passed with alignment.
    pub spf: DmarcResultType,
    /// Why the disposition differs from the policy, if it does.
    #[serde(
        default,
        rename(deserialize = "reason", serialize = "reasons"),
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reasons: Vec<PolicyOverrideReason>,
}

/// The `reason` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyOverrideReason {
    /// The kind of override.
    #[serde(rename = "type")]
    pub kind: PolicyOverrideType,
    /// Free text.
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `identifiers` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifiers {
    /// The envelope recipient domain.
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub envelope_to: Option<String>,
    /// The RFC5321.MailFrom domain (the schema requires it; large senders leave it out).
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub envelope_from: Option<String>,
    /// The RFC5322.From domain.
    #[serde(deserialize_with = "text")]
    pub header_from: String,
}

/// The `auth_results` element: raw SPF and DKIM results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResults {
    /// One entry per DKIM signature.
    #[serde(default)]
    pub dkim: Vec<DkimAuthResult>,
    /// SPF results (normally one).
    #[serde(default)]
    pub spf: Vec<SpfAuthResult>,
}

/// A `dkim` element of `auth_results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimAuthResult {
    /// The signature's `d=`.
    #[serde(deserialize_with = "text")]
    pub domain: String,
    /// The signature's `s=`.
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The verification result.
    pub result: DkimResultType,
    /// Free text about the result.
    #[serde(default, deserialize_with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub human_result: Option<String>,
}

/// An `spf` element of `auth_results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfAuthResult {
    /// The domain SPF was checked for.
    #[serde(deserialize_with = "text")]
    pub domain: String,
    /// Whether that was the MAIL FROM or the HELO domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<SpfDomainScope>,
    /// The SPF result.
    pub result: SpfResultType,
}

/// Declares a schema enumeration: known values (case-insensitive, with aliases seen in the
/// wild), and `Unknown` keeping any other value.
macro_rules! schema_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)* ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value the schema does not have, as written (trimmed).
            Unknown(String),
        }

        impl $name {
            /// The value as the schema writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Unknown(text) => text,
                }
            }

            /// Reads a value: trimmed, case-insensitive.
            pub fn from_text(text: &str) -> $name {
                let text = text.trim();
                $(
                    if text.eq_ignore_ascii_case($text) $(|| text.eq_ignore_ascii_case($alias))* {
                        return $name::$variant;
                    }
                )*
                $name::Unknown(text.to_string())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                Ok($name::from_text(&String::deserialize(deserializer)?))
            }
        }
    };
}

schema_enum! {
    /// `AlignmentType`: `adkim`/`aspf` of the published policy.
    AlignmentType {
        /// `r`.
        Relaxed = "r" | "relaxed",
        /// `s`.
        Strict = "s" | "strict",
    }
}

schema_enum! {
    /// `DispositionType`: a policy (`p`, `sp`) or what was done (`disposition`).
    DispositionType {
        /// `none`.
        None = "none",
        /// `quarantine`.
        Quarantine = "quarantine",
        /// `reject`.
        Reject = "reject",
    }
}

schema_enum! {
    /// `DMARCResultType`: SPF or DKIM with alignment.
    DmarcResultType {
        /// `pass`.
        Pass = "pass",
        /// `fail`.
        Fail = "fail",
    }
}

schema_enum! {
    /// `PolicyOverrideType`: why the disposition differs from the policy.
    PolicyOverrideType {
        /// `forwarded`.
        Forwarded = "forwarded",
        /// `sampled_out`: not selected by `pct=`.
        SampledOut = "sampled_out",
        /// `trusted_forwarder`.
        TrustedForwarder = "trusted_forwarder",
        /// `mailing_list`.
        MailingList = "mailing_list",
        /// `local_policy`.
        LocalPolicy = "local_policy",
        /// `other`.
        Other = "other",
    }
}

schema_enum! {
    /// `DKIMResultType` (RFC 7001 §2.6.1).
    DkimResultType {
        /// `none`.
        None = "none",
        /// `pass`.
        Pass = "pass",
        /// `fail`.
        Fail = "fail",
        /// `policy`.
        Policy = "policy",
        /// `neutral`.
        Neutral = "neutral",
        /// `temperror`.
        Temperror = "temperror",
        /// `permerror`.
        Permerror = "permerror",
    }
}

schema_enum! {
    /// `SPFDomainScope`.
    SpfDomainScope {
        /// `helo`.
        Helo = "helo" | "ehlo",
        /// `mfrom`: the MAIL FROM domain.
        MailFrom = "mfrom" | "mailfrom",
    }
}

schema_enum! {
    /// `SPFResultType`. The schema notes that temperror is "commonly implemented as
    /// "unknown"" and permerror as "error": those values are read as temperror and permerror.
    SpfResultType {
        /// `none`.
        None = "none",
        /// `neutral`.
        Neutral = "neutral",
        /// `pass`.
        Pass = "pass",
        /// `fail`.
        Fail = "fail" | "hardfail",
        /// `softfail`.
        Softfail = "softfail",
        /// `temperror`.
        Temperror = "temperror" | "unknown",
        /// `permerror`.
        Permerror = "permerror" | "error",
    }
}

/// Parses an aggregate report from its XML (UTF-8, or the encoding the XML declaration names).
///
/// ```
/// let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
/// <feedback>
///   <report_metadata>
///     <org_name>receiver.example</org_name>
///     <email>dmarc-reports@receiver.example</email>
///     <report_id>2002.02.15.1</report_id>
///     <date_range><begin>1013662812</begin><end>1013749130</end></date_range>
///   </report_metadata>
///   <policy_published><domain>example.com</domain><p>reject</p></policy_published>
///   <record>
///     <row>
///       <source_ip>2001:db8::25</source_ip>
///       <count>3</count>
///       <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>
///     </row>
///     <identifiers><header_from>example.com</header_from></identifiers>
///     <auth_results>
///       <dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim>
///       <spf><domain>bounces.example.net</domain><result>pass</result></spf>
///     </auth_results>
///   </record>
/// </feedback>"#;
/// let report = dmarc::report::parse_xml(xml)?;
/// assert_eq!(report.records[0].row.source_ip.to_string(), "2001:db8::25");
/// assert_eq!(report.records[0].row.count, 3);
/// # Ok::<(), dmarc::Error>(())
/// ```
pub fn parse_xml(xml: &[u8]) -> Result<Feedback, Error> {
    if xml.len() > MAX_REPORT_SIZE {
        return Err(Error::ReportTooLarge { limit: MAX_REPORT_SIZE });
    }
    let text = decode_text(xml)?;
    let text = text.trim_start_matches('\u{feff}');
    check_root(text)?;
    quick_xml::de::from_str(text).map_err(|e| Error::InvalidXml { reason: e.to_string() })
}

/// Parses a report file as mailed: gzip-compressed XML (`.xml.gz`), a zip archive holding the
/// XML (`.zip`), or plain XML, recognized by content rather than by name. Decompressed size is
/// limited to [`MAX_REPORT_SIZE`].
pub fn parse_file(data: &[u8]) -> Result<Feedback, Error> {
    match sniff(data) {
        Some(Format::Gzip) => parse_xml(&gunzip(data)?),
        Some(Format::Zip) => parse_xml(&unzip(data)?),
        Some(Format::Xml) => parse_xml(data),
        None => Err(Error::NoReport),
    }
}

/// Parses the aggregate report in a message (RFC 7489 §7.2.1.1): the first MIME part that holds
/// a report as XML, gzip or zip. Senders differ (Google sends the zip as the whole message,
/// Microsoft nests a gzip attachment after multipart/related text, others add a text/plain
/// part), so every leaf part of an `application/*` or XML type, or with a `.xml`, `.gz` or
/// `.zip` file name, is tried, recognized by content. A part that looks like a report but does
/// not parse gives that error; a message without such a part gives [`Error::NoReport`].
pub fn parse_message(data: &[u8]) -> Result<Feedback, Error> {
    let msg = message::Message::parse(data);
    let mut first_error = None;
    for part in msg.root().walk() {
        if part.is_multipart() || part.embedded_message().is_some() || !may_hold_report(part) {
            continue;
        }
        match parse_file(&part.decoded_body()) {
            Ok(feedback) => return Ok(feedback),
            Err(Error::NoReport) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(Error::NoReport))
}

fn may_hold_report(part: &message::Part<'_>) -> bool {
    let content_type = part.content_type();
    if content_type.media_type == "application" || content_type.subtype == "xml" {
        return true;
    }
    part.filename().is_some_and(|name| {
        let name = name.to_ascii_lowercase();
        [".xml", ".gz", ".zip"].iter().any(|ext| name.ends_with(ext))
    })
}

/// The formats a report file comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Gzip,
    Zip,
    Xml,
}

/// Recognizes a report file by its first bytes.
pub(crate) fn sniff(data: &[u8]) -> Option<Format> {
    if data.starts_with(&[0x1f, 0x8b]) {
        return Some(Format::Gzip);
    }
    if data.starts_with(b"PK\x03\x04") {
        return Some(Format::Zip);
    }
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    // UTF-16 XML starts with a byte order mark.
    if first == Some(&b'<') || data.starts_with(b"\xff\xfe") || data.starts_with(b"\xfe\xff") {
        return Some(Format::Xml);
    }
    None
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, Error> {
    read_limited(flate2::read::MultiGzDecoder::new(data), "gzip")
}

fn unzip(data: &[u8]) -> Result<Vec<u8>, Error> {
    let zip_error =
        |e: zip::result::ZipError| Error::Decompress { format: "zip", reason: e.to_string() };
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).map_err(zip_error)?;
    // Reporters put one .xml file in the archive; take the first .xml file, or the only file.
    let is_xml = |i: usize| {
        archive
            .name_for_index(i)
            .and_then(Result::ok)
            .is_some_and(|name| name.to_ascii_lowercase().ends_with(".xml"))
    };
    let index = (0..archive.len()).find(|&i| is_xml(i)).or((archive.len() == 1).then_some(0));
    let Some(index) = index else {
        return Err(Error::Decompress {
            format: "zip",
            reason: format!("no .xml file among the {} files in the archive", archive.len()),
        });
    };
    let file = archive.by_index(index).map_err(zip_error)?;
    read_limited(file, "zip")
}

/// Reads everything, failing beyond [`MAX_REPORT_SIZE`] without reading much further.
fn read_limited(reader: impl Read, format: &'static str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    reader
        .take(MAX_REPORT_SIZE as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Decompress { format, reason: e.to_string() })?;
    if out.len() > MAX_REPORT_SIZE {
        return Err(Error::ReportTooLarge { limit: MAX_REPORT_SIZE });
    }
    Ok(out)
}

/// The XML as text: UTF-8 (reporters' norm), UTF-16 with a byte order mark, or the encoding
/// named in the XML declaration (such as ISO-8859-1).
fn decode_text(xml: &[u8]) -> Result<std::borrow::Cow<'_, str>, Error> {
    if let Ok(text) = std::str::from_utf8(xml) {
        return Ok(text.into());
    }
    if let Some((encoding, _)) = encoding_rs::Encoding::for_bom(xml) {
        let (text, _, _) = encoding.decode(xml);
        return Ok(text);
    }
    let head = &xml[..xml.len().min(200)];
    let declared = declared_encoding(head).and_then(encoding_rs::Encoding::for_label);
    match declared {
        Some(encoding) if encoding != encoding_rs::UTF_8 => {
            Ok(encoding.decode_without_bom_handling(xml).0)
        }
        _ => Err(Error::UnknownEncoding),
    }
}

/// The `encoding="..."` label of an XML declaration at the start of `head`.
fn declared_encoding(head: &[u8]) -> Option<&[u8]> {
    let head = head.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = &head[..end];
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let rest = &decl[at + 8..];
    let rest = rest.trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &rest[1..];
    let close = value.iter().position(|&b| b == quote)?;
    Some(&value[..close])
}

/// Checks that the root element is `feedback`, since serde would take any root: an XML file
/// that is something else should say so, not complain about missing fields.
fn check_root(text: &str) -> Result<(), Error> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                let name = e.local_name();
                let name: &str = name.as_ref();
                return if name == "feedback" {
                    Ok(())
                } else {
                    Err(Error::InvalidXml {
                        reason: format!("root element is <{name}>, not <feedback>"),
                    })
                };
            }
            Ok(quick_xml::events::Event::Eof) => {
                return Err(Error::InvalidXml { reason: "no root element".into() });
            }
            Ok(_) => {}
            Err(e) => return Err(Error::InvalidXml { reason: e.to_string() }),
        }
    }
}

// Field readers: trimmed text, and numbers and addresses with errors that name the value.

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let s = String::deserialize(deserializer)?;
    Ok(match s.trim() {
        trimmed if trimmed.len() == s.len() => s,
        trimmed => trimmed.to_string(),
    })
}

fn opt_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let s = Option::<String>::deserialize(deserializer)?;
    Ok(s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

fn text_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(deserializer)?;
    Ok(list.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

fn number<'de, D: Deserializer<'de>, T: std::str::FromStr>(deserializer: D) -> Result<T, D::Error> {
    let s = String::deserialize(deserializer)?;
    s.trim().parse().map_err(|_| de::Error::custom(format!("{:?} is not a valid number", s.trim())))
}

fn opt_number<'de, D: Deserializer<'de>, T: std::str::FromStr>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(s) if !s.trim().is_empty() => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("{:?} is not a valid number", s.trim()))),
        _ => Ok(None),
    }
}

fn ip_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<IpAddr, D::Error> {
    let s = String::deserialize(deserializer)?;
    s.trim()
        .parse()
        .map_err(|_| de::Error::custom(format!("source_ip {:?} is not an IP address", s.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"<feedback>
  <report_metadata>
    <org_name>r.example</org_name><email>d@r.example</email><report_id>1</report_id>
    <date_range><begin>1</begin><end>2</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><p>none</p></policy_published>
  <record>
    <row><source_ip>192.0.2.1</source_ip><count>1</count>
      <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated>
    </row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results>
  </record>
</feedback>"#;

    #[test]
    fn minimal() {
        let f = parse_xml(MINIMAL.as_bytes()).unwrap();
        assert_eq!(f.version, None);
        assert_eq!(f.report_metadata.date_range, DateRange { begin: 1, end: 2 });
        assert_eq!(f.policy_published.p, DispositionType::None);
        assert_eq!(f.policy_published.sp, None);
        assert_eq!(f.records.len(), 1);
        let r = &f.records[0];
        assert_eq!(r.row.source_ip, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(r.row.policy_evaluated.spf, DmarcResultType::Pass);
        assert_eq!(r.identifiers.envelope_from, None);
        assert_eq!(r.auth_results.spf[0].scope, None);
        assert_eq!(r.auth_results.spf[0].result, SpfResultType::Pass);
    }

    #[test]
    fn tolerant_values() {
        let xml = MINIMAL
            .replace(
                "<p>none</p>",
                "<p> Reject </p><sp>QUARANTINE</sp><pct> 50 </pct><fo></fo><np>none</np>",
            )
            .replace("<count>1</count>", "<count>\n 12\n</count>")
            .replace("<result>pass</result>", "<result>unknown</result>")
            .replace("<dkim>fail</dkim>", "<dkim>FAIL</dkim>")
            .replace("<disposition>none</disposition>", "<disposition>junk</disposition>");
        let f = parse_xml(xml.as_bytes()).unwrap();
        assert_eq!(f.policy_published.p, DispositionType::Reject);
        assert_eq!(f.policy_published.sp, Some(DispositionType::Quarantine));
        assert_eq!(f.policy_published.pct, Some(50));
        assert_eq!(f.policy_published.fo, None);
        let r = &f.records[0];
        assert_eq!(r.row.count, 12);
        assert_eq!(r.row.policy_evaluated.dkim, DmarcResultType::Fail);
        assert_eq!(r.row.policy_evaluated.disposition, DispositionType::Unknown("junk".into()));
        assert_eq!(r.auth_results.spf[0].result, SpfResultType::Temperror);
    }

    #[test]
    fn interleaved_lists() {
        let xml = MINIMAL.replace(
            "<auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results>",
            "<auth_results><dkim><domain>a.example</domain><result>pass</result></dkim>\
             <spf><domain>example.com</domain><result>pass</result></spf>\
             <dkim><domain>b.example</domain><result>fail</result></dkim></auth_results>",
        );
        let f = parse_xml(xml.as_bytes()).unwrap();
        let dkim: Vec<_> =
            f.records[0].auth_results.dkim.iter().map(|d| d.domain.as_str()).collect();
        assert_eq!(dkim, ["a.example", "b.example"]);
        assert_eq!(f.records[0].auth_results.spf.len(), 1);
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 200_000;
        let deep = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
        for xml in [
            MINIMAL.replace("<feedback>", &format!("<feedback>{deep}")),
            MINIMAL.replace("<row>", &format!("<row><extra>{deep}</extra>")),
            MINIMAL.replace("<count>1</count>", &format!("<count>{deep}</count>")),
            format!("<feedback>{}", "<x>".repeat(depth)),
        ] {
            // Parsed or rejected; what matters is getting here.
            let _ = parse_xml(xml.as_bytes());
        }
        let f = parse_xml(MINIMAL.replace("<feedback>", &format!("<feedback>{deep}")).as_bytes());
        assert_eq!(f.map(|f| f.records.len()), Ok(1));
    }

    #[test]
    fn errors_are_clear() {
        let cases = [
            (
                MINIMAL.replace("192.0.2.1", "192.0.2.300"),
                "source_ip \"192.0.2.300\" is not an IP address",
            ),
            (
                MINIMAL.replace("<count>1</count>", "<count>many</count>"),
                "\"many\" is not a valid number",
            ),
            (MINIMAL.replace("<p>none</p>", ""), "missing field `p`"),
            (
                MINIMAL.replace(
                    "<identifiers><header_from>example.com</header_from></identifiers>",
                    "",
                ),
                "missing field `identifiers`",
            ),
            (MINIMAL.replace("</feedback>", ""), ""),
            ("<html><body/></html>".into(), "root element is <html>, not <feedback>"),
            ("".into(), "no root element"),
        ];
        for (xml, want) in cases {
            match parse_xml(xml.as_bytes()) {
                Err(Error::InvalidXml { reason }) => {
                    assert!(reason.contains(want), "{reason:?} lacks {want:?}")
                }
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn encodings() {
        // ISO-8859-1, as declared.
        let mut latin1 = br#"<?xml version="1.0" encoding="ISO-8859-1"?>"#.to_vec();
        latin1.extend(
            MINIMAL
                .replace("r.example</org_name>", "Telef\u{f3}nica</org_name>")
                .chars()
                .map(|c| c as u8),
        );
        let f = parse_xml(&latin1).unwrap();
        assert_eq!(f.report_metadata.org_name, "Telefónica");
        // UTF-16LE with a byte order mark.
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(MINIMAL.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(sniff(&utf16), Some(Format::Xml));
        assert_eq!(parse_xml(&utf16).unwrap().report_metadata.org_name, "r.example");
        // UTF-8 with a byte order mark.
        let bom = [b"\xef\xbb\xbf".as_slice(), MINIMAL.as_bytes()].concat();
        assert!(parse_file(&bom).is_ok());
        // Not UTF-8 and nothing declared.
        let mut bad = MINIMAL.as_bytes().to_vec();
        bad.insert(20, 0xff);
        assert_eq!(parse_xml(&bad), Err(Error::UnknownEncoding));
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding = 'windows-1252' ?><x/>"),
            Some(&b"windows-1252"[..])
        );
    }

    #[test]
    fn not_a_report_file() {
        assert_eq!(parse_file(b"%PDF-1.4"), Err(Error::NoReport));
        assert_eq!(parse_file(b""), Err(Error::NoReport));
        assert!(matches!(
            parse_file(b"\x1f\x8bgarbage"),
            Err(Error::Decompress { format: "gzip", .. })
        ));
        assert!(matches!(
            parse_file(b"PK\x03\x04garbage"),
            Err(Error::Decompress { format: "zip", .. })
        ));
    }

    #[test]
    fn json_uses_schema_names() {
        let f = parse_xml(MINIMAL.as_bytes()).unwrap();
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["records"][0]["row"]["source_ip"], "192.0.2.1");
        assert_eq!(json["records"][0]["row"]["policy_evaluated"]["disposition"], "none");
        assert_eq!(json["policy_published"]["p"], "none");
        assert!(json["policy_published"].get("sp").is_none());
        assert_eq!(json["report_metadata"]["date_range"]["begin"], 1);
    }
}
