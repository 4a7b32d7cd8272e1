//! `sendmail` for hosts whose mail goes to a real mail server: what `mox-sendmail`, `mox
//! sendmail` and `mox` invoked as `sendmail` run.
//!
//! A local program (cron, anacron, smartd, a script) pipes a message in; it is submitted over
//! SMTP to the server configured in `/etc/moxsubmit.conf` (or `$MOXSUBMIT_CONF`), in mox's
//! format with mox's keys ([`SubmitConfig`]), with TLS or STARTTLS and the strongest SASL
//! mechanism offered. The From header is rewritten to the configured address, addressees
//! without `@` go to the configured default address ([`compose`]). When anything fails, the
//! message is saved in `~/moxsubmit.failures/` and the exit status is non-zero: nothing is lost.
//!
//! ```
//! use std::ffi::OsString;
//!
//! // Parse the command line as cron gives it.
//! let args: Vec<OsString> = ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"].map(OsString::from).into();
//! let sendmail::Mode::Send(invocation) = sendmail::args::parse(&args)? else { unreachable!() };
//! assert_eq!(invocation.recipients, ["root"]);
//!
//! // Compose with a configuration.
//! let config = sendmail::SubmitConfig::parse(&sendmail::SubmitConfig::describe(), "x".as_ref())?;
//! let prepared = sendmail::compose(b"Subject: hi\n\nhello\n", &invocation, &config, 0, "id")?;
//! assert!(prepared.message.starts_with(b"From: \"CronDaemon\" <cron@example.org>\r\n"));
//! assert_eq!(prepared.recipients[0].to_string(), "admin@example.org");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
mod compose;
mod config;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod submit;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use args::{Invocation, Mode, USAGE, UsageError};
pub use compose::{ComposeError, Prepared, compose};
pub use config::{ConfigError, DEFAULT_PATH, PATH_ENV, RequireTls, SubmitConfig};
pub use error::SubmitError;
pub use submit::{SUBMIT_TIMEOUT, TrustedRoots, submit};

/// sysexits.h `EX_USAGE`: the command line is wrong.
pub const EX_USAGE: u8 = 64;
/// sysexits.h `EX_IOERR`: reading the message failed.
pub const EX_IOERR: u8 = 74;
/// sysexits.h `EX_TEMPFAIL`: not sent; the message was saved to send again later.
pub const EX_TEMPFAIL: u8 = 75;

/// The directory in the home directory where unsent messages are kept.
pub const FAILURES_DIR: &str = "moxsubmit.failures";

/// What `run` needs from the process environment; tests give their own.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The configuration file.
    pub config_path: PathBuf,
    /// The home directory, for `moxsubmit.failures`.
    pub home: Option<PathBuf>,
    /// Trusted CA certificates beyond the built-in roots.
    pub roots: TrustedRoots,
}

impl Environment {
    /// From the process: `$MOXSUBMIT_CONF`, `$HOME`, `$SSL_CERT_FILE`.
    pub fn from_process() -> Environment {
        let env = |name: &str| std::env::var(name).ok();
        Environment {
            config_path: SubmitConfig::path_from_env(env),
            home: env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
            roots: TrustedRoots::from_env(env),
        }
    }
}

/// How `run` ended: the exit status and the line for standard error, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The process exit status.
    pub exit_code: u8,
    /// One line for standard error.
    pub message: Option<String>,
}

