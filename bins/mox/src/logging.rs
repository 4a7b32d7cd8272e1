//! Logging to stderr with mox's log levels, on `tracing`.
//!
//! # Levels
//!
//! mox's levels, from least to most verbose: `error`, `info` (the default), `debug`, `trace`,
//! `traceauth`, `tracedata`. Also accepted: `warn` (between error and info) and `off`.
//! The first five map to tracing's levels; the last two are `trace` plus two kinds of events
//! that are **hidden unless asked for by name**, even at `trace`:
//!
//! - `traceauth`: authentication data: passwords, SASL exchanges, credentials in protocol
//!   traces.
//! - `tracedata`: bulk protocol data: message contents in SMTP DATA, IMAP literals and FETCH
//!   responses. `tracedata` includes `traceauth`.
//!
//! # Convention for crates
//!
//! A crate logs with plain `tracing` macros; its default target (its module path, e.g.
//! `smtpserver::session`) is what `MOX_LOG=smtpserver=debug` selects. An event that carries
//! authentication data or message data instead uses a dedicated target, at level `TRACE`:
//!
//! ```ignore
//! tracing::trace!(target: "traceauth::smtpserver", line = %line, "auth line");
//! tracing::trace!(target: "tracedata::imapserver", bytes = data.len(), data = ?data, "literal");
//! ```
//!
//! that is `traceauth::<crate>` and `tracedata::<crate>`, `<crate>` being the crate's name as
//! used in `MOX_LOG`. The filter built here turns those targets off unless the level (the
//! default, or the crate's own in `MOX_LOG`) is `traceauth` or `tracedata`, so no
//! configuration that merely says `trace` ever prints a password or a message.
//!
//! # Choosing levels
//!
//! - `-loglevel LEVEL` sets the default level.
//! - `MOX_LOG` sets the default and per-crate levels: `MOX_LOG=info,spf=debug,smtpserver=traceauth`
//!   (comma-separated; a bare level is the default, `crate=level` a crate's level, with mox's
//!   level names). `-loglevel` wins over a bare level in `MOX_LOG`.
//! - Unknown level names are an error, never silently ignored.

use std::fmt;
use std::io::IsTerminal as _;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The environment variable with per-crate log levels.
pub(crate) const ENV_VAR: &str = "MOX_LOG";

/// Target prefix of events that carry authentication data (passwords, SASL exchanges).
pub(crate) const TRACEAUTH_TARGET: &str = "traceauth";

/// Target prefix of events that carry bulk protocol data (message contents).
pub(crate) const TRACEDATA_TARGET: &str = "tracedata";

/// A log level, by mox's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// What an operator wants to see in normal operation (the default).
    Info,
    /// Details that help explain a decision.
    Debug,
    /// Protocol traces, without authentication and message data.
    Trace,
    /// `trace` plus authentication data.
    Traceauth,
    /// `traceauth` plus message data.
    Tracedata,
}

/// The level names, least verbose first, for messages.
const LEVEL_NAMES: &str = "error, info, debug, trace, traceauth, tracedata (also: off, warn)";

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
            Level::Traceauth => "traceauth",
            Level::Tracedata => "tracedata",
        }
    }

    /// The `tracing` level directive for ordinary events.
    fn tracing_directive(self) -> &'static str {
        match self {
            Level::Traceauth | Level::Tracedata => "trace",
            level => level.name(),
        }
    }

    fn shows_auth(self) -> bool {
        self >= Level::Traceauth
    }

    fn shows_data(self) -> bool {
        self >= Level::Tracedata
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Level {
    type Err = LevelError;

    fn from_str(s: &str) -> Result<Level, LevelError> {
        Ok(match s {
            "off" => Level::Off,
            "error" => Level::Error,
            "warn" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            "traceauth" => Level::Traceauth,
            "tracedata" => Level::Tracedata,
            _ => return Err(LevelError { given: s.to_string() }),
        })
    }
}

/// A level name that is not one of mox's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LevelError {
    given: String,
}

impl fmt::Display for LevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown log level {:?}, expected one of: {LEVEL_NAMES}", self.given)
    }
}

