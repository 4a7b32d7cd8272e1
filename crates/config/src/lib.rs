//! mox's configuration files, read and written unchanged: `mox.conf`, the static
//! configuration ([`Static`]), and `domains.conf` beside it, the domains and accounts
//! ([`Dynamic`]), in mox's *sconf* format (tab indentation, `Key: value`, `-` list items, `#`
//! comment lines, `nil` for an empty map value, durations such as `15s` and `4h0m0s`).
//!
//! Every setting of mox v0.0.17 is a field, named as in mox in snake case (`Listeners` →
//! [`Static::listeners`], `Listener.SMTP.Port` → `listener.smtp.port`). Optional settings are
//! `Option`s (or empty, or `false`); settings mox keeps as text are kept as text, and their
//! parsed forms (domains, IP addresses, regular expressions, durations) sit beside them in
//! fields that [`load`] fills in (`hostname` and `hostname_domain`).
//!
//! - [`load`] reads both files and checks everything mox checks, reporting every problem at
//!   once as [`ConfigErrors`], each `file:line: Key.Path: message`. Unknown keys are errors.
//!   [`load_dynamic`] reads a changed domains.conf again.
//! - [`Config`] is the loaded configuration with lookups: [`Config::lookup_address`] and
//!   [`Config::lookup_recipient`] resolve an address to an account destination or an alias
//!   as mox does (case, catchall separators, aliases, `@domain` catchalls, postmaster);
//!   [`Config::account_for_login`] finds the account of a login address;
//!   [`Config::dkim_signers`] gives a domain's DKIM signers with their keys loaded.
//! - [`parse_static`]/[`parse_dynamic`] and [`static_to_string`]/[`dynamic_to_string`] read
//!   and write the files without further checks; [`write_dynamic`] replaces domains.conf
//!   atomically; [`describe_static`]/[`describe_domains`] print annotated examples generated
//!   from the same field list as the parser (byte for byte what mox prints).
//!
//! ```
//! use config::{LookupOptions, Recipient};
//!
//! let config = config::load_from_texts(
//!     std::path::Path::new("/etc/mox/mox.conf"),
//!     config::testing::EXAMPLE_STATIC,
//!     config::testing::EXAMPLE_DYNAMIC,
//! )?;
//! assert_eq!(config.static_.listeners["public"].smtp.port.unwrap_or(25), 25);
//! assert_eq!(config.data_dir, std::path::Path::new("/etc/mox/data"));
//!
//! let rcpt = message::Address::parse("Alice+lists@example.com")?;
//! match config.lookup_recipient(&rcpt)? {
//!     Recipient::Account { account, canonical, .. } => {
//!         assert_eq!((account, canonical), ("alice", "alice@example.com"));
//!     }
//!     Recipient::Alias { .. } => unreachable!(),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod check_dynamic;
mod check_static;
mod dynamic_config;
pub mod edit;
mod error;
mod examples;
mod lookup;
mod not_in_effect;
pub(crate) mod sconf;
mod static_config;
mod types;

pub use check_static::UnknownUser;
pub use dynamic_config::*;
pub use error::{ConfigError, ConfigErrors, ErrorKind, WriteError};
pub use examples::CONFIG_EXAMPLES;
pub use lookup::{AccountDestination, LookupError, LookupOptions, Recipient, canonical_localpart};
pub use not_in_effect::{NOT_IN_EFFECT, NotInEffect, SetNotInEffect};
pub use static_config::*;
pub(crate) use types::unset_domain;
pub use types::{AddressAlias, AliasAddress, Regex, TlsVersion};
mod files;

pub use files::{
    describe_domains, describe_static, dynamic_to_string, parse_dynamic, parse_static,
    static_to_string, write_dynamic,
};

use std::path::{Path, PathBuf};

use check::{Checker, FileInfo};
use lookup::{Canonicals, Index};

/// A loaded and checked configuration: mox.conf and domains.conf with their parsed forms, the
/// paths they came from, and the lookup tables.
///
/// Made by [`load`] (and [`load_dynamic`] for a changed domains.conf); the servers share it
/// (behind an `Arc`) and replace it as a whole when domains.conf changes.
#[derive(Debug)]
pub struct Config {
    /// mox.conf.
    pub static_: Static,
    /// domains.conf.
    pub dynamic: Dynamic,
    /// The path of mox.conf, as given to [`load`].
    pub static_path: PathBuf,
    /// The path of domains.conf: beside mox.conf.
    pub dynamic_path: PathBuf,
    /// The data directory: `DataDir`, relative to mox.conf's directory.
    pub data_dir: PathBuf,
    postmaster_destination: Destination,
    index: Index,
    canonicals: Canonicals,
}

