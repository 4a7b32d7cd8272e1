//! `moxsubmit.conf`: mox's submission configuration, in mox's file format (sconf) and with its
//! key names, so an existing mox user's file works unchanged.
//!
//! ```text
//! # comment
//! Key: value
//! ```
//!
//! One `Key: value` per line; `#` starts a comment line; blank lines are ignored. Booleans are
//! `true` or `false`. Keys are case-sensitive. As with mox's sconf, an unknown key, a repeated
//! key, or a missing required key is an error naming the line or key.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file read when `MOXSUBMIT_CONF` is not set.
pub const DEFAULT_PATH: &str = "/etc/moxsubmit.conf";

/// The environment variable naming another configuration file.
pub const PATH_ENV: &str = "MOXSUBMIT_CONF";

/// The submission settings, one field per key of mox's `moxsubmit.conf`.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubmitConfig {
    /// `LocalHostname`: our name for EHLO.
    pub local_hostname: String,
    /// `Host`: the submission server.
    pub host: String,
    /// `Port`: 465 (TLS), 587 (STARTTLS) or 25.
    pub port: u16,
    /// `TLS`: TLS from the start.
    pub tls: bool,
    /// `STARTTLS`: plaintext, then STARTTLS.
    pub starttls: bool,
    /// `TLSInsecureSkipVerify`: do not verify the server's certificate.
    pub tls_insecure_skip_verify: bool,
    /// `Username`: for SMTP AUTH; empty for none.
    pub username: String,
    /// `Password`: for SMTP AUTH.
    pub password: String,
    /// `ClientAuthEd25519PrivateKey`: a raw-url-base64 Ed25519 private key for a TLS client
    /// certificate (composed automatically).
    pub client_auth_ed25519_private_key: String,
    /// `ClientAuthCertPrivateKeyPEMFile`: a PEM file with a PKCS#8 private key and certificate
    /// for TLS client authentication.
    pub client_auth_cert_private_key_pem_file: String,
    /// `AuthMethod`: only this SASL mechanism; empty for the strongest offered.
    pub auth_method: String,
    /// `From`: MAIL FROM and the From header.
    pub from: String,
    /// `DefaultDestination`: where mail for addresses without `@` goes.
    pub default_destination: String,
    /// `RequireTLS`: `yes`, `no` or empty (RFC 8689).
    pub require_tls: RequireTls,
}

impl std::fmt::Debug for SubmitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &str| if s.is_empty() { "" } else { "***" };
        f.debug_struct("SubmitConfig")
            .field("local_hostname", &self.local_hostname)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("starttls", &self.starttls)
            .field("tls_insecure_skip_verify", &self.tls_insecure_skip_verify)
            .field("username", &self.username)
            .field("password", &secret(&self.password))
            .field(
                "client_auth_ed25519_private_key",
                &secret(&self.client_auth_ed25519_private_key),
            )
            .field(
                "client_auth_cert_private_key_pem_file",
                &self.client_auth_cert_private_key_pem_file,
            )
            .field("auth_method", &self.auth_method)
            .field("from", &self.from)
            .field("default_destination", &self.default_destination)
            .field("require_tls", &self.require_tls)
            .finish()
    }
}

/// The `RequireTLS` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequireTls {
    /// Empty: the submission server follows the recipient domains' policies.
    #[default]
    Default,
    /// `yes`: REQUIRETLS (RFC 8689) to the submission server, over verified TLS.
    Yes,
    /// `no`: add `TLS-Required: No`, allowing delivery without TLS despite policies.
    No,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `Key: value`, or the value does not fit the key.
    #[error("{path}:{line}: {reason}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A required key is absent.
    #[error("{path}: missing required key {key}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
    },
}