impl std::error::Error for LevelError {}

/// What is logged: a default level and per-crate (per-target) levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogSpec {
    /// The level of everything not named in `targets`.
    pub(crate) default: Level,
    /// Per-target levels, in the order given; a later entry for the same target wins.
    pub(crate) targets: Vec<(String, Level)>,
}

impl Default for LogSpec {
    fn default() -> LogSpec {
        LogSpec { default: Level::Info, targets: Vec::new() }
    }
}

/// A `MOX_LOG` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogSpecError {
    /// A level name is not one of mox's.
    Level(LevelError),
    /// A `target=level` entry has an empty or malformed target.
    Target { entry: String },
}

impl fmt::Display for LogSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogSpecError::Level(e) => e.fmt(f),
            LogSpecError::Target { entry } => write!(
                f,
                "bad entry {entry:?}: expected LEVEL or CRATE=LEVEL (crate names are letters, \
                 digits, _ and ::)"
            ),
        }
    }
}

impl std::error::Error for LogSpecError {}

impl LogSpec {
    /// Parses `MOX_LOG` syntax: comma-separated `LEVEL` (the default) and `CRATE=LEVEL`
    /// entries, e.g. `info,spf=debug`. Empty entries are ignored.
    pub(crate) fn parse(text: &str) -> Result<LogSpec, LogSpecError> {
        let mut spec = LogSpec::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.split_once('=') {
                None => spec.default = entry.parse().map_err(LogSpecError::Level)?,
                Some((target, level)) => {
                    let target = target.trim();
                    let valid = !target.is_empty()
                        && target
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
                    if !valid {
                        return Err(LogSpecError::Target { entry: entry.to_string() });
                    }
                    let level = level.trim().parse().map_err(LogSpecError::Level)?;
                    spec.targets.push((target.to_string(), level));
                }
            }
        }
        Ok(spec)
    }

    /// The `tracing_subscriber` directives implementing this spec, including the ones that
    /// keep `traceauth::*` and `tracedata::*` off unless asked for.
    pub(crate) fn directives(&self) -> Vec<String> {
        // Keyed by target, so a later entry replaces an earlier one instead of competing
        // with it ("" is the default directive).
        let mut directives: Vec<(String, &'static str)> = Vec::new();
        let mut set = |target: String, level: &'static str| match directives
            .iter_mut()
            .find(|(t, _)| *t == target)
        {
            Some(existing) => existing.1 = level,
            None => directives.push((target, level)),
        };
        let on_off = |on: bool| if on { "trace" } else { "off" };

        set(String::new(), self.default.tracing_directive());
        set(TRACEAUTH_TARGET.to_string(), on_off(self.default.shows_auth()));
        set(TRACEDATA_TARGET.to_string(), on_off(self.default.shows_data()));
        for (target, level) in &self.targets {
            set(target.clone(), level.tracing_directive());
            let is_sensitive_target = [TRACEAUTH_TARGET, TRACEDATA_TARGET]
                .iter()
                .any(|prefix| target == prefix || target.starts_with(&format!("{prefix}::")));
            if !is_sensitive_target {
                set(format!("{TRACEAUTH_TARGET}::{target}"), on_off(level.shows_auth()));
                set(format!("{TRACEDATA_TARGET}::{target}"), on_off(level.shows_data()));
            }
        }
        directives
            .into_iter()
            .map(
                |(target, level)| {
                    if target.is_empty() { level.to_string() } else { format!("{target}={level}") }
                },
            )
            .collect()
    }

    /// The filter for a subscriber.
    pub(crate) fn env_filter(&self) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
        EnvFilter::builder().parse(self.directives().join(","))
    }
}

