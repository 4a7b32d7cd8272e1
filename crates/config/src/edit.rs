//! Changes to domains.conf, as mox's `config account|address|domain add|rm` make them.
//!
//! Each function takes the current configuration and returns an [`Edit`]: the changed
//! configuration, already checked as [`load`](crate::load) checks it, with the files the change
//! needs (new DKIM keys) and frees (keys of a removed domain). Nothing is written until
//! [`Edit::apply`]: the new files, then domains.conf atomically
//! ([`write_dynamic`](crate::write_dynamic)), then the freed keys are moved aside. The
//! functions do not assume they run in the command line: a running server can call them and
//! swap in [`Edit::config`] after applying.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let mox_conf = dir.path().join("mox.conf");
//! std::fs::write(&mox_conf, config::testing::EXAMPLE_STATIC)?;
//! std::fs::write(dir.path().join("domains.conf"), config::testing::EXAMPLE_DYNAMIC)?;
//! let current = config::load(&mox_conf)?;
//!
//! let edit = config::edit::account_add(&current, "bob", "bob@example.com")?;
//! edit.apply()?;
//! let reloaded = config::load(&mox_conf)?;
//! assert_eq!(reloaded.account_for_login("bob@example.com")?.0, "bob");
//!
//! // Refused, with the reason: the address is taken.
//! let err = config::edit::address_add(&reloaded, "Bob@example.com", "mjl").unwrap_err();
//! assert_eq!(err.to_string(), "address Bob@example.com not available: canonicalized address bob@example.com already configured");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::check::{parse_address, parse_domain};
use crate::lookup::canonical_localpart;
use crate::{
    Account, Config, ConfigErrors, Destination, Dkim, Dmarc, Domain, JunkFilter, JunkParams,
    Mtasts, Selector, Tlsrpt, WriteError, config_dir_path,
};

