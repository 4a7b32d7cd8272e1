//! What the server needs to know about domains, accounts and addresses: the [`Directory`]
//! trait, the delivery settings of an address ([`Destination`], [`Ruleset`]) and of an
//! account ([`AccountSettings`]).
//!
//! `mox serve` implements [`Directory`] over its configuration (domains.conf) and its
//! accounts; [`StaticDirectory`] is a small in-memory one for tests, benchmarks and embedding.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dns::Domain;
use message::Address;
use regex::Regex;

/// The delivery settings of an address (mox's `Destination`).
#[derive(Debug, Clone, Default)]
pub struct Destination {
    /// Mailbox when no ruleset matches; `Inbox` when `None`.
    pub mailbox: Option<String>,
    /// Rules that pick another mailbox (and influence spam checks).
    pub rulesets: Vec<Ruleset>,
    /// Reject at RCPT TO with this reply (`SMTPError`, e.g. for one address of a catchall).
    pub smtp_error: Option<crate::Reply>,
    /// Reject messages without an aligned SPF or DKIM pass with this text
    /// (`MessageAuthRequiredSMTPError`).
    pub message_auth_required_error: Option<String>,
    /// The address receives DMARC aggregate reports.
    pub dmarc_reports: bool,
    /// The address receives TLS reports for the host.
    pub host_tls_reports: bool,
    /// The address receives TLS reports for the domain.
    pub domain_tls_reports: bool,
}

/// A delivery rule (mox's `Ruleset`): all conditions that are set must match.
#[derive(Debug, Clone)]
pub struct Ruleset {
    /// Matches (a substring of) the SMTP MAIL FROM address.
    pub smtp_mail_from: Option<Regex>,
    /// Matches (a substring of) the single address in the From header.
    pub msg_from: Option<Regex>,
    /// Matches when this domain (or a parent of a verified domain) passed SPF or DKIM.
    pub verified_domain: Option<Domain>,
    /// Header field/value pairs that must all match (names and values lowercased, values
    /// trimmed), each by at least one field.
    pub headers: Vec<(Regex, Regex)>,
    /// The message is forwarded: no DMARC reject, and the forwarder's IP, EHLO and MAIL FROM
    /// do not count for reputation.
    pub is_forward: bool,
    /// A mailing list: accept without spam checks when this domain passed SPF or DKIM.
    pub list_allow_domain: Option<Domain>,
    /// Deliver messages that would be rejected to this mailbox instead.
    pub accept_rejects_to_mailbox: Option<String>,
    /// Where matching messages go.
    pub mailbox: String,
}

/// Account-wide settings that matter for delivery and submission.
#[derive(Debug, Clone, Default)]
pub struct AccountSettings {
    /// Keep a copy of rejected messages here (`RejectsMailbox`).
    pub rejects_mailbox: Option<String>,
    /// Do not remove old messages from the rejects mailbox (`KeepRejects`).
    pub keep_rejects: bool,
    /// Never delay first-time senders for this account (`NoFirstTimeSenderDelay`).
    pub no_first_time_sender_delay: bool,
    /// `MaxOutgoingMessagesPerDay`, mox's default 1000 when 0.
    pub max_outgoing_messages_per_day: u32,
    /// `MaxFirstTimeRecipientsPerDay`, mox's default 200 when 0.
    pub max_first_time_recipients_per_day: u32,
    /// `LoginDisabled`: logins are refused with this text.
    pub login_disabled: Option<String>,
    /// `SubjectPass.Period`: moderately spammy messages from first-time senders are refused
    /// with a token that lets the message through when sent again with it in the subject,
    /// for this long. `None`: no SubjectPass.
    pub subject_pass_period: Option<std::time::Duration>,
}

/// A local recipient: an account and the destination the address matched.
#[derive(Debug, Clone)]
pub struct LocalRecipient {
    /// The account.
    pub account: String,
    /// The address delivered to (canonical form: separator part removed, lowercased).
    pub canonical: String,
    /// Its settings.
    pub destination: Arc<Destination>,
}

