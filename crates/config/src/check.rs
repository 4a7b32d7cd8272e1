//! Shared helpers of the checks: collecting problems with their file, line and key path, and
//! the small validations mox makes in many places.

use unicode_normalization::UnicodeNormalization;

use crate::error::{ConfigError, ErrorKind};
use crate::sconf::{KeyPath, Positions};

/// Which of the two files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Static,
    Dynamic,
}

/// One file's name and key positions.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileInfo {
    pub(crate) name: String,
    pub(crate) positions: Positions,
    /// Paths with parse problems: checks on them (or below them) would only repeat those.
    pub(crate) broken: Vec<String>,
}

/// Collects the problems found by the checks.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub(crate) static_file: FileInfo,
    pub(crate) dynamic_file: FileInfo,
    pub(crate) errors: Vec<ConfigError>,
    /// Files an edit is about to write (new DKIM keys), read instead of the disk.
    pub(crate) new_files: std::collections::HashMap<std::path::PathBuf, String>,
}

impl Checker {
    pub(crate) fn new(static_file: FileInfo, dynamic_file: FileInfo) -> Checker {
        Checker { static_file, dynamic_file, errors: Vec::new(), new_files: Default::default() }
    }

    fn file(&self, which: Which) -> &FileInfo {
        match which {
            Which::Static => &self.static_file,
            Which::Dynamic => &self.dynamic_file,
        }
    }

    /// Records a problem with the key at `path` in a file.
    pub(crate) fn at(&mut self, which: Which, path: &KeyPath, kind: ErrorKind) {
        let file = self.file(which);
        let rendered = path.to_string();
        let follows_parse_problem = file.broken.iter().any(|b| {
            rendered == *b
                || rendered
                    .strip_prefix(b.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        });
        if follows_parse_problem {
            return;
        }
        let line = file.positions.line(path);
        let error = ConfigError::new(&file.name, line, rendered, kind);
        self.errors.push(error);
    }

    /// Records a rule broken at `path` in mox.conf.
    pub(crate) fn static_err(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.at(Which::Static, path, ErrorKind::Invalid { message: message.into() });
    }

    /// Records a rule broken at `path` in domains.conf.
    pub(crate) fn dynamic_err(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.at(Which::Dynamic, path, ErrorKind::Invalid { message: message.into() });
    }

    /// Checks that a mailbox name is in Unicode NFC, as mox requires.
    pub(crate) fn mailbox_nfc(&mut self, which: Which, path: &KeyPath, mailbox: &str) {
        let normalized: String = mailbox.nfc().collect();
        if normalized != mailbox {
            self.at(
                which,
                path,
                ErrorKind::Invalid {
                    message: format!(
                        "mailbox {mailbox:?} is not in NFC normalized form, should be {normalized:?}"
                    ),
                },
            );
        }
    }
}

/// Parses a domain name as mox does for its config: no trailing dot, not an IP address.
pub(crate) fn parse_domain(name: &str) -> Result<dns::Domain, String> {
    if name.ends_with('.') {
        return Err(format!("invalid domain {name:?}: trailing dot"));
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!("invalid domain {name:?}: an IP address is not a domain name"));
    }
    dns::Domain::parse(name).map_err(|e| format!("invalid domain {name:?}: {e}"))
}

/// Parses a domain that must be written in its Unicode form (lower case, U-labels), as mox
/// requires for the names that are keys of its configuration.
pub(crate) fn parse_domain_unicode(name: &str) -> Result<dns::Domain, String> {
    let domain = parse_domain(name)?;
    if domain.unicode() != name {
        return Err(format!(
            "domain {name:?} must be written in its unicode form, {:?}",
            domain.unicode()
        ));
    }
    Ok(domain)
}

/// Parses a localpart as mox does (SMTP syntax, at most 128 bytes), returning its value
/// normalized to NFC.
pub(crate) fn parse_localpart(text: &str) -> Result<message::Localpart, String> {
    let lp =
        message::Localpart::parse(text).map_err(|e| format!("invalid localpart {text:?}: {e}"))?;
    normalize_localpart(lp).map_err(|e| format!("invalid localpart {text:?}: {e}"))
}

fn normalize_localpart(lp: message::Localpart) -> Result<message::Localpart, String> {
    if lp.as_str().len() > 128 {
        return Err("longer than 128 bytes".into());
    }
    let normalized: String = lp.as_str().nfc().collect();
    message::Localpart::new(&normalized).map_err(|e| e.to_string())
}