/// Why an edit was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The account to add exists already.
    #[error("account {account:?} already exists")]
    AccountExists {
        /// The account.
        account: String,
    },
    /// The account does not exist.
    #[error("account {account:?} does not exist")]
    AccountNotFound {
        /// The account.
        account: String,
    },
    /// An account name that cannot be used as the name of its directory.
    #[error("invalid account name {account:?}: {reason}")]
    InvalidAccountName {
        /// The account.
        account: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The data directory of the new account exists (a removed account not yet cleaned up).
    #[error("account directory {} already/still exists", path.display())]
    AccountDirectoryExists {
        /// The directory.
        path: PathBuf,
    },
    /// The domain to add is configured already.
    #[error("domain {domain} already exists")]
    DomainExists {
        /// The domain.
        domain: String,
    },
    /// The domain is not configured.
    #[error("domain {domain} does not exist")]
    DomainNotFound {
        /// The domain.
        domain: String,
    },
    /// `domain add` with an account that does not exist needs a localpart for its first
    /// address, and with an existing account takes none.
    #[error("{0}")]
    Localpart(&'static str),
    /// Not an email address (or `@domain`).
    #[error("invalid address {address:?}: {reason}")]
    InvalidAddress {
        /// As given.
        address: String,
        /// Why.
        reason: String,
    },
    /// The address cannot be added.
    #[error("address {address} not available: {reason}")]
    AddressNotAvailable {
        /// The address.
        address: String,
        /// Why: configured already, an alias, has a catchall separator.
        reason: String,
    },
    /// The address to remove is not an address of an account.
    #[error("address {address} does not exist")]
    AddressNotFound {
        /// The address.
        address: String,
    },
    /// The address is the last member of an alias.
    #[error("address is last member of alias {alias}, add new members or remove alias first")]
    LastAliasMember {
        /// The alias.
        alias: String,
    },
    /// The changed configuration does not pass the checks (the reference to a removed account
    /// from a DMARC address, for example); nothing was changed.
    #[error("the changed configuration is not valid:\n{0}")]
    Invalid(ConfigErrors),
    /// Generating a DKIM key failed.
    #[error("generating DKIM key: {0}")]
    Key(#[from] dkim::KeyError),
    /// Writing domains.conf failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Writing or moving a key file failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: Arc<std::io::Error>,
    },
}

/// A checked change to domains.conf, not yet written.
#[derive(Debug)]
pub struct Edit {
    /// The configuration after the change.
    pub config: Config,
    /// Files to create before domains.conf is written: new DKIM private keys (PEM), with
    /// their absolute paths.
    pub new_files: Vec<(PathBuf, String)>,
    /// Files no longer referenced (DKIM keys of a removed domain), moved to `old/` beside
    /// them by [`Edit::apply`].
    pub retired_files: Vec<PathBuf>,
}

impl Edit {
    /// Writes the change: new files (never overwriting one), then domains.conf atomically,
    /// then moves retired files into an `old` directory beside them. If writing domains.conf
    /// fails, the new files are removed again.
    pub fn apply(&self) -> Result<(), EditError> {
        let mut created = Vec::new();
        let result = self.write_all(&mut created);
        if result.is_err() {
            for path in created {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }

    fn write_all(&self, created: &mut Vec<PathBuf>) -> Result<(), EditError> {
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |e| EditError::Io { what, path, source: Arc::new(e) }
        };
        for (path, text) in &self.new_files {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io("creating directory", dir))?;
            }
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o660);
            let mut file = options.open(path).map_err(io("creating", path))?;
            created.push(path.clone());
            file.write_all(text.as_bytes()).map_err(io("writing", path))?;
            file.sync_all().map_err(io("syncing", path))?;
            if let Some(dir) = path.parent() {
                File::open(dir).and_then(|d| d.sync_all()).map_err(io("syncing", dir))?;
            }
        }
        crate::write_dynamic(&self.config.dynamic_path, &self.config.dynamic)?;
        created.clear();
        for path in &self.retired_files {
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { continue };
            let old = dir.join("old");
            let target = old.join(name);
            if target.exists() {
                tracing::error!(file = %path.display(), "not moving retired key file: {} exists", target.display());
                continue;
            }
            let moved = std::fs::create_dir_all(&old).and_then(|()| std::fs::rename(path, &target));
            if let Err(e) = moved {
                tracing::error!(file = %path.display(), error = %e, "moving retired key file");
            }
        }
        Ok(())
    }
}

fn checked(
    current: &Config,
    dynamic: crate::Dynamic,
    new_files: Vec<(PathBuf, String)>,
    retired_files: Vec<PathBuf>,
) -> Result<Edit, EditError> {
    let overlay: HashMap<PathBuf, String> = new_files.iter().cloned().collect();
    let config = crate::finish_dynamic(
        current,
        dynamic,
        Vec::new(),
        crate::sconf::Positions::default(),
        overlay,
    )
    .map_err(EditError::Invalid)?;
    Ok(Edit { config, new_files, retired_files })
}

/// The account configuration mox makes for a new account: the address, a Rejects mailbox,
/// the junk filter with mox's parameters, automatic junk flags, subject pass.
pub fn new_account(address: &message::Address) -> Account {
    let mut account = Account {
        domain: address.domain.unicode().to_string(),
        rejects_mailbox: Some("Rejects".into()),
        junk_filter: Some(JunkFilter {
            threshold: 0.95,
            params: JunkParams {
                onegrams: true,
                max_power: 0.01,
                top_words: 10,
                ignore_words: Some(0.1),
                rare_words: Some(2),
                ..JunkParams::default()
            },
        }),
        no_custom_password: true,
        ..Account::default()
    };
    account.destinations.insert(address.to_string(), Destination::default());
    account.automatic_junk_flags.enabled = true;
    account.automatic_junk_flags.junk_mailbox_regexp = Some("^(junk|spam)".into());
    account.automatic_junk_flags.neutral_mailbox_regexp =
        Some("^(inbox|introbox|neutral|postmaster|dmarc|tlsrpt|rejects)".into());
    account.subject_pass.period = Duration::from_secs(12 * 3600);
    account
}

