//! The operator's view of the queue: which entries an operation applies to ([`Filter`]), and
//! the text `mox queue list` prints ([`format_list`]).

use std::time::{Duration, SystemTime};

use crate::entry::{Entry, QueueId, RecipientState};
use crate::error::Error;

/// Which entries an operation applies to. Every given condition must hold; an empty filter
/// matches every entry.
///
/// It serializes to JSON with mox's queue filter names (`IDs`, `To`, `From`, `Account`,
/// `Transport`) plus `ToDomain` and `Recipient`, for sending over the control socket as mox
/// does.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Filter {
    /// Entry ids (`-id`, repeatable, or `-ids 1,2,3`).
    #[serde(rename = "IDs")]
    pub ids: Vec<QueueId>,
    /// Recipient domain (`-todomain`), compared in ASCII.
    pub to_domain: Option<String>,
    /// A recipient address (`-recipient`), compared case-insensitively.
    pub recipient: Option<String>,
    /// Part of a recipient address (`-to`, v0.0.17's form: `@example.com` matches a domain).
    pub to: Option<String>,
    /// Part of the sender address (`-from`).
    pub from: Option<String>,
    /// The entry's transport (`-transport`); the empty string matches entries without one.
    pub transport: Option<String>,
    /// The submitting account (`-account`).
    pub account: Option<String>,
}

impl Filter {
    /// A filter for one entry.
    pub fn id(id: QueueId) -> Filter {
        Filter { ids: vec![id], ..Filter::default() }
    }

    /// Normalizes what the operator typed: the domain in ASCII (IDNA), `[ip]` kept.
    pub fn normalized(mut self) -> Result<Filter, Error> {
        if let Some(domain) = &self.to_domain {
            let trimmed = domain.trim().trim_end_matches('.');
            let ascii = if trimmed.starts_with('[') {
                trimmed.to_string()
            } else {
                dns::Domain::parse(trimmed)
                    .map_err(|e| Error::InvalidFilter(format!("-todomain {domain:?}: {e}")))?
                    .ascii()
                    .to_string()
            };
            self.to_domain = Some(ascii);
        }
        Ok(self)
    }

    /// Whether `entry` is selected.
    pub fn matches(&self, entry: &Entry) -> bool {
        if !self.ids.is_empty() && !self.ids.contains(&entry.id) {
            return false;
        }
        if let Some(domain) = &self.to_domain
            && !entry.domain.eq_ignore_ascii_case(domain)
        {
            return false;
        }
        if let Some(recipient) = &self.recipient
            && !entry.recipients.iter().any(|r| same_address(&r.address, recipient))
        {
            return false;
        }
        if let Some(to) = &self.to {
            let to = to.to_lowercase();
            if !entry.recipients.iter().any(|r| r.address.to_lowercase().contains(&to)) {
                return false;
            }
        }
        if let Some(from) = &self.from
            && !entry.sender.to_lowercase().contains(&from.to_lowercase())
        {
            return false;
        }
        if let Some(transport) = &self.transport
            && entry.transport.as_deref().unwrap_or("") != transport
        {
            return false;
        }
        if let Some(account) = &self.account
            && entry.account.as_deref() != Some(account.as_str())
        {
            return false;
        }
        true
    }
}

/// Addresses compare case-insensitively, domains also in their Unicode and ASCII forms.
fn same_address(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    match (message::Address::parse(a), message::Address::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.domain == b.domain && a.localpart.as_str().eq_ignore_ascii_case(b.localpart.as_str())
        }
        _ => false,
    }
}

/// The listing of `mox queue list`, as mox prints it, with the attempts added: a `messages:`
/// line, then per entry its id, queue time, sender, the recipients still pending (all if none
/// is), attempts made, time until the next attempt, time since the last and the last error;
/// `(none)` for an empty queue.
///
/// ```
/// let text = queue::format_list(&[], std::time::SystemTime::now());
/// assert_eq!(text, "messages:\n(none)\n");
/// ```
pub fn format_list(entries: &[Entry], now: SystemTime) -> String {
    let mut out = String::from("messages:\n");
    for e in entries {
        let mut to: Vec<&str> = e
            .recipients
            .iter()
            .filter(|r| r.state == RecipientState::Pending)
            .map(|r| r.address.as_str())
            .collect();
        if to.is_empty() {
            to = e.recipients.iter().map(|r| r.address.as_str()).collect();
        }
        let last =
            e.last_attempt_at().map(|t| go_duration(signed_since(now, t))).unwrap_or_default();
        let mut line = format!(
            "{:5} {} from:<{}> to:{} attempts {} next {} last {} error {:?}",
            e.id.0,
            rfc3339(e.queued_at()),
            e.sender,
            to.iter().map(|a| format!("<{a}>")).collect::<Vec<_>>().join(","),
            e.attempts,
            go_duration(-signed_since(now, e.next_attempt_at())),
            last,
            e.last_error(),
        );
        if e.hold {
            line.push_str(" (on hold)");
        }
        out.push_str(&line);
        out.push('\n');
    }
    if entries.is_empty() {
        out.push_str("(none)\n");
    }
    out
}