/// Runs sendmail: parses `args` (without the program name), reads the message from `stdin`,
/// submits it, and on failure saves it under `~/moxsubmit.failures/`. If even saving fails, the
/// message is written to `stderr` so it still reaches the cron log.
pub async fn run(
    args: &[OsString],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    env: &Environment,
) -> Outcome {
    let invocation = match args::parse(args) {
        Ok(Mode::Send(invocation)) => invocation,
        Ok(Mode::Newaliases) => return Outcome { exit_code: 0, message: None },
        Ok(Mode::ListQueue) => {
            let _ = writeln!(
                stdout,
                "Mail queue is empty (mox-sendmail submits at once; unsent mail is in ~/{FAILURES_DIR})"
            );
            return Outcome { exit_code: 0, message: None };
        }
        Err(e) => return Outcome { exit_code: EX_USAGE, message: Some(format!("{e}; {USAGE}")) },
    };
    let mut input = Vec::new();
    if let Err(e) = stdin.read_to_end(&mut input) {
        return Outcome {
            exit_code: EX_IOERR,
            message: Some(format!("reading the message from standard input: {e}")),
        };
    }

    let mut prepared = None;
    let result = async {
        let config = SubmitConfig::load(&env.config_path)?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let composed = compose(&input, &invocation, &config, now, &unique_id())?;
        let prepared = prepared.insert(composed);
        tracing::debug!(recipients = ?prepared.recipients, size = prepared.message.len(), "submitting");
        submit(&config, prepared, &env.roots).await
    }
    .await;
    let Err(error) = result else {
        return Outcome { exit_code: 0, message: None };
    };
    // Save what we would have sent, or the input if it never got that far.
    let message = prepared.as_ref().map_or(&input[..], |p| &p.message[..]);
    let line = match save_failure(env.home.as_deref(), message) {
        Ok(path) => format!("submit failed: {error}; message saved in {}", path.display()),
        Err(save_error) => {
            let _ = stderr.write_all(message);
            format!(
                "submit failed: {error}; saving the message failed too ({save_error}), so it was written above"
            )
        }
    };
    Outcome { exit_code: EX_TEMPFAIL, message: Some(line.replace(['\r', '\n'], " ")) }
}

/// Saves `message` as a new file in `home/moxsubmit.failures/` (directory mode 0700, file mode
/// 0600) and returns its path.
pub fn save_failure(home: Option<&Path>, message: &[u8]) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt as _;
    let home = home.ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no home directory ($HOME is not set)")
    })?;
    let dir = home.join(FAILURES_DIR);
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let mut file = tempfile::Builder::new().prefix("newmsg.").tempfile_in(&dir)?;
    file.write_all(message)?;
    file.as_file().sync_all()?;
    let (_, path) = file.keep().map_err(|e| e.error)?;
    Ok(path)
}

fn unique_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 12];
    let random = ring::rand::SystemRandom::new().fill(&mut bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    if random.is_err() {
        // No randomness: the time and process id still make it unique on this host.
        return format!("{now:x}.{}", std::process::id());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_saved_privately() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        let a = save_failure(Some(home.path()), b"first").unwrap();
        let b = save_failure(Some(home.path()), b"second").unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"first");
        assert!(a.file_name().unwrap().to_string_lossy().starts_with("newmsg."));
        let dir = home.path().join(FAILURES_DIR);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&b).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(save_failure(None, b"x").is_err());
    }

    #[tokio::test]
    async fn unreadable_config_saves_the_input() {
        let home = tempfile::tempdir().unwrap();
        let env = Environment {
            config_path: home.path().join("missing.conf"),
            home: Some(home.path().to_path_buf()),
            roots: TrustedRoots::default(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome =
            run(&["root".into()], &mut &b"Subject: x\n\nbody\n"[..], &mut out, &mut err, &env)
                .await;
        assert_eq!(outcome.exit_code, EX_TEMPFAIL);
        let line = outcome.message.unwrap();
        assert!(line.starts_with("submit failed: configuration: reading "), "{line}");
        let saved = PathBuf::from(line.rsplit(" message saved in ").next().unwrap());
        assert_eq!(std::fs::read(saved).unwrap(), b"Subject: x\n\nbody\n");
    }

    #[tokio::test]
    async fn modes_without_sending() {
        let env = Environment {
            config_path: "/nonexistent".into(),
            home: None,
            roots: TrustedRoots::default(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = run(&["-bp".into()], &mut &b""[..], &mut out, &mut err, &env).await;
        assert_eq!(outcome, Outcome { exit_code: 0, message: None });
        assert!(String::from_utf8(out).unwrap().starts_with("Mail queue is empty"));
        let outcome = run(&["-i".into()], &mut &b""[..], &mut Vec::new(), &mut err, &env).await;
        assert_eq!(outcome.exit_code, EX_USAGE);
        assert!(outcome.message.unwrap().ends_with(USAGE));
    }
}