impl Config {
    /// The mail server's hostname (`Hostname` in mox.conf).
    pub fn hostname(&self) -> &dns::Domain {
        &self.static_.hostname_domain
    }

    /// A path from mox.conf (a key or certificate file): as is when absolute, otherwise
    /// relative to mox.conf's directory.
    pub fn config_dir_path(&self, file: &str) -> PathBuf {
        config_dir_path(&self.static_path, file)
    }

    /// A path in the data directory: as is when absolute, otherwise relative to it.
    pub fn data_dir_path(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        if p.is_absolute() { p.to_path_buf() } else { self.data_dir.join(p) }
    }
}

/// `file` as is when absolute, otherwise relative to the directory of `config_file`, as mox
/// resolves the files named in its configuration.
pub fn config_dir_path(config_file: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    match config_file.parent() {
        Some(dir) => dir.join(p),
        None => p.to_path_buf(),
    }
}

/// Loads mox.conf from `mox_conf` and domains.conf from beside it, and checks both: syntax,
/// keys and values, the files they name (DKIM keys, TLS keys and certificates), and the
/// references between them (accounts and their domains, the postmaster account, DKIM
/// selectors to sign with, transports of routes, ...).
///
/// Every problem in both files is reported at once, each with its file, line and key path.
///
/// Not checked here: whether `User` exists on this system (see [`Static::user_ids`]).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("mox.conf"), "DataDir: data\nLogLevel: info\n\
///     Hostname: mail.example.com\nListeners:\n\tinternal:\n\t\tIPs:\n\t\t\t- 127.0.0.1\n\
///     Postmaster:\n\tAccount: mjl\n\tMailbox: Postmaster\n")?;
/// std::fs::write(dir.path().join("domains.conf"), "Domains:\n\texample.com: nil\n\
///     Accounts:\n\tmjl:\n\t\tDomain: example.com\n\t\tDestinations:\n\t\t\tmjl@example.com: nil\n")?;
/// let config = config::load(&dir.path().join("mox.conf"))?;
/// assert_eq!(config.hostname().ascii(), "mail.example.com");
/// assert_eq!(config.data_dir, dir.path().join("data"));
/// let (account, _) = config.account_for_login("MJL@example.com")?;
/// assert_eq!(account, "mjl");
///
/// // An address at a domain that is not configured, and a port that is not a number:
/// std::fs::write(dir.path().join("domains.conf"), "Domains:\n\texample.com: nil\n\
///     Accounts:\n\tmjl:\n\t\tDomain: example.com\n\t\tDestinations:\n\t\t\tmjl@example.org: nil\n")?;
/// let text = std::fs::read_to_string(dir.path().join("mox.conf"))?;
/// std::fs::write(dir.path().join("mox.conf"), text.replace("127.0.0.1\n", "127.0.0.1\n\t\tSMTP:\n\
///     \t\t\tEnabled: true\n\t\t\tNoSTARTTLS: true\n\t\t\tPort: x\n"))?;
/// let errors = config::load(&dir.path().join("mox.conf")).unwrap_err().to_string();
/// let lines: Vec<&str> = errors.lines().collect();
/// assert_eq!(lines.len(), 2, "{errors}");
/// assert!(lines[0].ends_with("mox.conf:11: Listeners.internal.SMTP.Port: \"x\" is not a number"));
/// assert!(lines[1].ends_with(
///     "domains.conf:7: Accounts.mjl.Destinations.mjl@example.org: unknown domain for address"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load(mox_conf: &Path) -> Result<Config, ConfigErrors> {
    let static_name = mox_conf.display().to_string();
    let static_text = std::fs::read_to_string(mox_conf).map_err(|e| {
        ConfigErrors::one(ConfigError::new(
            &static_name,
            None,
            String::new(),
            ErrorKind::Io {
                what: "reading config file",
                file: static_name.clone(),
                message: e.to_string(),
            },
        ))
    })?;
    let dynamic_path = config_dir_path(mox_conf, "domains.conf");
    let dynamic_text = std::fs::read_to_string(&dynamic_path);
    load_texts(mox_conf, &static_text, &dynamic_path, dynamic_text)
}

/// Reads domains.conf again for a loaded configuration (after it changed on disk), and checks
/// it against the unchanged mox.conf; the result replaces `current`.
pub fn load_dynamic(current: &Config) -> Result<Config, ConfigErrors> {
    let dynamic_text = std::fs::read_to_string(&current.dynamic_path);
    let name = current.dynamic_path.display().to_string();
    let text = dynamic_text.map_err(|e| {
        ConfigErrors::one(ConfigError::new(
            &name,
            None,
            String::new(),
            ErrorKind::Io {
                what: "reading config file",
                file: name.clone(),
                message: e.to_string(),
            },
        ))
    })?;
    let (dynamic, errors, positions) = files::parse_dynamic_positions(&name, &text);
    finish_dynamic(current, dynamic, errors, positions, Default::default())
}