/// Account names become directory names: no path separators, no dot files, nothing unprintable.
fn check_account_name(account: &str) -> Result<(), EditError> {
    let reason = if account.is_empty() {
        Some("empty")
    } else if account.contains(['/', '\\']) {
        Some("contains a slash")
    } else if account.starts_with('.') {
        Some("starts with a dot")
    } else if account.chars().any(char::is_control) {
        Some("contains a control character")
    } else if account.contains(':')
        || account.starts_with(['#', ' ', '\t'])
        || account.ends_with([' ', '\t'])
    {
        Some("cannot be written as a key in domains.conf")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(EditError::InvalidAccountName { account: account.to_string(), reason }),
        None => Ok(()),
    }
}

fn parse_addr(address: &str) -> Result<message::Address, EditError> {
    parse_address(address)
        .map_err(|reason| EditError::InvalidAddress { address: address.to_string(), reason })
}

/// Checks that an address can be added: its domain exists, it is not configured (after
/// canonicalization), has no catchall separator and is not an alias.
fn check_address_available(current: &Config, addr: &message::Address) -> Result<(), EditError> {
    let unavailable =
        |reason: String| EditError::AddressNotAvailable { address: addr.to_string(), reason };
    let Some(dc) = current.domain(&addr.domain) else {
        return Err(unavailable("domain does not exist".into()));
    };
    let lp = canonical_localpart(addr.localpart.as_str(), dc);
    let key = (lp.clone(), addr.domain.clone());
    let canonical = crate::lookup::format_address(&lp, &addr.domain);
    if current.index.destinations.contains_key(&key) {
        return Err(unavailable(format!("canonicalized address {canonical} already configured")));
    }
    for sep in &dc.localpart_catchall_separators_effective {
        if addr.localpart.as_str().contains(sep.as_str()) {
            return Err(unavailable(format!(
                "localpart cannot include domain catchall separator {sep}"
            )));
        }
    }
    if current.index.aliases.contains_key(&key) {
        return Err(unavailable("address in use as alias".into()));
    }
    Ok(())
}

/// Adds an account with its first address (mox's `config account add`). The account has no
/// password yet, but mail to the address is delivered.
pub fn account_add(current: &Config, account: &str, address: &str) -> Result<Edit, EditError> {
    check_account_name(account)?;
    let addr = parse_addr(address)?;
    if current.dynamic.accounts.contains_key(account) {
        return Err(EditError::AccountExists { account: account.to_string() });
    }
    let dir = current.data_dir.join("accounts").join(account);
    if dir.exists() {
        return Err(EditError::AccountDirectoryExists { path: dir });
    }
    check_address_available(current, &addr)?;
    let mut dynamic = current.dynamic.clone();
    dynamic.accounts.insert(account.to_string(), new_account(&addr));
    checked(current, dynamic, Vec::new(), Vec::new())
}

/// Removes an account from the configuration (mox's `config account rm`). Refused while the
/// configuration still needs it (as postmaster, or for reporting addresses). The account's
/// messages are not touched here.
pub fn account_rm(current: &Config, account: &str) -> Result<Edit, EditError> {
    let mut dynamic = current.dynamic.clone();
    if dynamic.accounts.remove(account).is_none() {
        return Err(EditError::AccountNotFound { account: account.to_string() });
    }
    checked(current, dynamic, Vec::new(), Vec::new())
}

