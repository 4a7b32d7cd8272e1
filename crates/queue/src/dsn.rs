//! Delivery status notifications (RFC 3464): composing the `multipart/report` messages the
//! queue sends for failed, delayed and (when asked for) successful deliveries, and parsing
//! their `message/delivery-status` part.
//!
//! A DSN has three parts (RFC 3462, RFC 3464 §2): a human-readable explanation, the
//! machine-readable status (per-message fields, then a group of fields per recipient), and the
//! original message or only its header (RFC 3461 §4.3 RET). With SMTPUTF8 (RFC 6533) the status
//! and header parts are `message/global-delivery-status` and `message/global-headers`.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use queue::dsn::{Action, Dsn, DsnRecipient, parse_delivery_status};
//!
//! let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let dsn = Dsn {
//!     from: "postmaster@mail.example.org".into(),
//!     to: "alice@example.org".into(),
//!     subject: "mail delivery failed".into(),
//!     message_id: "dsn.1@mail.example.org".into(),
//!     references: None,
//!     date: t,
//!     text_body: "Delivery to bob@example.net failed.\n".into(),
//!     reporting_mta: "mail.example.org".into(),
//!     envid: Some("env-1".into()),
//!     arrival_date: t,
//!     future_release_request: None,
//!     recipients: vec![DsnRecipient {
//!         final_recipient: "rfc822;bob@example.net".into(),
//!         original_recipient: None,
//!         action: Action::Failed,
//!         status: "5.1.1".into(),
//!         remote_mta: Some("dns;mx.example.net".into()),
//!         diagnostic_code: Some("smtp; 550 5.1.1 no such user".into()),
//!         last_attempt_date: Some(t),
//!         will_retry_until: None,
//!     }],
//!     original: Some(queue::dsn::Original { data: b"Subject: hi\r\n\r\nbody\r\n".to_vec(), full: false }),
//!     smtputf8: false,
//! };
//! let message = dsn.compose();
//! let status = queue::dsn::find_delivery_status(&message).unwrap();
//! let parsed = parse_delivery_status(&status)?;
//! assert_eq!(parsed.field("Original-Envelope-ID"), Some("env-1"));
//! assert_eq!(parsed.recipients[0].field("Action"), Some("failed"));
//! assert_eq!(parsed.recipients[0].field("Status"), Some("5.1.1"));
//! # Ok::<(), queue::dsn::ParseError>(())
//! ```

use std::time::SystemTime;

use crate::clock::unix_ms;

/// What happened to a recipient (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Could not be delivered.
    Failed,
    /// Not delivered yet; attempts continue.
    Delayed,
    /// Delivered to the recipient's mailbox.
    Delivered,
    /// Handed to a next hop that does not send DSNs.
    Relayed,
    /// Delivered and forwarded to more recipients.
    Expanded,
}

impl Action {
    /// The field value.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
            Action::Expanded => "expanded",
        }
    }
}

/// The per-recipient fields of a DSN (RFC 3464 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// `Final-Recipient`, `addr-type;address`.
    pub final_recipient: String,
    /// `Original-Recipient` (the ORCPT parameter), `addr-type;address`.
    pub original_recipient: Option<String>,
    /// `Action`.
    pub action: Action,
    /// `Status`: an RFC 3463 code such as `5.1.1`.
    pub status: String,
    /// `Remote-MTA`: `dns;name`.
    pub remote_mta: Option<String>,
    /// `Diagnostic-Code`: `smtp; 550 ...`.
    pub diagnostic_code: Option<String>,
    /// `Last-Attempt-Date`.
    pub last_attempt_date: Option<SystemTime>,
    /// `Will-Retry-Until` (delayed DSNs).
    pub will_retry_until: Option<SystemTime>,
}

/// The original message returned in a DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// The message (or at least its header).
    pub data: Vec<u8>,
    /// Return it whole (RET=FULL); otherwise only its header.
    pub full: bool,
}