/// Seconds from `t` to `now` (negative when `t` is in the future), rounded to seconds.
fn signed_since(now: SystemTime, t: SystemTime) -> i64 {
    match now.duration_since(t) {
        Ok(d) => round_secs(d) as i64,
        Err(e) => -(round_secs(e.duration()) as i64),
    }
}

fn round_secs(d: Duration) -> u64 {
    (d.as_millis() as u64 + 500) / 1000
}

/// A duration as Go's `time.Duration.String` writes whole seconds: `1h2m3s`, `7m30s`, `-5s`,
/// `0s`.
pub(crate) fn go_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

/// RFC 3339 in UTC, to the second: `2024-01-02T03:04:05Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, mo, d) = civil_from_days(days);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// The UTC day, `YYYYMMDD`.
pub(crate) fn day_utc(t: SystemTime) -> String {
    rfc3339(t)[..10].replace('-', "")
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryRecipient;
    use std::time::UNIX_EPOCH;

    fn entry(id: u64, domain: &str, rcpts: &[&str]) -> Entry {
        let json = serde_json::json!({
            "id": id, "queued": 1_700_000_000_000u64, "sender": "me@mox.example", "domain": domain,
            "recipients": [], "attempts": 2, "max_attempts": 9,
            "next_attempt": 1_700_000_450_000u64, "last_attempt": 1_700_000_000_000u64, "size": 5,
        });
        let mut e: Entry = serde_json::from_value(json).unwrap();
        e.recipients = rcpts
            .iter()
            .map(|a| EntryRecipient {
                address: a.to_string(),
                notify: None,
                orcpt: None,
                state: RecipientState::Pending,
                code: 0,
                secode: String::new(),
                error: String::new(),
            })
            .collect();
        e
    }

    #[test]
    fn filters() {
        let a = entry(1, "example.com", &["x@example.com", "Y@example.com"]);
        let mut b = entry(2, "xn--bcher-kva.example", &["z@bücher.example"]);
        b.transport = Some("smarthost".into());
        let f = |f: Filter| {
            [&a, &b].iter().filter(|e| f.matches(e)).map(|e| e.id.0).collect::<Vec<_>>()
        };
        assert_eq!(f(Filter::default()), [1, 2]);
        assert_eq!(f(Filter::id(QueueId(2))), [2]);
        let unicode = Filter { to_domain: Some("Bücher.example".into()), ..Filter::default() };
        assert_eq!(f(unicode.normalized().unwrap()), [2]);
        assert_eq!(f(Filter { recipient: Some("y@EXAMPLE.com".into()), ..Filter::default() }), [1]);
        assert_eq!(
            f(Filter { recipient: Some("z@xn--bcher-kva.example".into()), ..Filter::default() }),
            [2]
        );
        assert_eq!(f(Filter { to: Some("@example.com".into()), ..Filter::default() }), [1]);
        assert_eq!(f(Filter { transport: Some(String::new()), ..Filter::default() }), [1]);
        assert_eq!(f(Filter { transport: Some("smarthost".into()), ..Filter::default() }), [2]);
        assert_eq!(f(Filter { from: Some("ME@".into()), ..Filter::default() }), [1, 2]);
        let bad = Filter { to_domain: Some("a..b".into()), ..Filter::default() };
        assert!(bad.normalized().is_err());
        let json = serde_json::to_string(&Filter {
            ids: vec![QueueId(3)],
            to: Some("@x".into()),
            ..Filter::default()
        })
        .unwrap();
        assert!(json.contains(r#""IDs":[3]"#) && json.contains(r#""To":"@x""#), "{json}");
        let back: Filter = serde_json::from_str(r#"{"IDs":[1,2],"Transport":""}"#).unwrap();
        assert_eq!((back.ids.len(), back.transport.as_deref()), (2, Some("")));
    }

    #[test]
    fn list_format() {
        let mut e = entry(7, "example.com", &["x@example.com", "y@example.com"]);
        e.recipients[0].state = RecipientState::Delivered;
        e.results.push(crate::entry::AttemptResult {
            start: 0,
            duration_ms: 0,
            success: false,
            code: 451,
            secode: "4.7.1".into(),
            error: "greylisted".into(),
            host: None,
            tls: None,
        });
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_030);
        assert_eq!(
            format_list(&[e], now),
            "messages:\n    7 2023-11-14T22:13:20Z from:<me@mox.example> to:<y@example.com> attempts 2 next 7m0s last 30s error \"greylisted\"\n"
        );
        assert_eq!(go_duration(-5), "-5s");
        assert_eq!(go_duration(3723), "1h2m3s");
        assert_eq!(day_utc(now), "20231114");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }
}
