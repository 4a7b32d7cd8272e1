//! [`Runtime`]: everything the services of one `mox serve` share.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use sasl::StoredCredentials;
use store::SpecialUse;

use crate::{AccountError, Accounts, AuthLimiter, InitialMailboxes, Outgoing, Shutdown};

/// How the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `mox serve`: a real mail server.
    #[default]
    Serve,
    /// `mox localserve`: every recipient is accepted for the local account, special
    /// localparts fail on purpose, and nothing leaves the machine.
    Localserve,
}

/// What a [`Runtime`] is made from.
pub struct RuntimeOptions {
    /// The loaded configuration.
    pub config: Arc<config::Config>,
    /// For every lookup the services make.
    pub resolver: Arc<dyn dns::Resolver>,
    /// The stop signal.
    pub shutdown: Shutdown,
    /// Serve or localserve.
    pub mode: Mode,
    /// TLS configuration per listener name, for listeners with TLS.
    pub tls: HashMap<String, Arc<rustls::ServerConfig>>,
    /// Failed-login accounting; `None` for the default delays (tests pass zero delays).
    pub auth_limiter: Option<AuthLimiter>,
    /// Cost of deriving password secrets; `None` for the default (tests pass cheap ones).
    pub derive_params: Option<sasl::DeriveParams>,
}

/// An account that may log in, with what its password is checked against.
#[derive(Debug, Clone)]
pub struct Login {
    /// The account name.
    pub account: String,
    /// Its credentials.
    pub credentials: StoredCredentials,
}