/// Builds the log spec from `MOX_LOG` and the `-loglevel` flag (which sets the default).
pub(crate) fn spec_from_env(flag: Option<Level>) -> anyhow::Result<LogSpec> {
    if flag.is_some() || std::env::var_os(ENV_VAR).is_some() {
        GIVEN_ON_COMMAND_LINE.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let mut spec = match std::env::var(ENV_VAR) {
        Ok(text) => LogSpec::parse(&text).map_err(|e| anyhow::anyhow!("{ENV_VAR}: {e}"))?,
        Err(std::env::VarError::NotPresent) => LogSpec::default(),
        Err(std::env::VarError::NotUnicode(_)) => anyhow::bail!("{ENV_VAR}: not valid UTF-8"),
    };
    if let Some(level) = flag {
        spec.default = level;
    }
    Ok(spec)
}

/// Whether `-loglevel` or `MOX_LOG` set the levels: then they win over mox.conf's.
static GIVEN_ON_COMMAND_LINE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether the levels were given with `-loglevel` or `MOX_LOG` (see [`spec_from_env`]).
pub(crate) fn given_on_command_line() -> bool {
    GIVEN_ON_COMMAND_LINE.load(std::sync::atomic::Ordering::Relaxed)
}

/// The levels mox.conf asks for: `LogLevel` and `PackageLogLevels`.
pub(crate) fn spec_from_config(static_: &config::Static) -> anyhow::Result<LogSpec> {
    let default =
        static_.log_level.parse().map_err(|e| anyhow::anyhow!("mox.conf LogLevel: {e}"))?;
    let mut spec = LogSpec { default, targets: Vec::new() };
    for (package, level) in &static_.package_log_levels {
        let level = level
            .parse()
            .map_err(|e| anyhow::anyhow!("mox.conf PackageLogLevels {package}: {e}"))?;
        spec = spec.with_level(Some(package), Some(level));
    }
    Ok(spec)
}

/// Installs the process-wide subscriber, logging to stderr. Its levels can be changed later
/// with [`set_spec`] (`mox loglevels` on a running server).
pub(crate) fn init(spec: &LogSpec) -> anyhow::Result<()> {
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (subscriber, handle) = subscriber(spec, std::io::stderr, ansi)?;
    subscriber.try_init().map_err(|e| anyhow::anyhow!("installing the logger: {e}"))?;
    let _ = LIVE.set(Live { handle, spec: Mutex::new(spec.clone()) });
    Ok(())
}

/// The subscriber `init` installs, writing to `writer` (tests give their own), and the handle
/// that changes its levels.
pub(crate) fn subscriber<W>(
    spec: &LogSpec,
    writer: W,
    ansi: bool,
) -> anyhow::Result<(impl tracing::Subscriber + Send + Sync + 'static, FilterHandle)>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt as _;

    let filter = spec.env_filter().map_err(|e| anyhow::anyhow!("log filter: {e}"))?;
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let subscriber = tracing_subscriber::registry().with(filter).with(
        tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(ansi).with_target(true),
    );
    Ok((subscriber, handle))
}

/// Changes the filter of a subscriber made by [`subscriber`].
pub(crate) type FilterHandle =
    tracing_subscriber::reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// The installed filter, for changing levels while running.
struct Live {
    handle: FilterHandle,
    spec: Mutex<LogSpec>,
}

static LIVE: OnceLock<Live> = OnceLock::new();

/// The levels in effect (the default when [`init`] was not called).
pub(crate) fn current_spec() -> LogSpec {
    LIVE.get()
        .map(|l| l.spec.lock().unwrap_or_else(PoisonError::into_inner).clone())
        .unwrap_or_default()
}

/// Replaces the levels in effect.
pub(crate) fn set_spec(spec: LogSpec) -> anyhow::Result<()> {
    let live = LIVE.get().ok_or_else(|| anyhow::anyhow!("logging is not initialized"))?;
    let filter = spec.env_filter().map_err(|e| anyhow::anyhow!("log filter: {e}"))?;
    live.handle.reload(filter).map_err(|e| anyhow::anyhow!("changing log levels: {e}"))?;
    *live.spec.lock().unwrap_or_else(PoisonError::into_inner) = spec;
    Ok(())
}

impl LogSpec {
    /// This spec with `target`'s level set (or the default's, for `None`); a `None` level
    /// removes the target's own level, as `mox loglevels "" PKG` does.
    pub(crate) fn with_level(mut self, target: Option<&str>, level: Option<Level>) -> LogSpec {
        match (target, level) {
            (None, Some(level)) => self.default = level,
            (None, None) => {}
            (Some(t), level) => {
                self.targets.retain(|(name, _)| name != t);
                if let Some(level) = level {
                    self.targets.push((t.to_string(), level));
                }
            }
        }
        self
    }

    /// As `mox loglevels` prints them: `(default): info`, then one `target: level` line per
    /// target, sorted.
    pub(crate) fn describe(&self) -> String {
        let mut out = format!("(default): {}\n", self.default);
        let mut targets = self.targets.clone();
        targets.sort();
        for (t, l) in targets {
            out += &format!("{t}: {l}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn level_names_round_trip_and_order() {
        for name in ["off", "error", "warn", "info", "debug", "trace", "traceauth", "tracedata"] {
            assert_eq!(name.parse::<Level>().expect(name).to_string(), name);
        }
        assert!(Level::Trace < Level::Traceauth && Level::Traceauth < Level::Tracedata);
        assert!(Level::Error < Level::Info);
    }

    #[test]
    fn unknown_level_is_an_error_naming_the_valid_ones() {
        let err = "verbose".parse::<Level>().expect_err("not a level");
        let message = err.to_string();
        assert!(message.contains("\"verbose\""), "{message}");
        assert!(message.contains("traceauth"), "{message}");
        // Level names are mox's, lowercase, exact.
        assert!("INFO".parse::<Level>().is_err());
    }

    #[test]
    fn default_spec_hides_auth_and_data() {
        assert_eq!(LogSpec::default().directives(), ["info", "traceauth=off", "tracedata=off"]);
    }

    #[test]
    fn trace_still_hides_auth_and_data() {
        let spec = LogSpec { default: Level::Trace, targets: vec![] };
        assert_eq!(spec.directives(), ["trace", "traceauth=off", "tracedata=off"]);
    }

    #[test]
    fn traceauth_shows_auth_but_not_data() {
        let spec = LogSpec { default: Level::Traceauth, targets: vec![] };
        assert_eq!(spec.directives(), ["trace", "traceauth=trace", "tracedata=off"]);
        let spec = LogSpec { default: Level::Tracedata, targets: vec![] };
        assert_eq!(spec.directives(), ["trace", "traceauth=trace", "tracedata=trace"]);
    }

    #[test]
    fn per_crate_levels_carry_their_own_auth_and_data_switches() {
        let spec = LogSpec::parse("info, spf=debug,smtpserver=traceauth,").expect("valid");
        assert_eq!(spec.default, Level::Info);
        assert_eq!(
            spec.directives(),
            [
                "info",
                "traceauth=off",
                "tracedata=off",
                "spf=debug",
                "traceauth::spf=off",
                "tracedata::spf=off",
                "smtpserver=trace",
                "traceauth::smtpserver=trace",
                "tracedata::smtpserver=off",
            ]
        );
        // A crate turned down under a verbose default loses its auth traces too.
        let spec = LogSpec::parse("tracedata,imapserver=info").expect("valid");
        let directives = spec.directives();
        assert!(directives.contains(&"traceauth=trace".to_string()));
        assert!(directives.contains(&"traceauth::imapserver=off".to_string()));
        assert!(directives.contains(&"tracedata::imapserver=off".to_string()));
    }

    #[test]
    fn later_entries_win() {
        let spec = LogSpec::parse("debug,spf=trace,error,spf=info").expect("valid");
        assert_eq!(spec.default, Level::Error);
        let directives = spec.directives();
        assert!(directives.contains(&"spf=info".to_string()));
        assert!(!directives.contains(&"spf=trace".to_string()));
    }

    #[test]
    fn explicit_sensitive_targets_are_taken_as_given() {
        let spec = LogSpec::parse("traceauth::smtpserver=trace").expect("valid");
        assert_eq!(
            spec.directives(),
            ["info", "traceauth=off", "tracedata=off", "traceauth::smtpserver=trace"]
        );
    }

    #[test]
    fn bad_mox_log_entries_are_errors() {
        assert!(matches!(LogSpec::parse("loud"), Err(LogSpecError::Level(_))));
        assert!(matches!(LogSpec::parse("spf=loud"), Err(LogSpecError::Level(_))));
        assert!(matches!(LogSpec::parse("=debug"), Err(LogSpecError::Target { .. })));
        assert!(matches!(LogSpec::parse("spf[span]=debug"), Err(LogSpecError::Target { .. })));
        assert_eq!(LogSpec::parse("").expect("empty is default"), LogSpec::default());
    }

    #[test]
    fn every_spec_builds_a_filter() {
        for text in ["", "off", "tracedata", "info,spf=debug,smtpserver=traceauth", "a::b=warn"] {
            let spec = LogSpec::parse(text).expect(text);
            assert!(spec.env_filter().is_ok(), "{text}: {:?}", spec.directives());
        }
    }

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// Emits one event of each kind through the production subscriber built from `mox_log`,
    /// and returns what it wrote.
    fn log_through(mox_log: &str) -> String {
        let spec = LogSpec::parse(mox_log).expect("valid spec");
        let captured = Captured::default();
        let (subscriber, _) = subscriber(&spec, captured.clone(), false).expect("subscriber");
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "smtpserver::session", "info-event");
            tracing::debug!(target: "smtpserver::session", "debug-event");
            tracing::trace!(target: "smtpserver::session", "smtp-trace-event");
            tracing::trace!(target: "traceauth::smtpserver", "auth-event AUTH PLAIN c2VjcmV0");
            tracing::trace!(target: "tracedata::smtpserver", "data-event Subject: hi");
            tracing::trace!(target: "spf::check", "spf-trace-event");
        });
        let bytes = captured.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes).expect("utf-8 log")
    }

    #[test]
    fn subscriber_hides_auth_at_trace_and_shows_it_at_traceauth() {
        let info = log_through("");
        assert!(info.contains("info-event"));
        assert!(!info.contains("debug-event"));

        let trace = log_through("trace");
        assert!(trace.contains("smtp-trace-event") && trace.contains("spf-trace-event"), "{trace}");
        assert!(!trace.contains("auth-event"), "{trace}");
        assert!(!trace.contains("data-event"), "{trace}");

        let traceauth = log_through("traceauth");
        assert!(traceauth.contains("auth-event AUTH PLAIN c2VjcmV0"), "{traceauth}");
        assert!(!traceauth.contains("data-event"), "{traceauth}");

        let tracedata = log_through("tracedata");
        assert!(tracedata.contains("auth-event") && tracedata.contains("data-event"));

        // Per crate: smtpserver's auth traces, nothing else at trace.
        let one_crate = log_through("info,smtpserver=traceauth");
        assert!(one_crate.contains("auth-event") && one_crate.contains("smtp-trace-event"));
        assert!(!one_crate.contains("spf-trace-event") && !one_crate.contains("data-event"));
    }

    #[test]
    fn levels_change_while_running_through_the_handle() {
        let spec = LogSpec::parse("info").expect("valid spec");
        let captured = Captured::default();
        let (subscriber, handle) = subscriber(&spec, captured.clone(), false).expect("subscriber");
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "queue", "before-change");
            let changed = spec.clone().with_level(Some("queue"), Some(Level::Debug));
            handle.reload(changed.env_filter().expect("filter")).expect("reload");
            tracing::debug!(target: "queue", "after-change");
            tracing::debug!(target: "spf", "other-crate");
        });
        let out = String::from_utf8(captured.0.lock().expect("not poisoned").clone()).unwrap();
        assert!(!out.contains("before-change") && out.contains("after-change"), "{out}");
        assert!(!out.contains("other-crate"), "{out}");
    }

    #[test]
    fn with_level_and_describe_as_mox_loglevels_prints() {
        let spec = LogSpec::default()
            .with_level(Some("smtpserver"), Some(Level::Debug))
            .with_level(Some("queue"), Some(Level::Trace))
            .with_level(None, Some(Level::Error));
        assert_eq!(spec.describe(), "(default): error\nqueue: trace\nsmtpserver: debug\n");
        let cleared = spec.with_level(Some("queue"), None);
        assert_eq!(cleared.describe(), "(default): error\nsmtpserver: debug\n");
    }
}