/// A DSN to compose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// `From`, an address (postmaster of the reporting host).
    pub from: String,
    /// `To`, the original sender.
    pub to: String,
    /// `Subject`.
    pub subject: String,
    /// `Message-ID`, without angle brackets.
    pub message_id: String,
    /// `References`: the original's Message-ID, with brackets.
    pub references: Option<String>,
    /// `Date`.
    pub date: SystemTime,
    /// The human-readable part; LF line endings are fine.
    pub text_body: String,
    /// `Reporting-MTA`, our host name.
    pub reporting_mta: String,
    /// `Original-Envelope-Id` (the ENVID parameter).
    pub envid: Option<String>,
    /// `Arrival-Date`: when the message was queued.
    pub arrival_date: SystemTime,
    /// `Future-Release-Request` (RFC 4865 §6): the FUTURERELEASE parameter.
    pub future_release_request: Option<String>,
    /// One field group per recipient.
    pub recipients: Vec<DsnRecipient>,
    /// The original, if any is returned.
    pub original: Option<Original>,
    /// The original needed SMTPUTF8: use the `global` types (RFC 6533).
    pub smtputf8: bool,
}

impl Dsn {
    /// The message, with CRLF line endings.
    pub fn compose(&self) -> Vec<u8> {
        let boundary = format!("dsn-{}-{:016x}", unix_ms(self.date), crate::schedule::random_u64());
        let mut m = String::new();
        let header = |m: &mut String, name: &str, value: &str| {
            m.push_str(name);
            m.push_str(": ");
            m.push_str(&one_line(value));
            m.push_str("\r\n");
        };
        header(&mut m, "From", &format!("<{}>", self.from));
        header(&mut m, "To", &format!("<{}>", self.to));
        header(&mut m, "Subject", &self.subject);
        header(&mut m, "Message-Id", &format!("<{}>", self.message_id));
        if let Some(references) = &self.references {
            header(&mut m, "References", references);
        }
        header(&mut m, "Date", &rfc5322_date(self.date));
        header(&mut m, "MIME-Version", "1.0");
        header(
            &mut m,
            "Content-Type",
            &format!("multipart/report; report-type=\"delivery-status\"; boundary=\"{boundary}\""),
        );
        m.push_str("\r\n");

        m.push_str(&format!("--{boundary}\r\n"));
        if self.smtputf8 {
            m.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        } else {
            m.push_str("Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
        }
        for line in self.text_body.lines() {
            let line = if self.smtputf8 { line.to_string() } else { ascii_only(line) };
            m.push_str(&line);
            m.push_str("\r\n");
        }

        m.push_str(&format!("--{boundary}\r\n"));
        if self.smtputf8 {
            m.push_str("Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        } else {
            m.push_str(
                "Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
            );
        }
        let mut status = String::new();
        let field = |s: &mut String, name: &str, value: &str| {
            s.push_str(name);
            s.push_str(": ");
            s.push_str(&one_line(value));
            s.push_str("\r\n");
        };
        if let Some(envid) = &self.envid {
            field(&mut status, "Original-Envelope-Id", envid);
        }
        field(&mut status, "Reporting-MTA", &format!("dns; {}", self.reporting_mta));
        field(&mut status, "Arrival-Date", &rfc5322_date(self.arrival_date));
        if let Some(request) = &self.future_release_request {
            field(&mut status, "Future-Release-Request", request);
        }
        for r in &self.recipients {
            status.push_str("\r\n");
            if let Some(original) = &r.original_recipient {
                field(&mut status, "Original-Recipient", original);
            }
            field(&mut status, "Final-Recipient", &r.final_recipient);
            field(&mut status, "Action", r.action.as_str());
            field(&mut status, "Status", &r.status);
            if let Some(remote) = &r.remote_mta {
                field(&mut status, "Remote-MTA", remote);
            }
            if let Some(diagnostic) = &r.diagnostic_code {
                field(&mut status, "Diagnostic-Code", diagnostic);
            }
            if let Some(t) = r.last_attempt_date {
                field(&mut status, "Last-Attempt-Date", &rfc5322_date(t));
            }
            if let Some(t) = r.will_retry_until {
                field(&mut status, "Will-Retry-Until", &rfc5322_date(t));
            }
        }
        m.push_str(&if self.smtputf8 { status } else { ascii_only(&status) });

        let mut out = m.into_bytes();
        if let Some(original) = &self.original {
            out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
            let eight_bit = original.data.iter().any(|b| *b >= 0x80);
            if original.full {
                let kind = if self.smtputf8 { "message/global" } else { "message/rfc822" };
                let encoding = if eight_bit { "8bit" } else { "7bit" };
                out.extend_from_slice(
                    format!(
                        "Content-Type: {kind}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(&original.data);
            } else {
                let kind =
                    if self.smtputf8 { "message/global-headers" } else { "text/rfc822-headers" };
                let encoding = if eight_bit { "8bit" } else { "7bit" };
                out.extend_from_slice(
                    format!(
                        "Content-Type: {kind}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(header_of(&original.data));
            }
            if !out.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
        } else {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }
}

/// The header section of a message, up to and including the empty line.
pub fn header_of(message: &[u8]) -> &[u8] {
    let header = message::Header::parse(message);
    &message[..header.body_offset().min(message.len())]
}

fn one_line(value: &str) -> String {
    value.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect()
}

fn ascii_only(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii() { c } else { '?' }).collect()
}

fn rfc5322_date(t: SystemTime) -> String {
    message::DateTime::new((unix_ms(t) / 1000) as i64, 0).to_string()
}

/// A parsed `message/delivery-status` part: per-message fields and per-recipient groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryStatus {
    /// The per-message fields, names as written, values unfolded and trimmed.
    pub fields: Vec<(String, String)>,
    /// One group per recipient.
    pub recipients: Vec<FieldGroup>,
}

/// One group of fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldGroup {
    /// Name and value of each field.
    pub fields: Vec<(String, String)>,
}

impl FieldGroup {
    /// The first value of the field `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        find(&self.fields, name)
    }
}

impl DeliveryStatus {
    /// The first value of the per-message field `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        find(&self.fields, name)
    }
}

fn find<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Why a delivery-status part does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line is neither a field, a continuation nor empty.
    #[error("line {line}: not a header field")]
    NotAField {
        /// 1-based line number.
        line: usize,
    },
    /// A continuation line before any field.
    #[error("line {line}: continuation without a field")]
    StrayContinuation {
        /// 1-based line number.
        line: usize,
    },
    /// No per-recipient group (RFC 3464 §2.1 requires one at least).
    #[error("no per-recipient fields")]
    NoRecipients,
    /// The part is larger than we parse (1 MiB).
    #[error("delivery status larger than 1 MiB")]
    TooLarge,
}

/// Parses the body of a `message/delivery-status` part (RFC 3464 §2.1): groups of header-style
/// fields separated by empty lines, the first per message, the others per recipient.
pub fn parse_delivery_status(text: &[u8]) -> Result<DeliveryStatus, ParseError> {
    if text.len() > 1024 * 1024 {
        return Err(ParseError::TooLarge);
    }
    let text = String::from_utf8_lossy(text);
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = current.last_mut() else {
                return Err(ParseError::StrayContinuation { line: i + 1 });
            };
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError::NotAField { line: i + 1 });
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(ParseError::NotAField { line: i + 1 });
        }
        current.push((name.to_string(), value.trim().to_string()));
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let mut groups = groups.into_iter();
    let fields = groups.next().unwrap_or_default();
    let recipients: Vec<FieldGroup> = groups.map(|fields| FieldGroup { fields }).collect();
    if recipients.is_empty() {
        return Err(ParseError::NoRecipients);
    }
    Ok(DeliveryStatus { fields, recipients })
}