/// Each key: name, whether required, and its documentation (mox's, for `describe`).
const KEYS: &[(&str, bool, &str)] = &[
    ("LocalHostname", true, "Hosts don't always have an FQDN, set it explicitly, for EHLO."),
    ("Host", true, "Host to dial for delivery, e.g. mail.<domain>."),
    (
        "Port",
        true,
        "Port to dial for delivery, e.g. 465 for submissions, 587 for submission, or perhaps 25 for smtp.",
    ),
    ("TLS", true, "Connect with TLS. Usually for connections to port 465."),
    (
        "STARTTLS",
        true,
        "After starting in plain text, use STARTTLS to enable TLS. For port 587 and 25.",
    ),
    ("TLSInsecureSkipVerify", false, "If true, do not verify the server TLS identity."),
    ("Username", true, "For SMTP authentication."),
    (
        "Password",
        false,
        "For password-based SMTP authentication, e.g. SCRAM-SHA-256-PLUS, CRAM-MD5, PLAIN.",
    ),
    (
        "ClientAuthEd25519PrivateKey",
        false,
        "If set, used for TLS client authentication with a certificate. The private key must be a raw-url-base64-encoded ed25519 key. A basic certificate is composed automatically. The server must be configured to use a public key with a certificate.",
    ),
    (
        "ClientAuthCertPrivateKeyPEMFile",
        false,
        "If set, an absolute path to a PEM file containing both a PKCS#8 unencrypted private key and a certificate. Used for TLS client authentication.",
    ),
    (
        "AuthMethod",
        true,
        "If set, only attempt this authentication mechanism. E.g. EXTERNAL (for TLS client authentication), SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, CRAM-MD5, PLAIN. If not set, any mutually supported algorithm can be used, in order listed, from most to least secure. It is recommended to specify the strongest authentication mechanism known to be implemented by the server, to prevent mechanism downgrade attacks. Exactly one of Password, ClientAuthEd25519PrivateKey and ClientAuthCertPrivateKeyPEMFile must be set.",
    ),
    ("From", true, "Address for MAIL FROM in SMTP and From-header in message."),
    (
        "DefaultDestination",
        false,
        "Used when specified address does not contain an @ and may be a local user (eg root).",
    ),
    (
        "RequireTLS",
        false,
        "If yes, submission server must implement SMTP REQUIRETLS extension, and connection to submission server must use verified TLS. If no, a TLS-Required header with value no is added to the message, allowing fallback to unverified TLS or plain text delivery despite recpient domain policies. By default, the submission server will follow the policies of the recipient domain (MTA-STS and/or DANE), and apply unverified opportunistic TLS with STARTTLS.",
    ),
];

