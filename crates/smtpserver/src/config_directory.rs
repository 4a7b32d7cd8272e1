//! [`ConfigDirectory`]: the [`Directory`] of `mox serve`, over mox's configuration
//! (domains.conf, through the `config` crate's lookups) and the accounts of the data directory
//! (`runtime::Accounts`, with the login credentials kept in the store).

use std::sync::Arc;

use dns::Domain;
use message::Address;

use crate::directory::{
    AccountSettings, AliasRecipient, Destination, Directory, LocalRecipient, Lookup, Ruleset,
};
use crate::reply::{Ecode, Reply};

/// Gives the configuration in effect now (replaced as a whole when domains.conf changes).
pub type ConfigSource = Arc<dyn Fn() -> Arc<config::Config> + Send + Sync>;

/// A [`Directory`] over a live configuration and the data directory's accounts.
pub struct ConfigDirectory {
    config: ConfigSource,
    accounts: Arc<runtime::Accounts>,
}

impl std::fmt::Debug for ConfigDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigDirectory").field("accounts", &self.accounts).finish_non_exhaustive()
    }
}

impl ConfigDirectory {
    /// A directory that reads the configuration from `config` at every lookup.
    pub fn new(config: ConfigSource, accounts: Arc<runtime::Accounts>) -> ConfigDirectory {
        ConfigDirectory { config, accounts }
    }

    /// A directory over a configuration that does not change.
    pub fn fixed(config: Arc<config::Config>, accounts: Arc<runtime::Accounts>) -> ConfigDirectory {
        ConfigDirectory::new(Arc::new(move || config.clone()), accounts)
    }
}

/// The server's form of a configured destination: rulesets with compiled patterns, the
/// `SMTPError` as a reply.
pub fn destination(d: &config::Destination) -> Destination {
    let smtp_error = (d.smtp_error_code != 0).then(|| {
        let ecode = match d.smtp_error_secode.split_once('.') {
            Some((s, x)) => Ecode(s.parse().unwrap_or(0), x.parse().unwrap_or(0)),
            None => Ecode::OTHER,
        };
        Reply::new(d.smtp_error_code, ecode, d.smtp_error_msg.clone())
    });
    Destination {
        mailbox: d.mailbox.clone().filter(|m| !m.is_empty()),
        rulesets: d.rulesets.iter().map(ruleset).collect(),
        smtp_error,
        message_auth_required_error: d
            .message_auth_required_smtp_error
            .clone()
            .filter(|m| !m.is_empty()),
        dmarc_reports: d.dmarc_reports,
        host_tls_reports: d.host_tls_reports,
        domain_tls_reports: d.domain_tls_reports,
    }
}

fn ruleset(r: &config::Ruleset) -> Ruleset {
    Ruleset {
        smtp_mail_from: r.smtp_mail_from_regexp_compiled.as_ref().map(|x| x.regex().clone()),
        msg_from: r.msg_from_regexp_compiled.as_ref().map(|x| x.regex().clone()),
        verified_domain: r.verified_dns_domain.clone(),
        headers: r
            .headers_regexp_compiled
            .iter()
            .map(|(k, v)| (k.regex().clone(), v.regex().clone()))
            .collect(),
        is_forward: r.is_forward,
        list_allow_domain: r.list_allow_dns_domain.clone(),
        accept_rejects_to_mailbox: r.accept_rejects_to_mailbox.clone().filter(|m| !m.is_empty()),
        mailbox: r.mailbox.clone(),
    }
}

fn local(account: &str, canonical: &str, d: &config::Destination) -> LocalRecipient {
    LocalRecipient {
        account: account.to_string(),
        canonical: canonical.to_string(),
        destination: Arc::new(destination(d)),
    }
}

fn recipient(r: config::Recipient<'_>) -> Lookup {
    match r {
        config::Recipient::Account { account, canonical, destination } => {
            Lookup::Account(local(account, canonical, destination))
        }
        config::Recipient::Alias { alias, canonical } => Lookup::Alias(AliasRecipient {
            canonical: canonical.to_string(),
            members: alias
                .parsed_addresses
                .iter()
                .map(|m| {
                    (
                        m.address.clone(),
                        local(&m.account_name, &m.address.to_string(), &m.destination),
                    )
                })
                .collect(),
            allow_msg_from: alias.allow_msg_from,
            post_public: alias.post_public,
        }),
    }
}

impl Directory for ConfigDirectory {
    fn lookup(&self, address: &Address) -> Lookup {
        let config = (self.config)();
        match config.lookup_recipient(address) {
            Ok(r) => recipient(r),
            Err(config::LookupError::DomainNotFound) => Lookup::UnknownDomain,
            Err(config::LookupError::DomainDisabled) => Lookup::DomainDisabled,
            Err(_) => Lookup::UnknownAddress,
        }
    }