/// Finds the delivery-status part of a DSN message (a `multipart/report` with a
/// `message/delivery-status` or `message/global-delivery-status` part) and returns its body.
pub fn find_delivery_status(message: &[u8]) -> Option<Vec<u8>> {
    let parsed = message::Message::parse(message);
    parsed.root().parts().iter().find_map(|part| {
        let ct = part.content_type();
        let is_status = ct.media_type == "message"
            && (ct.subtype == "delivery-status" || ct.subtype == "global-delivery-status");
        is_status.then(|| part.body().to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample(smtputf8: bool, full: bool) -> Dsn {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        Dsn {
            from: "postmaster@mox.example".into(),
            to: "sender@mox.example".into(),
            subject: "mail delivery delayed".into(),
            message_id: "id@mox.example".into(),
            references: Some("<orig@mox.example>".into()),
            date: t,
            text_body: "Delivery has been delayed.\n\nTo: jörg@example.net\n".into(),
            reporting_mta: "mox.example".into(),
            envid: None,
            arrival_date: t,
            future_release_request: Some("until;2023-11-14T22:13:20Z".into()),
            recipients: vec![
                DsnRecipient {
                    final_recipient: "utf-8;jörg@example.net".into(),
                    original_recipient: Some("rfc822;joerg@example.net".into()),
                    action: Action::Delayed,
                    status: "4.0.0".into(),
                    remote_mta: None,
                    diagnostic_code: Some("smtp; 451 4.7.1\r\ntry later".into()),
                    last_attempt_date: Some(t),
                    will_retry_until: Some(t + Duration::from_secs(3600)),
                },
                DsnRecipient {
                    final_recipient: "rfc822;x@example.net".into(),
                    original_recipient: None,
                    action: Action::Delayed,
                    status: "4.4.1".into(),
                    remote_mta: Some("dns;mx.example.net".into()),
                    diagnostic_code: None,
                    last_attempt_date: None,
                    will_retry_until: None,
                },
            ],
            original: Some(Original {
                data: b"Subject: hi\r\nMessage-ID: <orig@mox.example>\r\n\r\nsecret body\r\n"
                    .to_vec(),
                full,
            }),
            smtputf8,
        }
    }

    #[test]
    fn compose_and_parse_back() {
        let message = sample(false, false).compose();
        let text = String::from_utf8(message.clone()).unwrap();
        assert!(text.is_ascii(), "without SMTPUTF8 everything is ASCII:\n{text}");
        assert!(text.contains("Content-Type: multipart/report; report-type=\"delivery-status\""));
        assert!(text.contains("Content-Type: text/rfc822-headers"));
        assert!(!text.contains("secret body"), "RET=HDRS: only the header");
        assert!(text.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
        let status = parse_delivery_status(&find_delivery_status(&message).unwrap()).unwrap();
        assert_eq!(status.field("reporting-mta"), Some("dns; mox.example"));
        assert_eq!(status.field("Future-Release-Request"), Some("until;2023-11-14T22:13:20Z"));
        assert_eq!(status.recipients.len(), 2);
        let r = &status.recipients[0];
        assert_eq!(r.field("Original-Recipient"), Some("rfc822;joerg@example.net"));
        assert_eq!(r.field("Diagnostic-Code"), Some("smtp; 451 4.7.1  try later"));
        assert_eq!(r.field("Will-Retry-Until"), Some("Tue, 14 Nov 2023 23:13:20 +0000"));
        assert_eq!(status.recipients[1].field("Remote-MTA"), Some("dns;mx.example.net"));
        // The message parses as MIME with three parts.
        let parsed = message::Message::parse(&message);
        assert_eq!(parsed.root().parts().len(), 3);
    }

    #[test]
    fn utf8_and_full() {
        let message = sample(true, true).compose();
        let text = String::from_utf8(message.clone()).unwrap();
        assert!(text.contains("Content-Type: message/global-delivery-status"));
        assert!(text.contains("Content-Type: message/global\r\n"));
        assert!(text.contains("secret body"));
        assert!(text.contains("jörg@example.net"));
        assert!(find_delivery_status(&message).is_some());
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            parse_delivery_status(b"Reporting-MTA: dns; x\r\n"),
            Err(ParseError::NoRecipients)
        );
        assert_eq!(
            parse_delivery_status(b" folded\r\n"),
            Err(ParseError::StrayContinuation { line: 1 })
        );
        assert_eq!(
            parse_delivery_status(b"A: b\r\n\r\nno colon\r\n"),
            Err(ParseError::NotAField { line: 3 })
        );
        let ok = parse_delivery_status(b"A: b\n\nAction: failed\n folded\n\n\n").unwrap();
        assert_eq!(ok.recipients[0].field("action"), Some("failed folded"));
    }
}