/// Adds an address to an account (mox's `config address add`); `@domain` adds the domain's
/// catchall address.
pub fn address_add(current: &Config, address: &str, account: &str) -> Result<Edit, EditError> {
    if !current.dynamic.accounts.contains_key(account) {
        return Err(EditError::AccountNotFound { account: account.to_string() });
    }
    let key = if let Some(domain) = address.strip_prefix('@') {
        let d = parse_domain(domain)
            .map_err(|reason| EditError::InvalidAddress { address: address.to_string(), reason })?;
        if current.domain(&d).is_none() {
            return Err(EditError::DomainNotFound { domain: d.unicode().to_string() });
        }
        if current.index.catchalls.contains_key(&d) {
            return Err(EditError::AddressNotAvailable {
                address: format!("@{}", d.unicode()),
                reason: "catchall address already configured for domain".into(),
            });
        }
        format!("@{}", d.unicode())
    } else {
        let addr = parse_addr(address)?;
        check_address_available(current, &addr)?;
        addr.to_string()
    };
    let mut dynamic = current.dynamic.clone();
    if let Some(acc) = dynamic.accounts.get_mut(account) {
        acc.destinations.insert(key, Destination::default());
    }
    checked(current, dynamic, Vec::new(), Vec::new())
}

/// Removes an address (mox's `config address rm`), `@domain` for a catchall: from its account,
/// from the account's fromid login addresses, and from the aliases it is a member of (refused
/// if it is the last member). The address is matched after canonicalization, so
/// `Mjl+x@Example.com` removes `mjl@example.com`.
pub fn address_rm(current: &Config, address: &str) -> Result<Edit, EditError> {
    let not_found = || EditError::AddressNotFound { address: address.to_string() };
    // The account and the key in its Destinations.
    let (account, dest_key, domain, canonical_lp) = if let Some(domain) = address.strip_prefix('@')
    {
        let d = parse_domain(domain)
            .map_err(|reason| EditError::InvalidAddress { address: address.to_string(), reason })?;
        let ad = current.index.catchalls.get(&d).ok_or_else(not_found)?;
        (ad.account.clone(), format!("@{}", d.unicode()), d, None)
    } else {
        let addr = parse_addr(address)?;
        let dc = current.domain(&addr.domain).ok_or_else(not_found)?;
        let lp = canonical_localpart(addr.localpart.as_str(), dc);
        let ad = current
            .index
            .destinations
            .get(&(lp.clone(), addr.domain.clone()))
            .ok_or_else(not_found)?;
        let acc = current.account(&ad.account).ok_or_else(not_found)?;
        // The key as configured: the one whose canonical form is this address.
        let key = acc
            .destinations
            .keys()
            .find(|k| {
                parse_address(k).is_ok_and(|a| {
                    a.domain == addr.domain && canonical_localpart(a.localpart.as_str(), dc) == lp
                })
            })
            .cloned()
            .ok_or_else(|| EditError::AddressNotFound {
                address: format!(
                    "{address} (a postmaster or reporting address is not removed this way)"
                ),
            })?;
        (ad.account.clone(), key, addr.domain.clone(), Some(lp))
    };

    let mut dynamic = current.dynamic.clone();
    let Some(acc) = dynamic.accounts.get_mut(&account) else { return Err(not_found()) };
    acc.destinations.remove(&dest_key);
    if let Some(dc) = current.domain(&domain) {
        let keep: Vec<String> = acc
            .from_id_login_addresses
            .iter()
            .filter(|f| match parse_address(f) {
                Ok(fa) if fa.domain == domain => match &canonical_lp {
                    None => false,
                    Some(lp) => canonical_localpart(fa.localpart.as_str(), dc) != *lp,
                },
                _ => true,
            })
            .cloned()
            .collect();
        acc.from_id_login_addresses = keep;
    }
    // Out of the aliases it is a member of.
    for dom in dynamic.domains.values_mut() {
        for (name, alias) in dom.aliases.iter_mut() {
            let before = alias.addresses.len();
            alias.addresses.retain(|a| a != &dest_key);
            if alias.addresses.len() != before && alias.addresses.is_empty() {
                return Err(EditError::LastAliasMember {
                    alias: format!("{name}@{}", dom.domain.unicode()),
                });
            }
        }
    }
    checked(current, dynamic, Vec::new(), Vec::new())
}