    fn postmaster(&self) -> LocalRecipient {
        let config = (self.config)();
        let postmaster = message::Localpart::new("postmaster").ok();
        match postmaster
            .and_then(|lp| config.lookup_address(&lp, None, config::LookupOptions::DELIVERY).ok())
        {
            Some(config::Recipient::Account { account, canonical, destination }) => {
                local(account, canonical, destination)
            }
            _ => LocalRecipient {
                account: config.static_.postmaster.account.clone(),
                canonical: "postmaster".into(),
                destination: Arc::new(Destination::default()),
            },
        }
    }

    fn hostname(&self) -> Domain {
        (self.config)().hostname().clone()
    }

    fn account_settings(&self, account: &str) -> Option<AccountSettings> {
        let config = (self.config)();
        let a = config.account(account)?;
        let positive = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        Some(AccountSettings {
            rejects_mailbox: a.rejects_mailbox.clone().filter(|m| !m.is_empty()),
            keep_rejects: a.keep_rejects,
            no_first_time_sender_delay: a.no_first_time_sender_delay,
            max_outgoing_messages_per_day: positive(a.max_outgoing_messages_per_day),
            max_first_time_recipients_per_day: positive(a.max_first_time_recipients_per_day),
            login_disabled: a.login_disabled.clone().filter(|m| !m.is_empty()),
            subject_pass_period: Some(a.subject_pass.period).filter(|p| !p.is_zero()),
        })
    }

    fn sender_allowed(&self, account: &str, address: &Address) -> bool {
        (self.config)().allow_msg_from(account, address).0
    }

    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)> {
        let config = (self.config)();
        let (account, _) = config.account_for_login(username).ok()?;
        match self.accounts.credentials(account) {
            Ok(Some(c)) => Some((account.to_string(), c)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(account, error = %e, "reading login credentials");
                None
            }
        }
    }

    fn open_account(&self, account: &str) -> Result<Arc<store::Account>, store::Error> {
        match self.accounts.open(account) {
            Ok(a) => Ok(Arc::new(a)),
            Err(runtime::AccountError::Store(e)) => Err(e),
            Err(e) => Err(store::Error::InvalidAccountName {
                name: account.to_string(),
                reason: leak_reason(e.to_string()),
            }),
        }
    }

    fn junk_filter(&self, account: &str) -> Option<junk::JunkFilter> {
        let config = (self.config)();
        junk_filter(config.account(account)?)
    }

    fn automatic_junk_flags(&self, account: &str) -> junk::AutomaticJunkFlags {
        let config = (self.config)();
        config.account(account).map(automatic_junk_flags).unwrap_or_default()
    }

    fn dkim_sign(&self, domain: &Domain, message: &[u8]) -> Result<Option<String>, dkim::Error> {
        let config = (self.config)();
        match config.dkim_signers(domain) {
            Ok(Some((_, signers))) if !signers.is_empty() => {
                dkim::sign(signers, message, std::time::SystemTime::now()).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// The `junk` crate's form of an account's `JunkFilter` settings (mox's defaults for what is
/// not set); `None` when the account has no junk filter. Shared with the IMAP server of
/// `mox serve`, which trains the same filter.
pub fn junk_filter(account: &config::Account) -> Option<junk::JunkFilter> {
    let jf = account.junk_filter.as_ref()?;
    let p = &jf.params;
    let defaults = junk::Params::default();
    Some(junk::JunkFilter {
        threshold: jf.threshold,
        params: junk::Params {
            onegrams: p.onegrams,
            twograms: p.twograms,
            threegrams: p.threegrams,
            max_power: p.max_power,
            top_words: usize::try_from(p.top_words).unwrap_or(defaults.top_words),
            ignore_words: p.ignore_words.unwrap_or(defaults.ignore_words),
            rare_words: p
                .rare_words
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(defaults.rare_words),
            ..defaults
        },
    })
}

/// The `junk` crate's form of an account's `AutomaticJunkFlags` settings.
pub fn automatic_junk_flags(account: &config::Account) -> junk::AutomaticJunkFlags {
    let a = &account.automatic_junk_flags;
    junk::AutomaticJunkFlags {
        enabled: a.enabled,
        junk_mailbox_regexp: a.junk_mailbox_regexp.clone().unwrap_or_default(),
        neutral_mailbox_regexp: a.neutral_mailbox_regexp.clone().unwrap_or_default(),
        not_junk_mailbox_regexp: a.not_junk_mailbox_regexp.clone().unwrap_or_default(),
    }
}

/// store's error takes a static reason; account errors other than the store's are rare
/// (invalid names, rejected by the session long before).
fn leak_reason(_reason: String) -> &'static str {
    "cannot open account"
}