/// Checks a changed domains.conf (an edit, made in memory) against `current`'s mox.conf,
/// returning the configuration that results. Problems have no line numbers (there is no
/// file yet).
pub fn check_dynamic(current: &Config, dynamic: Dynamic) -> Result<Config, ConfigErrors> {
    finish_dynamic(current, dynamic, Vec::new(), sconf::Positions::default(), Default::default())
}

pub(crate) fn finish_dynamic(
    current: &Config,
    mut dynamic: Dynamic,
    mut errors: Vec<ConfigError>,
    positions: sconf::Positions,
    new_files: std::collections::HashMap<PathBuf, String>,
) -> Result<Config, ConfigErrors> {
    let name = current.dynamic_path.display().to_string();
    let broken = errors.iter().map(|e| e.path.clone()).collect();
    let mut checker = Checker::new(
        FileInfo { name: current.static_path.display().to_string(), ..FileInfo::default() },
        FileInfo { name, positions, broken },
    );
    checker.new_files = new_files;
    let index = check_dynamic::check_dynamic(
        &mut dynamic,
        &current.static_,
        &current.dynamic_path,
        &mut checker,
    );
    errors.extend(checker.errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Config::new(
        current.static_.clone(),
        dynamic,
        current.static_path.clone(),
        current.dynamic_path.clone(),
        index,
    ))
}

/// Loads a configuration from the texts of mox.conf and domains.conf; `mox_conf` names
/// mox.conf (for errors and relative paths) and domains.conf is beside it.
pub fn load_from_texts(
    mox_conf: &Path,
    static_text: &str,
    dynamic_text: &str,
) -> Result<Config, ConfigErrors> {
    let dynamic_path = config_dir_path(mox_conf, "domains.conf");
    load_texts(mox_conf, static_text, &dynamic_path, Ok(dynamic_text.to_string()))
}

fn load_texts(
    static_path: &Path,
    static_text: &str,
    dynamic_path: &Path,
    dynamic_text: std::io::Result<String>,
) -> Result<Config, ConfigErrors> {
    let static_name = static_path.display().to_string();
    let dynamic_name = dynamic_path.display().to_string();
    let (mut static_, static_errors, static_positions) =
        files::parse_static_positions(&static_name, static_text);
    let mut errors = static_errors.clone();
    let (mut dynamic, dynamic_errors, dynamic_positions) = match &dynamic_text {
        Ok(text) => files::parse_dynamic_positions(&dynamic_name, text),
        Err(e) => {
            let error = ConfigError::new(
                &dynamic_name,
                None,
                String::new(),
                ErrorKind::Io {
                    what: "reading config file",
                    file: dynamic_name.clone(),
                    message: e.to_string(),
                },
            );
            (Dynamic::default(), vec![error], sconf::Positions::default())
        }
    };
    let mut checker = Checker::new(
        FileInfo {
            name: static_name,
            positions: static_positions,
            broken: static_errors.iter().map(|e| e.path.clone()).collect(),
        },
        FileInfo {
            name: dynamic_name,
            positions: dynamic_positions,
            broken: dynamic_errors.iter().map(|e| e.path.clone()).collect(),
        },
    );
    check_static::check_static(&mut static_, static_path, &mut checker);
    let index = if dynamic_text.is_ok() {
        check_dynamic::check_dynamic(&mut dynamic, &static_, dynamic_path, &mut checker)
    } else {
        Index::default()
    };
    errors.extend(dynamic_errors);
    errors.extend(checker.errors);
    if !errors.is_empty() {
        // mox.conf first, then domains.conf; by line within each.
        let static_file = static_path.display().to_string();
        errors.sort_by_key(|e| (e.file != static_file, e.line.unwrap_or(0)));
        return Err(ConfigErrors(errors));
    }
    Ok(Config::new(static_, dynamic, static_path.to_path_buf(), dynamic_path.to_path_buf(), index))
}

impl Config {
    fn new(
        static_: Static,
        dynamic: Dynamic,
        static_path: PathBuf,
        dynamic_path: PathBuf,
        index: Index,
    ) -> Config {
        let data_dir = config_dir_path(&static_path, &static_.data_dir);
        let postmaster_destination = Destination {
            mailbox: Some(static_.postmaster.mailbox.clone()),
            ..Destination::default()
        };
        let canonicals = Canonicals::build(&index);
        Config {
            static_,
            dynamic,
            static_path,
            dynamic_path,
            data_dir,
            postmaster_destination,
            index,
            canonicals,
        }
    }
}

#[doc(hidden)]
pub mod testing;

#[doc(hidden)]
pub mod fuzzing;