/// Adds a domain (mox's `config domain add`): with a catchall separator `+`, DMARC and TLS
/// reports delivered to `account` (mailboxes DMARC and TLSRPT), MTA-STS if a listener serves
/// it, and two new DKIM keys, Ed25519 (selector `<year>a`) and RSA-2048 (`<year>b`), both used
/// for signing (receivers that do not verify Ed25519 still find the RSA signature, RFC 8463
/// §4). The keys are written to `dkim/` beside domains.conf by [`Edit::apply`].
///
/// If `account` does not exist it is created with `localpart@domain` as its address, which
/// then must be given; for an existing account no localpart is taken, and the account gets
/// `postmaster@domain` (unless it is the postmaster account).
pub fn domain_add(
    current: &Config,
    domain: &dns::Domain,
    account: &str,
    localpart: Option<&str>,
    disabled: bool,
) -> Result<Edit, EditError> {
    domain_add_at(current, domain, account, localpart, disabled, SystemTime::now())
}

pub(crate) fn domain_add_at(
    current: &Config,
    domain: &dns::Domain,
    account: &str,
    localpart: Option<&str>,
    disabled: bool,
    now: SystemTime,
) -> Result<Edit, EditError> {
    if current.domain(domain).is_some() {
        return Err(EditError::DomainExists { domain: domain.unicode().to_string() });
    }
    if account.is_empty() {
        return Err(EditError::InvalidAccountName { account: String::new(), reason: "empty" });
    }
    let exists = current.dynamic.accounts.contains_key(account);
    let localpart = localpart.filter(|l| !l.is_empty());
    if exists && localpart.is_some() {
        return Err(EditError::Localpart(
            "account already exists (leave localpart empty when using an existing account)",
        ));
    }
    if !exists && localpart.is_none() {
        return Err(EditError::Localpart("account does not yet exist (specify a localpart)"));
    }

    let with_mtasts = current.static_.listeners.values().any(|l| l.mtasts_https.enabled);
    let (domain_config, new_files) = new_domain(current, domain, account, with_mtasts, now)?;
    let mut domain_config = domain_config;
    domain_config.disabled = disabled;

    let mut dynamic = current.dynamic.clone();
    if let Some(lp) = localpart {
        check_account_name(account)?;
        let lp = crate::check::parse_localpart(lp)
            .map_err(|reason| EditError::InvalidAddress { address: lp.to_string(), reason })?;
        let dir = current.data_dir.join("accounts").join(account);
        if dir.exists() {
            return Err(EditError::AccountDirectoryExists { path: dir });
        }
        dynamic
            .accounts
            .insert(account.to_string(), new_account(&message::Address::new(lp, domain.clone())));
    } else if account != current.static_.postmaster.account
        && let Some(acc) = dynamic.accounts.get_mut(account)
    {
        acc.destinations.insert(format!("postmaster@{}", domain.unicode()), Destination::default());
    }
    dynamic.domains.insert(domain.unicode().to_string(), domain_config);
    checked(current, dynamic, new_files, Vec::new())
}

/// The configuration of a new domain, with its new DKIM keys (absolute path and PEM).
fn new_domain(
    current: &Config,
    domain: &dns::Domain,
    account: &str,
    with_mtasts: bool,
    now: SystemTime,
) -> Result<(Domain, Vec<(PathBuf, String)>), EditError> {
    make_domain(&current.dynamic_path, current.hostname(), domain, account, with_mtasts, now)
}

/// The configuration [`domain_add`] makes for a new domain, for a configuration that does not
/// exist yet (mox's quickstart): DKIM keys (Ed25519 and RSA-2048, both signing), DMARC and
/// TLS reports to `account`, MTA-STS with `hostname` as MX if `with_mtasts`. Returns the
/// domain's configuration and the key files to write, with their absolute paths (in `dkim/`
/// beside `dynamic_path`, domains.conf) and PEM text; nothing is written here.
pub fn new_domain_config(
    dynamic_path: &Path,
    hostname: &dns::Domain,
    domain: &dns::Domain,
    account: &str,
    with_mtasts: bool,
) -> Result<(Domain, Vec<(PathBuf, String)>), EditError> {
    make_domain(dynamic_path, hostname, domain, account, with_mtasts, SystemTime::now())
}