/// What every service of a running server shares. Services get an `Arc<Runtime>`.
pub struct Runtime {
    config: RwLock<Arc<config::Config>>,
    accounts: Arc<Accounts>,
    auth_limiter: Arc<AuthLimiter>,
    resolver: Arc<dyn dns::Resolver>,
    shutdown: Shutdown,
    mode: Mode,
    tls: HashMap<String, Arc<rustls::ServerConfig>>,
    outgoing: RwLock<Option<Arc<dyn Outgoing>>>,
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("data_dir", &self.accounts.data_dir())
            .field("mode", &self.mode)
            .field("tls_listeners", &self.tls.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime for `options`.
    pub fn new(options: RuntimeOptions) -> Runtime {
        let mut accounts =
            Accounts::new(&options.config.data_dir, initial_mailboxes(&options.config.static_));
        if let Some(p) = options.derive_params {
            accounts = accounts.with_derive_params(p);
        }
        Runtime {
            config: RwLock::new(options.config),
            accounts: Arc::new(accounts),
            auth_limiter: Arc::new(options.auth_limiter.unwrap_or_else(|| {
                AuthLimiter::new(Duration::from_secs(1), Duration::from_secs(15))
            })),
            resolver: options.resolver,
            shutdown: options.shutdown,
            mode: options.mode,
            tls: options.tls,
            outgoing: RwLock::new(None),
        }
    }

    /// The configuration now. Take it once per connection or transaction and use that
    /// snapshot throughout, so one decision never mixes two versions of domains.conf.
    pub fn config(&self) -> Arc<config::Config> {
        self.config.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the configuration (domains.conf changed); connections pick it up with their
    /// next [`Runtime::config`].
    pub fn set_config(&self, config: Arc<config::Config>) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// The accounts.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The accounts, for a service that keeps its own handle (the SMTP server's directory).
    pub fn shared_accounts(&self) -> Arc<Accounts> {
        self.accounts.clone()
    }

    /// Failed-login accounting, shared by SMTP and IMAP.
    pub fn auth_limiter(&self) -> &AuthLimiter {
        &self.auth_limiter
    }

    /// The failed-login accounting, for a service that keeps its own handle (the SMTP server).
    pub fn shared_auth_limiter(&self) -> Arc<AuthLimiter> {
        self.auth_limiter.clone()
    }

    /// The resolver for every lookup.
    pub fn resolver(&self) -> &Arc<dyn dns::Resolver> {
        &self.resolver
    }

    /// The stop signal and connection tracking.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Serve or localserve.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The TLS configuration of listener `name`, if it has TLS.
    pub fn listener_tls(&self, name: &str) -> Option<Arc<rustls::ServerConfig>> {
        self.tls.get(name).cloned()
    }

    /// The queue, once it runs.
    pub fn outgoing(&self) -> Option<Arc<dyn Outgoing>> {
        self.outgoing.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Installs the queue.
    pub fn set_outgoing(&self, outgoing: Arc<dyn Outgoing>) {
        *self.outgoing.write().unwrap_or_else(PoisonError::into_inner) = Some(outgoing);
    }

    /// The account `username` (an email address, as mox logs in) and its credentials;
    /// `None` for an unknown address or an account without a password. Blocks on disk I/O.
    pub fn login(&self, username: &str) -> Result<Option<Login>, AccountError> {
        let config = self.config();
        let Ok((account, _)) = config.account_for_login(username) else { return Ok(None) };
        let account = account.to_string();
        Ok(self.accounts.credentials(&account)?.map(|credentials| Login { account, credentials }))
    }
}

/// The mailboxes for new accounts from mox.conf, as mox decides: the deprecated
/// `DefaultMailboxes` when set (special use by name prefix: `Archive...`, `Drafts...`,
/// `Junk...`, `Sent...`, `Trash...`), else `InitialMailboxes`, else mox's default set.
pub fn initial_mailboxes(static_: &config::Static) -> InitialMailboxes {
    if !static_.default_mailboxes.is_empty() {
        let mut out = InitialMailboxes { special_use: Vec::new(), regular: Vec::new() };
        for name in static_.default_mailboxes.iter().filter(|m| !m.eq_ignore_ascii_case("inbox")) {
            let by_prefix = [
                ("Archive", SpecialUse::ARCHIVE),
                ("Drafts", SpecialUse::DRAFTS),
                ("Junk", SpecialUse::JUNK),
                ("Sent", SpecialUse::SENT),
                ("Trash", SpecialUse::TRASH),
            ]
            .into_iter()
            .find(|(prefix, _)| name.starts_with(prefix));
            match by_prefix {
                Some((_, flag)) => out.special_use.push((name.clone(), flag)),
                None => out.regular.push(name.clone()),
            }
        }
        return out;
    }
    let im = &static_.initial_mailboxes;
    let su = &im.special_use;
    let special: Vec<(String, SpecialUse)> = [
        (&su.archive, SpecialUse::ARCHIVE),
        (&su.draft, SpecialUse::DRAFTS),
        (&su.junk, SpecialUse::JUNK),
        (&su.sent, SpecialUse::SENT),
        (&su.trash, SpecialUse::TRASH),
    ]
    .into_iter()
    .filter_map(|(name, flag)| name.clone().filter(|n| !n.is_empty()).map(|n| (n, flag)))
    .collect();
    if special.is_empty() && im.regular.is_empty() {
        return InitialMailboxes::default();
    }
    InitialMailboxes { special_use: special, regular: im.regular.clone() }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    const MOX_CONF: &str = "DataDir: data\nLogLevel: info\nHostname: mail.example.com\n\
        Listeners:\n\tlocal:\n\t\tIPs:\n\t\t\t- 127.0.0.1\n\
        Postmaster:\n\tAccount: mjl\n\tMailbox: Postmaster\n";
    const DOMAINS_CONF: &str = "Domains:\n\texample.com: nil\nAccounts:\n\tmjl:\n\
        \t\tDomain: example.com\n\t\tDestinations:\n\t\t\tmjl@example.com: nil\n";

    fn runtime(dir: &std::path::Path, mox_conf: &str) -> Runtime {
        let config = config::load_from_texts(&dir.join("mox.conf"), mox_conf, DOMAINS_CONF)
            .expect("valid config");
        Runtime::new(RuntimeOptions {
            config: Arc::new(config),
            resolver: Arc::new(dns::MockResolver::new()),
            shutdown: Shutdown::new(),
            mode: Mode::Serve,
            tls: HashMap::new(),
            auth_limiter: None,
            derive_params: Some(sasl::DeriveParams {
                scram_iterations: NonZeroU32::new(16).expect("nonzero"),
                argon2_memory_kib: 64,
                argon2_passes: 1,
            }),
        })
    }

    #[test]
    fn login_by_configured_address_only_and_only_with_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path(), MOX_CONF);
        assert!(rt.login("mjl@example.com").unwrap().is_none(), "no password yet");
        rt.accounts().set_password("mjl", "test1234").unwrap();
        let login = rt.login("MJL@Example.com").unwrap().expect("configured address");
        assert_eq!(login.account, "mjl");
        assert!(login.credentials.password_hash.unwrap().verify("test1234"));
        assert!(rt.login("mjl").unwrap().is_none(), "an account name is not a login");
        assert!(rt.login("other@example.com").unwrap().is_none());
        assert!(dir.path().join("data/accounts/mjl/data.mdb").is_file());
    }

    #[test]
    fn initial_mailboxes_follow_mox_conf() {
        let dir = tempfile::tempdir().unwrap();
        let with = |extra: &str| {
            let config = config::load_from_texts(
                &dir.path().join("mox.conf"),
                &format!("{MOX_CONF}{extra}"),
                DOMAINS_CONF,
            )
            .expect("valid config");
            initial_mailboxes(&config.static_)
        };
        assert_eq!(with(""), InitialMailboxes::default());
        let custom = with(
            "InitialMailboxes:\n\tSpecialUse:\n\t\tSent: Verzonden\n\tRegular:\n\t\t- Lists\n",
        );
        assert_eq!(custom.special_use, vec![("Verzonden".to_string(), SpecialUse::SENT)]);
        assert_eq!(custom.regular, vec!["Lists".to_string()]);
        let old = with("DefaultMailboxes:\n\t- Inbox\n\t- Sent Items\n\t- Lists\n");
        assert_eq!(old.special_use, vec![("Sent Items".to_string(), SpecialUse::SENT)]);
        assert_eq!(old.regular, vec!["Lists".to_string()]);
    }
}
