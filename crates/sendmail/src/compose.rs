//! Turning what a local program pipes in into a message fit for submission.

use message::{Address, DateTime, Header};

use crate::args::Invocation;
use crate::config::{RequireTls, SubmitConfig};

/// A message ready to submit, with its envelope.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The message, CRLF line endings.
    pub message: Vec<u8>,
    /// MAIL FROM: the configured From.
    pub from: Address,
    /// RCPT TO, in order, without duplicates.
    pub recipients: Vec<Address>,
}

/// Why a message cannot be submitted as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// No recipient in the arguments, nor (with `-t`) in the header.
    #[error("no recipients")]
    NoRecipients,
    /// A local recipient (no `@`) and no DefaultDestination configured.
    #[error("recipient {recipient:?} has no @ and no DefaultDestination is configured")]
    LocalRecipient {
        /// The recipient as given.
        recipient: String,
    },
    /// A recipient that is not an email address.
    #[error("invalid recipient {recipient:?}: {reason}")]
    InvalidRecipient {
        /// The recipient as given.
        recipient: String,
        /// What is wrong.
        reason: String,
    },
    /// The configured From (or DefaultDestination) is not an email address.
    #[error("invalid {key} {value:?} in configuration: {reason}")]
    InvalidConfigAddress {
        /// The configuration key.
        key: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

/// Builds the message to submit from `input` (as read from standard input):
///
/// - line endings become CRLF;
/// - the From header is replaced by the configured address (with the `-F` name);
/// - with `-t`, recipients come from To, Cc and Bcc too, and Bcc is removed;
/// - To is added when missing (with the recipients), and Date and Message-ID when missing
///   (RFC 5322 §3.6 requires Date; cron's messages have neither);
/// - `TLS-Required: No` is added for `RequireTLS: no` (RFC 8689 §5);
/// - input that does not start with a header (`echo hi | sendmail root`) becomes the body.
///
/// Addresses without `@` go to DefaultDestination. `now` is the Unix time for Date, `unique`
/// a random string for Message-ID.
pub fn compose(
    input: &[u8],
    invocation: &Invocation,
    config: &SubmitConfig,
    now: i64,
    unique: &str,
) -> Result<Prepared, ComposeError> {
    let config_address = |key: &'static str, value: &str| {
        Address::parse(value).map_err(|e| ComposeError::InvalidConfigAddress {
            key,
            value: value.to_string(),
            reason: e.to_string(),
        })
    };
    let from = config_address("From", &config.from)?;
    let default_destination = match config.default_destination.as_str() {
        "" => None,
        value => Some(config_address("DefaultDestination", value)?),
    };
    let resolve = |recipient: &str| -> Result<Address, ComposeError> {
        let trimmed = recipient.trim();
        let bare = trimmed.strip_prefix('<').and_then(|r| r.strip_suffix('>')).unwrap_or(trimmed);
        if !bare.contains('@') {
            return default_destination
                .clone()
                .ok_or_else(|| ComposeError::LocalRecipient { recipient: recipient.to_string() });
        }
        Address::parse(bare).map_err(|e| ComposeError::InvalidRecipient {
            recipient: recipient.to_string(),
            reason: e.to_string(),
        })
    };

    let input = crlf(input);
    let header = Header::parse(&input);
    let body = &input[header.body_offset()..];

    let mut recipients: Vec<Address> = Vec::new();
    let mut add = |address: Address| {
        if !recipients.contains(&address) {
            recipients.push(address);
        }
    };
    for recipient in &invocation.recipients {
        add(resolve(recipient)?);
    }
    if invocation.recipients_from_header {
        for field in header.iter().filter(|f| f.is("to") || f.is("cc") || f.is("bcc")) {
            let value = field.value_bytes();
            match message::parse_address_list(&value) {
                Ok(list) => list
                    .iter()
                    .flat_map(|entry| entry.mailboxes())
                    .for_each(|m| add(m.address.clone())),
                // "To: root": local names, as cron writes them.
                Err(_) if !value.contains(&b'@') => {
                    for name in String::from_utf8_lossy(&value)
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                    {
                        add(resolve(name)?);
                    }
                }
                Err(e) => {
                    return Err(ComposeError::InvalidRecipient {
                        recipient: String::from_utf8_lossy(&value).into_owned(),
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
    if recipients.is_empty() {
        return Err(ComposeError::NoRecipients);
    }

    let mut out = Vec::with_capacity(input.len() + 300);
    out.extend_from_slice(b"From: ");
    if let Some(name) = &invocation.full_name {
        out.extend_from_slice(display_name(name).as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(format!("<{from}>\r\n").as_bytes());
    let add_tls_required = config.require_tls == RequireTls::No;
    for field in header.iter() {
        let replaced = field.is("from")
            || (invocation.recipients_from_header && field.is("bcc"))
            || (add_tls_required && field.is("tls-required"));
        if replaced {
            continue;
        }
        out.extend_from_slice(field.raw());
        if !field.raw().ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    if header.get("to").is_none() {
        let to: Vec<String> = recipients.iter().map(|r| format!("<{r}>")).collect();
        out.extend_from_slice(format!("To: {}\r\n", to.join(", ")).as_bytes());
    }
    if header.get("date").is_none() {
        out.extend_from_slice(format!("Date: {}\r\n", DateTime::new(now, 0)).as_bytes());
    }
    if header.get("message-id").is_none() {
        let host = if config.local_hostname.is_empty() {
            from.domain.ascii()
        } else {
            config.local_hostname.as_str()
        };
        out.extend_from_slice(format!("Message-ID: <{unique}@{host}>\r\n").as_bytes());
    }
    if add_tls_required {
        out.extend_from_slice(b"TLS-Required: No\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(Prepared { message: out, from, recipients })
}

/// Bare LF becomes CRLF; CRLF stays.
fn crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 40);
    let mut previous = 0u8;
    for &b in input {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// A display name for From: a quoted-string, or encoded words (RFC 2047) when not ASCII.
fn display_name(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    if name.is_ascii() {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        message::encode_encoded_words(&name).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SubmitConfig {
        SubmitConfig {
            local_hostname: "host.example.org".into(),
            from: "cron@example.org".into(),
            default_destination: "admin@example.org".into(),
            ..Default::default()
        }
    }

    fn invocation(recipients: &[&str], t: bool, name: Option<&str>) -> Invocation {
        Invocation {
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            recipients_from_header: t,
            full_name: name.map(String::from),
        }
    }

    const NOW: i64 = 1_751_364_000; // Tue, 1 Jul 2025 10:00:00 +0000

    #[test]
    fn cron_message() {
        let input = b"From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> run-parts\nContent-Type: text/plain; charset=UTF-8\n\n.output line\n";
        let prepared = compose(
            input,
            &invocation(&["root"], false, Some("CronDaemon")),
            &config(),
            NOW,
            "abc",
        )
        .unwrap();
        let text = String::from_utf8(prepared.message).unwrap();
        assert_eq!(
            text,
            "From: \"CronDaemon\" <cron@example.org>\r\nTo: root\r\nSubject: Cron <root@host> run-parts\r\nContent-Type: text/plain; charset=UTF-8\r\nDate: Tue, 1 Jul 2025 10:00:00 +0000\r\nMessage-ID: <abc@host.example.org>\r\n\r\n.output line\r\n"
        );
        assert_eq!(prepared.recipients, ["admin@example.org".parse::<Address>().unwrap()]);
        assert_eq!(prepared.from.to_string(), "cron@example.org");
    }

    #[test]
    fn recipients_from_header_and_bcc_removed() {
        let input = b"To: A <a@example.net>, b@example.net\r\nCc: root, \r\nBcc: hidden@example.net\r\nDate: x\r\nMessage-ID: <m@x>\r\nSubject: s\r\n\r\nbody\r\n";
        let prepared = compose(
            input,
            &invocation(&["extra@example.net", "a@example.net"], true, None),
            &config(),
            NOW,
            "u",
        )
        .unwrap();
        let recipients: Vec<String> = prepared.recipients.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            recipients,
            [
                "extra@example.net",
                "a@example.net",
                "b@example.net",
                "admin@example.org",
                "hidden@example.net"
            ]
        );
        let text = String::from_utf8(prepared.message).unwrap();
        assert!(!text.contains("Bcc") && !text.contains("hidden"), "{text}");
        assert!(
            text.starts_with(
                "From: <cron@example.org>\r\nTo: A <a@example.net>, b@example.net\r\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("Subject: s\r\n\r\nbody\r\n"), "{text}");
    }

    #[test]
    fn body_only_input_gets_headers() {
        let prepared = compose(
            b"just a line\nand another",
            &invocation(&["x@example.net"], false, None),
            &config(),
            NOW,
            "u",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(prepared.message).unwrap(),
            "From: <cron@example.org>\r\nTo: <x@example.net>\r\nDate: Tue, 1 Jul 2025 10:00:00 +0000\r\nMessage-ID: <u@host.example.org>\r\n\r\njust a line\r\nand another"
        );
    }

    #[test]
    fn require_tls_no_and_unicode_name() {
        let mut config = config();
        config.require_tls = RequireTls::No;
        let input = b"TLS-Required: yes\r\nSubject: s\r\n\r\nb\r\n";
        let prepared = compose(
            input,
            &invocation(&["x@example.net"], false, Some("J\u{f6}rg \"J\"")),
            &config,
            NOW,
            "u",
        )
        .unwrap();
        let text = String::from_utf8(prepared.message).unwrap();
        assert!(text.starts_with("From: =?utf-8?"), "{text}");
        assert_eq!(text.matches("TLS-Required").count(), 1, "{text}");
        assert!(text.contains("TLS-Required: No\r\n\r\nb\r\n"), "{text}");
        let ascii = compose(
            input,
            &invocation(&["x@example.net"], false, Some("A \"B\" C")),
            &config,
            NOW,
            "u",
        )
        .unwrap();
        assert!(
            String::from_utf8(ascii.message)
                .unwrap()
                .starts_with("From: \"A \\\"B\\\" C\" <cron@example.org>\r\n")
        );
    }

    #[test]
    fn errors() {
        let mut no_default = config();
        no_default.default_destination.clear();
        assert_eq!(
            compose(b"x", &invocation(&["root"], false, None), &no_default, NOW, "u").unwrap_err(),
            ComposeError::LocalRecipient { recipient: "root".into() }
        );
        assert_eq!(
            compose(b"Subject: x\r\n\r\n", &invocation(&[], true, None), &config(), NOW, "u")
                .unwrap_err(),
            ComposeError::NoRecipients
        );
        assert!(matches!(
            compose(b"x", &invocation(&["a@@b"], false, None), &config(), NOW, "u").unwrap_err(),
            ComposeError::InvalidRecipient { .. }
        ));
        let mut bad_from = config();
        bad_from.from = "nobody".into();
        assert!(matches!(
            compose(b"x", &invocation(&["a@example.net"], false, None), &bad_from, NOW, "u")
                .unwrap_err(),
            ComposeError::InvalidConfigAddress { key: "From", .. }
        ));
    }
}