fn make_domain(
    dynamic_path: &Path,
    hostname: &dns::Domain,
    domain: &dns::Domain,
    account: &str,
    with_mtasts: bool,
    now: SystemTime,
) -> Result<(Domain, Vec<(PathBuf, String)>), EditError> {
    let (year, timestamp) = utc_timestamp(now);
    let mut dkim = Dkim::default();
    let mut files = Vec::new();
    for (selector, kind, key) in [
        (format!("{year}a"), "ed25519", dkim::PrivateKey::generate_ed25519()?),
        (format!("{year}b"), "rsa2048", dkim::PrivateKey::generate_rsa(2048)?),
    ] {
        let file = format!(
            "dkim/{selector}._domainkey.{}.{timestamp}.{kind}.privatekey.pkcs8.pem",
            domain.ascii()
        );
        files.push((config_dir_path(dynamic_path, &file), key.to_pem()));
        dkim.selectors.insert(
            selector.clone(),
            Selector {
                // As mox: a few days, enough for delivery with retries (RFC 6376 §3.5).
                expiration: Some("72h".into()),
                private_key_file: file,
                ..Selector::default()
            },
        );
        dkim.sign.push(selector);
    }
    let config = Domain {
        client_settings_domain: Some(format!("mail.{}", domain.unicode())),
        localpart_catchall_separator: Some("+".into()),
        dkim,
        dmarc: Some(Dmarc {
            localpart: "dmarcreports".into(),
            account: account.to_string(),
            mailbox: "DMARC".into(),
            ..Dmarc::default()
        }),
        tlsrpt: Some(Tlsrpt {
            localpart: "tlsreports".into(),
            account: account.to_string(),
            mailbox: "TLSRPT".into(),
            ..Tlsrpt::default()
        }),
        mtasts: with_mtasts.then(|| Mtasts {
            policy_id: timestamp.clone(),
            mode: "enforce".into(),
            // A day to start with; weeks once the setup works.
            max_age: Duration::from_secs(24 * 3600),
            mx: vec![hostname.ascii().to_string()],
        }),
        ..Domain::default()
    };
    Ok((config, files))
}

/// Removes a domain (mox's `config domain rm`). Refused while accounts still have addresses
/// at it. Its DKIM key files, unless another domain uses them, are moved to `old/` beside
/// them by [`Edit::apply`].
pub fn domain_rm(current: &Config, domain: &dns::Domain) -> Result<Edit, EditError> {
    let mut dynamic = current.dynamic.clone();
    let Some(removed) = dynamic.domains.remove(domain.unicode()) else {
        return Err(EditError::DomainNotFound { domain: domain.unicode().to_string() });
    };
    let used: Vec<PathBuf> = dynamic
        .domains
        .values()
        .flat_map(|d| d.dkim.selectors.values())
        .map(|s| config_dir_path(&current.dynamic_path, &s.private_key_file))
        .collect();
    let retired = removed
        .dkim
        .selectors
        .values()
        .map(|s| config_dir_path(&current.dynamic_path, &s.private_key_file))
        .filter(|p| !used.contains(p))
        .collect();
    checked(current, dynamic, Vec::new(), retired)
}

/// The year and a `20060102T150405` timestamp, in UTC, as mox names its key files.
fn utc_timestamp(now: SystemTime) -> (i64, String) {
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let days = secs.div_euclid(86400);
    let rest = secs.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let stamp = format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60
    );
    (year, stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199); // 2024-02-29T23:59:59Z
        assert_eq!(utc_timestamp(t), (2024, "20240229T235959".to_string()));
        assert_eq!(utc_timestamp(UNIX_EPOCH), (1970, "19700101T000000".to_string()));
    }

    #[test]
    fn account_names() {
        assert!(check_account_name("mjl").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a:b", "x\n"] {
            assert!(check_account_name(bad).is_err(), "{bad:?}");
        }
    }
}