/// Parses an address as mox does: SMTP syntax, localpart normalized to NFC.
pub(crate) fn parse_address(text: &str) -> Result<message::Address, String> {
    let addr = message::Address::parse(text)
        .map_err(|e| format!("invalid email address {text:?}: {e}"))?;
    if text.ends_with('.') {
        return Err(format!("invalid email address {text:?}: trailing dot in domain"));
    }
    let lp = normalize_localpart(addr.localpart)
        .map_err(|e| format!("invalid email address {text:?}: {e}"))?;
    Ok(message::Address::new(lp, addr.domain))
}

/// The parent of a mailbox name (`a/b` for `a/b/c`), empty at the top.
pub(crate) fn parent_mailbox(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..i])
}

/// Checks a mailbox name as mox's `CheckMailboxName` does, returning it with an `Inbox`
/// prefix normalized.
pub(crate) fn check_mailbox_name(name: &str, allow_inbox: bool) -> Result<String, String> {
    let mut name = name.to_string();
    let first = name.split('/').next().unwrap_or_default();
    if first.eq_ignore_ascii_case("inbox") {
        if name.len() == 5 && !allow_inbox {
            return Err("special mailbox name Inbox not allowed".into());
        }
        name = format!("Inbox{}", &name[5..]);
    }
    let normalized: String = name.nfc().collect();
    if normalized != name {
        return Err("non-unicode-normalized mailbox names not allowed".into());
    }
    for element in name.split('/') {
        match element {
            "" => return Err("empty mailbox name".into()),
            "." => return Err("\".\" not allowed".into()),
            ".." => return Err("\"..\" not allowed".into()),
            _ => {}
        }
    }
    if name.starts_with('#') {
        return Err(
            "mailbox name cannot start with hash due to conflict with imap namespaces".into()
        );
    }
    if name.chars().any(|c| {
        (c as u32) <= 0x1f
            || (0x7f..=0x9f).contains(&(c as u32))
            || c == '\u{2028}'
            || c == '\u{2029}'
    }) {
        return Err("control characters not allowed in mailbox name".into());
    }
    Ok(name)
}

/// Whether `text` is printable ASCII only (no control characters, no line breaks), as mox
/// requires of texts that go into SMTP and IMAP responses.
pub(crate) fn is_printable_ascii(text: &str) -> bool {
    text.chars().all(|c| (' '..'\x7f').contains(&c))
}

/// The first PEM block's label (`PRIVATE KEY`, `CERTIFICATE`) in `text`.
pub(crate) fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = text[start..].find("-----")?;
    Some(&text[start..start + end])
}

/// The largest file the configuration may name (keys, certificates): far more than any is.
const MAX_NAMED_FILE: u64 = 1 << 20;

/// Reads a file the configuration names (a key or certificate): only a regular file of at most
/// 1 MiB, so a mistaken `/dev/zero` or a FIFO cannot hang loading.
pub(crate) fn read_named_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > MAX_NAMED_FILE {
        return Err(Error::new(ErrorKind::InvalidData, "larger than 1 MiB"));
    }
    let mut text = String::new();
    file.take(MAX_NAMED_FILE).read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_as_mox_reads_them() {
        assert_eq!(parse_domain("Example.COM").unwrap().ascii(), "example.com");
        assert!(parse_domain("example.com.").is_err());
        assert!(parse_domain("10.0.0.1").is_err());
        assert!(parse_domain_unicode("Example.com").is_err());
        assert!(parse_domain_unicode("xn--bcher-kva.example").is_err());
        assert_eq!(
            parse_domain_unicode("bücher.example").unwrap().ascii(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn mailbox_names() {
        assert_eq!(check_mailbox_name("INBOX/sub", false).unwrap(), "Inbox/sub");
        assert!(check_mailbox_name("inbox", false).is_err());
        assert!(check_mailbox_name("a//b", true).is_err());
        assert!(check_mailbox_name("#x", true).is_err());
        assert!(check_mailbox_name("a\u{7}", true).is_err());
        assert_eq!(parent_mailbox("a/b/c"), "a/b");
        assert_eq!(parent_mailbox("a"), "");
    }

    #[test]
    fn localparts() {
        assert_eq!(parse_localpart("a.b").unwrap().as_str(), "a.b");
        assert_eq!(parse_localpart("\"a b\"").unwrap().as_str(), "a b");
        assert!(parse_localpart("a..b").is_err());
        assert!(parse_localpart(&"x".repeat(129)).is_err());
    }
}