impl SubmitConfig {
    /// The configuration file to read: `$MOXSUBMIT_CONF` if set and not empty, else
    /// `/etc/moxsubmit.conf`.
    pub fn path_from_env(env: impl Fn(&str) -> Option<String>) -> PathBuf {
        env(PATH_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<SubmitConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        SubmitConfig::parse(&text, path)
    }

    /// Parses configuration text; `path` is only for error messages.
    pub fn parse(text: &str, path: &Path) -> Result<SubmitConfig, ConfigError> {
        let mut config = SubmitConfig::default();
        let mut seen: Vec<&str> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let syntax =
                |reason: String| ConfigError::Syntax { path: path.to_path_buf(), line, reason };
            let trimmed = raw.trim_end_matches('\r');
            if trimmed.trim().is_empty() || trimmed.trim_start().starts_with('#') {
                continue;
            }
            if trimmed.starts_with([' ', '\t']) {
                return Err(syntax(
                    "unexpected indentation: moxsubmit.conf has no nested values".into(),
                ));
            }
            let (key, value) = trimmed
                .split_once(':')
                .ok_or_else(|| syntax(format!("expected \"Key: value\", got {trimmed:?}")))?;
            let value = value.strip_prefix(' ').unwrap_or(value);
            let Some(&(name, _, _)) = KEYS.iter().find(|(name, _, _)| *name == key) else {
                return Err(syntax(format!("unknown key {key:?}")));
            };
            if seen.contains(&name) {
                return Err(syntax(format!("duplicate key {name}")));
            }
            seen.push(name);
            let boolean = |value: &str| match value {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(syntax(format!("{name}: expected true or false, got {value:?}"))),
            };
            match name {
                "LocalHostname" => config.local_hostname = value.to_string(),
                "Host" => config.host = value.to_string(),
                "Port" => {
                    config.port = value.parse().map_err(|_| {
                        syntax(format!("Port: expected a port number, got {value:?}"))
                    })?
                }
                "TLS" => config.tls = boolean(value)?,
                "STARTTLS" => config.starttls = boolean(value)?,
                "TLSInsecureSkipVerify" => config.tls_insecure_skip_verify = boolean(value)?,
                "Username" => config.username = value.to_string(),
                "Password" => config.password = value.to_string(),
                "ClientAuthEd25519PrivateKey" => {
                    config.client_auth_ed25519_private_key = value.to_string()
                }
                "ClientAuthCertPrivateKeyPEMFile" => {
                    config.client_auth_cert_private_key_pem_file = value.to_string()
                }
                "AuthMethod" => config.auth_method = value.to_string(),
                "From" => config.from = value.to_string(),
                "DefaultDestination" => config.default_destination = value.to_string(),
                "RequireTLS" => {
                    config.require_tls = match value {
                        "" => RequireTls::Default,
                        "yes" => RequireTls::Yes,
                        "no" => RequireTls::No,
                        _ => {
                            return Err(syntax(format!(
                                "RequireTLS: expected yes, no or nothing, got {value:?}"
                            )));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(&(key, _, _)) =
            KEYS.iter().find(|(name, required, _)| *required && !seen.contains(name))
        {
            return Err(ConfigError::Missing { path: path.to_path_buf(), key });
        }
        Ok(config)
    }

    /// An annotated example configuration, as printed by `mox config describe-sendmail`: every
    /// key with mox's documentation, and example values to replace.
    pub fn describe() -> String {
        let example = |key: &str| match key {
            "LocalHostname" => "host.example.org",
            "Host" => "mail.example.org",
            "Port" => "465",
            "TLS" => "true",
            "STARTTLS" => "false",
            "TLSInsecureSkipVerify" => "false",
            "Username" => "cron@example.org",
            "Password" => "change-this-password",
            "AuthMethod" => "SCRAM-SHA-256-PLUS",
            "From" => "cron@example.org",
            "DefaultDestination" => "admin@example.org",
            _ => "",
        };
        let mut out = String::new();
        for (i, (key, required, doc)) in KEYS.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let doc = if *required { doc.to_string() } else { format!("{doc} (optional)") };
            for line in wrap(&doc, 78) {
                let _ = writeln!(out, "# {line}");
            }
            let value = example(key);
            if value.is_empty() {
                let _ = writeln!(out, "{key}:");
            } else {
                let _ = writeln!(out, "{key}: {value}");
            }
        }
        out
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOX_FILE: &str = "# as written for mox\nLocalHostname: host.example.org\nHost: mail.example.org\nPort: 587\nTLS: false\nSTARTTLS: true\nUsername: cron@example.org\nPassword: s3cret: with colon\nAuthMethod:\nFrom: cron@example.org\nDefaultDestination: admin@example.org\n";

    fn parse(text: &str) -> Result<SubmitConfig, ConfigError> {
        SubmitConfig::parse(text, Path::new("moxsubmit.conf"))
    }

    #[test]
    fn parses_a_mox_file() {
        let config = parse(MOX_FILE).unwrap();
        assert_eq!(config.host, "mail.example.org");
        assert_eq!(config.port, 587);
        assert!(config.starttls && !config.tls && !config.tls_insecure_skip_verify);
        assert_eq!(config.password, "s3cret: with colon");
        assert_eq!(config.auth_method, "");
        assert_eq!(config.default_destination, "admin@example.org");
        assert_eq!(config.require_tls, RequireTls::Default);
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn errors_name_the_line_or_key() {
        let cases = [
            (format!("{MOX_FILE}Hots: x\n"), "moxsubmit.conf:12: unknown key \"Hots\""),
            (format!("{MOX_FILE}Port: 25\n"), "moxsubmit.conf:12: duplicate key Port"),
            (
                MOX_FILE.replace("TLS: false", "TLS: yes"),
                "moxsubmit.conf:5: TLS: expected true or false, got \"yes\"",
            ),
            (
                MOX_FILE.replace("Port: 587", "Port: 99999"),
                "moxsubmit.conf:4: Port: expected a port number, got \"99999\"",
            ),
            (
                MOX_FILE.replace("Host: mail.example.org\n", ""),
                "moxsubmit.conf: missing required key Host",
            ),
            (
                format!("{MOX_FILE}  Nested: x\n"),
                "moxsubmit.conf:12: unexpected indentation: moxsubmit.conf has no nested values",
            ),
            (
                format!("{MOX_FILE}just words\n"),
                "moxsubmit.conf:12: expected \"Key: value\", got \"just words\"",
            ),
            (
                format!("{MOX_FILE}RequireTLS: maybe\n"),
                "moxsubmit.conf:12: RequireTLS: expected yes, no or nothing, got \"maybe\"",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(&text).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn describe_output_parses_back_and_documents_every_key() {
        let text = SubmitConfig::describe();
        let config = parse(&text).unwrap();
        assert_eq!(
            (config.host.as_str(), config.port, config.tls),
            ("mail.example.org", 465, true)
        );
        for (key, required, _) in KEYS {
            assert!(text.lines().any(|l| l.starts_with(&format!("{key}:"))), "{key}");
            if !required {
                let at = text.find(&format!("\n{key}:")).unwrap();
                assert!(text[..at].ends_with("(optional)"), "{key}");
            }
        }
        assert!(text.lines().all(|l| l.len() <= 80));
    }

    #[test]
    fn path_from_env() {
        assert_eq!(SubmitConfig::path_from_env(|_| None), PathBuf::from("/etc/moxsubmit.conf"));
        assert_eq!(
            SubmitConfig::path_from_env(|_| Some(String::new())),
            PathBuf::from("/etc/moxsubmit.conf")
        );
        assert_eq!(
            SubmitConfig::path_from_env(|_| Some("/tmp/x.conf".into())),
            PathBuf::from("/tmp/x.conf")
        );
    }
}