/// An alias (mox's `Alias`): a list of local members.
#[derive(Debug, Clone)]
pub struct AliasRecipient {
    /// The alias address.
    pub canonical: String,
    /// The members.
    pub members: Vec<(Address, LocalRecipient)>,
    /// Members may send to the alias (`AllowMsgFrom`).
    pub allow_msg_from: bool,
    /// Anyone may send to it (`PostPublic`).
    pub post_public: bool,
}

/// What an address resolves to.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// An account.
    Account(LocalRecipient),
    /// An alias.
    Alias(AliasRecipient),
    /// The domain is ours, the address is not.
    UnknownAddress,
    /// The domain is not ours.
    UnknownDomain,
    /// The domain is ours but temporarily disabled.
    DomainDisabled,
}

/// The configuration and accounts behind a server.
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// Resolves an address for delivery: case rules, catchall separators, aliases, catchall
    /// destinations, and postmaster (at our host name and every domain).
    fn lookup(&self, address: &Address) -> Lookup;

    /// The postmaster: for `RCPT TO:<Postmaster>` and `postmaster@` any local domain.
    fn postmaster(&self) -> LocalRecipient;

    /// The domain used for address literals of our own IPs (`user@[our IP]`).
    fn hostname(&self) -> Domain;

    /// Settings of an account.
    fn account_settings(&self, account: &str) -> Option<AccountSettings>;

    /// Whether `account` may send as `address` (MAIL FROM and From at submission): one of its
    /// addresses, with any catchall separator suffix, or an alias that allows its members.
    fn sender_allowed(&self, account: &str, address: &Address) -> bool;

    /// The account and stored credentials of a login name (an email address).
    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)>;

    /// Opens an account (once per process; later calls return the same one).
    fn open_account(&self, account: &str) -> Result<Arc<store::Account>, store::Error>;

    /// DKIM-signs `message` for the From domain `domain` with its selectors, in the order of
    /// its `Sign` list: the DKIM-Signature header fields to put before the message, or `None`
    /// when the domain does not sign.
    fn dkim_sign(&self, domain: &Domain, message: &[u8]) -> Result<Option<String>, dkim::Error>;

    /// The junk filter settings of an account (`JunkFilter`), if it has one.
    fn junk_filter(&self, _account: &str) -> Option<junk::JunkFilter> {
        None
    }

    /// The AutomaticJunkFlags settings of an account: which mailboxes set `$Junk`/`$NotJunk`
    /// on messages delivered to them (and so train the filter). Disabled by default; a
    /// mailbox with the `\Junk` special use always means junk.
    fn automatic_junk_flags(&self, _account: &str) -> junk::AutomaticJunkFlags {
        junk::AutomaticJunkFlags::default()
    }
}

/// An in-memory [`Directory`]: domains with a catchall separator and case rule, accounts
/// with addresses and passwords, aliases; accounts are stored under `data_dir/accounts`.
#[derive(Debug)]
pub struct StaticDirectory {
    data_dir: std::path::PathBuf,
    hostname: Domain,
    postmaster: String,
    domains: HashMap<Domain, StaticDomain>,
    /// Canonical address (`local@domain` or `@domain` for a catchall) to account and
    /// destination.
    addresses: HashMap<String, LocalRecipient>,
    aliases: HashMap<String, AliasRecipient>,
    accounts: HashMap<String, StaticAccount>,
    logins: HashMap<String, String>,
    open: Mutex<HashMap<String, Arc<store::Account>>>,
}

#[derive(Debug, Clone, Default)]
struct StaticDomain {
    catchall_separators: Vec<String>,
    case_sensitive: bool,
    disabled: bool,
    signers: Arc<Vec<dkim::Signer>>,
}

#[derive(Debug, Clone)]
struct StaticAccount {
    settings: AccountSettings,
    credentials: Option<sasl::StoredCredentials>,
    junk_filter: Option<junk::JunkFilter>,
    automatic_junk_flags: junk::AutomaticJunkFlags,
}

impl StaticDirectory {
    /// A directory whose accounts live in `data_dir/accounts/<name>`, with `postmaster`
    /// receiving postmaster mail.
    pub fn new(
        data_dir: impl Into<std::path::PathBuf>,
        hostname: Domain,
        postmaster: &str,
    ) -> StaticDirectory {
        StaticDirectory {
            data_dir: data_dir.into(),
            hostname,
            postmaster: postmaster.to_string(),
            domains: HashMap::new(),
            addresses: HashMap::new(),
            aliases: HashMap::new(),
            accounts: HashMap::new(),
            logins: HashMap::new(),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Adds a domain with catchall separators (`+`, `-`) and case sensitivity.
    pub fn add_domain(
        &mut self,
        domain: Domain,
        catchall_separators: &[&str],
        case_sensitive: bool,
    ) {
        self.domains.insert(
            domain,
            StaticDomain {
                catchall_separators: catchall_separators.iter().map(|s| s.to_string()).collect(),
                case_sensitive,
                disabled: false,
                signers: Arc::new(Vec::new()),
            },
        );
    }

    /// Marks a domain as temporarily disabled.
    pub fn disable_domain(&mut self, domain: &Domain) {
        if let Some(d) = self.domains.get_mut(domain) {
            d.disabled = true;
        }
    }

    /// Adds a DKIM signer for a domain (signers are used in the order added).
    pub fn add_dkim_signer(&mut self, domain: &Domain, signer: dkim::Signer) {
        if let Some(d) = self.domains.get_mut(domain)
            && let Some(signers) = Arc::get_mut(&mut d.signers)
        {
            signers.push(signer);
        }
    }

    /// Adds an account with a password (None for no login), derived with the default
    /// (production) costs.
    pub fn add_account(&mut self, name: &str, password: Option<&str>, settings: AccountSettings) {
        self.add_account_with(name, password, settings, &sasl::DeriveParams::default());
    }

    /// Like [`StaticDirectory::add_account`] with other password hashing costs (cheap ones
    /// for tests).
    pub fn add_account_with(
        &mut self,
        name: &str,
        password: Option<&str>,
        settings: AccountSettings,
        params: &sasl::DeriveParams,
    ) {
        let credentials =
            password.and_then(|p| sasl::StoredCredentials::derive_with(p, params).ok());
        self.accounts.insert(
            name.to_string(),
            StaticAccount {
                settings,
                credentials,
                junk_filter: None,
                automatic_junk_flags: Default::default(),
            },
        );
    }

    /// Gives an account a junk filter.
    pub fn set_junk_filter(&mut self, account: &str, filter: junk::JunkFilter) {
        if let Some(a) = self.accounts.get_mut(account) {
            a.junk_filter = Some(filter);
        }
    }

    /// Sets an account's AutomaticJunkFlags.
    pub fn set_automatic_junk_flags(&mut self, account: &str, flags: junk::AutomaticJunkFlags) {
        if let Some(a) = self.accounts.get_mut(account) {
            a.automatic_junk_flags = flags;
        }
    }

    /// Adds an address of an account (also a login name). `address` is `local@domain`, or
    /// `@domain` for a catchall.
    pub fn add_address(&mut self, account: &str, address: &str, destination: Destination) {
        let canonical = address.to_lowercase();
        if !canonical.starts_with('@') {
            self.logins.insert(canonical.clone(), account.to_string());
        }
        self.addresses.insert(
            canonical.clone(),
            LocalRecipient {
                account: account.to_string(),
                canonical,
                destination: Arc::new(destination),
            },
        );
    }

    /// Adds an alias with members (which must be addresses added before).
    pub fn add_alias(
        &mut self,
        address: &str,
        members: &[&str],
        allow_msg_from: bool,
        post_public: bool,
    ) {
        let canonical = address.to_lowercase();
        let members = members
            .iter()
            .filter_map(|m| {
                let a = Address::parse(m).ok()?;
                let r = self.addresses.get(&m.to_lowercase())?.clone();
                Some((a, r))
            })
            .collect();
        self.aliases.insert(
            canonical.clone(),
            AliasRecipient { canonical, members, allow_msg_from, post_public },
        );
    }

    fn canonical_localpart(&self, localpart: &str, d: &StaticDomain) -> String {
        let mut lp =
            if d.case_sensitive { localpart.to_string() } else { localpart.to_lowercase() };
        for sep in &d.catchall_separators {
            if let Some(i) = lp.find(sep.as_str()) {
                lp.truncate(i);
            }
        }
        lp
    }
}

impl Directory for StaticDirectory {
    fn lookup(&self, address: &Address) -> Lookup {
        let lp = address.localpart.as_str();
        let is_postmaster = lp.eq_ignore_ascii_case("postmaster");
        if is_postmaster && address.domain == self.hostname {
            return Lookup::Account(self.postmaster());
        }
        let Some(d) = self.domains.get(&address.domain) else {
            return Lookup::UnknownDomain;
        };
        if d.disabled {
            return Lookup::DomainDisabled;
        }
        let canonical = format!("{}@{}", self.canonical_localpart(lp, d), address.domain.ascii());
        if let Some(alias) = self.aliases.get(&canonical) {
            return Lookup::Alias(alias.clone());
        }
        if let Some(r) = self.addresses.get(&canonical) {
            return Lookup::Account(r.clone());
        }
        if let Some(r) = self.addresses.get(&format!("@{}", address.domain.ascii())) {
            return Lookup::Account(r.clone());
        }
        if is_postmaster {
            return Lookup::Account(self.postmaster());
        }
        Lookup::UnknownAddress
    }

    fn postmaster(&self) -> LocalRecipient {
        LocalRecipient {
            account: self.postmaster.clone(),
            canonical: "postmaster".into(),
            destination: Arc::new(Destination::default()),
        }
    }

    fn hostname(&self) -> Domain {
        self.hostname.clone()
    }

    fn account_settings(&self, account: &str) -> Option<AccountSettings> {
        self.accounts.get(account).map(|a| a.settings.clone())
    }

    fn sender_allowed(&self, account: &str, address: &Address) -> bool {
        match self.lookup(address) {
            Lookup::Account(r) => r.account == account && !r.canonical.starts_with('@'),
            Lookup::Alias(a) => {
                a.allow_msg_from && a.members.iter().any(|(_, m)| m.account == account)
            }
            _ => false,
        }
    }

    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)> {
        let account = self.logins.get(&username.to_lowercase())?;
        let creds = self.accounts.get(account)?.credentials.clone()?;
        Some((account.clone(), creds))
    }

    fn open_account(&self, account: &str) -> Result<Arc<store::Account>, store::Error> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(a) = open.get(account) {
            return Ok(a.clone());
        }
        store::check_account_name(account)?;
        let dir = self.data_dir.join("accounts").join(account);
        let acc = Arc::new(store::Account::open_or_create(&dir)?);
        open.insert(account.to_string(), acc.clone());
        Ok(acc)
    }

    fn junk_filter(&self, account: &str) -> Option<junk::JunkFilter> {
        self.accounts.get(account).and_then(|a| a.junk_filter.clone())
    }

    fn automatic_junk_flags(&self, account: &str) -> junk::AutomaticJunkFlags {
        self.accounts.get(account).map(|a| a.automatic_junk_flags.clone()).unwrap_or_default()
    }

    fn dkim_sign(&self, domain: &Domain, message: &[u8]) -> Result<Option<String>, dkim::Error> {
        match self.domains.get(domain) {
            Some(d) if !d.signers.is_empty() => {
                dkim::sign(&d.signers, message, std::time::SystemTime::now()).map(Some)
            }
            _ => Ok(None),
        }
    }
}
