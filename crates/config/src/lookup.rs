//! Looking up recipients and logins (mox's `LookupAddress`, `CanonicalLocalpart`,
//! `AllowMsgFrom`), and the DKIM signers of a domain.

use std::collections::HashMap;

use crate::{Alias, Config, Destination, Domain};

/// An address configured in an account (or a reporting address), as the lookup index holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountDestination {
    /// Whether this is the catchall destination of its domain (`@domain`).
    pub catchall: bool,
    /// The localpart as configured (in its original case); empty for a catchall.
    pub localpart: String,
    /// The account the address belongs to.
    pub account: String,
    /// How messages to the address are delivered.
    pub destination: Destination,
}

/// The lookup tables built when a configuration is checked.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// By canonical localpart (lower-cased unless case-sensitive, without catchall part) and
    /// domain.
    pub(crate) destinations: HashMap<(String, dns::Domain), AccountDestination>,
    /// The `@domain` destinations.
    pub(crate) catchalls: HashMap<dns::Domain, AccountDestination>,
    /// Aliases, by canonical localpart and domain.
    pub(crate) aliases: HashMap<(String, dns::Domain), Alias>,
    /// DKIM signers per domain, in the order of `Sign`.
    pub(crate) signers: HashMap<dns::Domain, Vec<dkim::Signer>>,
}

/// Why an address is not a local recipient, or not a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The domain is not configured, or only receives DMARC/TLS reports for another domain
    /// (it is not local for delivery).
    #[error("domain not found")]
    DomainNotFound,
    /// The domain is configured but temporarily disabled (`Disabled: true`).
    #[error("message/transaction involving temporarily disabled domain")]
    DomainDisabled,
    /// The domain is local but has no such address (and no catchall).
    #[error("address not found")]
    AddressNotFound,
    /// The text is not an email address.
    #[error("invalid email address")]
    InvalidAddress,
}

/// What an address resolves to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recipient<'a> {
    /// An address of an account.
    Account {
        /// The account's name.
        account: &'a str,
        /// The address as the configuration knows it: the canonical address
        /// (`localpart@domain`, localpart lower-cased unless case-sensitive and without a
        /// catchall part), `@domain` for a catchall, or `postmaster` for the postmaster
        /// fallback.
        canonical: &'a str,
        /// How to deliver: mailbox, rulesets, SMTP error.
        destination: &'a Destination,
    },
    /// An alias; its members are in [`Alias::parsed_addresses`].
    Alias {
        /// The alias, with its members.
        alias: &'a Alias,
        /// The canonical alias address.
        canonical: &'a str,
    },
}

/// How [`Config::lookup_address`] treats special addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LookupOptions {
    /// Whether `postmaster` (at the hostname, a listener hostname or a domain without one
    /// configured) resolves to the postmaster account.
    pub allow_postmaster: bool,
    /// Whether an alias is a result (otherwise it is [`LookupError::AddressNotFound`]).
    pub allow_alias: bool,
    /// Whether a disabled domain is [`LookupError::DomainDisabled`].
    pub check_domain_disabled: bool,
}

impl LookupOptions {
    /// For incoming delivery (SMTP RCPT TO): postmaster and aliases resolve, disabled domains
    /// refuse.
    pub const DELIVERY: LookupOptions =
        LookupOptions { allow_postmaster: true, allow_alias: true, check_domain_disabled: true };
    /// For logins by email address: no postmaster fallback, no aliases, disabled domains still
    /// log in (as mox lets them).
    pub const LOGIN: LookupOptions =
        LookupOptions { allow_postmaster: false, allow_alias: false, check_domain_disabled: false };
}

/// The canonical form of a localpart in a domain, as mox computes it: lower-cased unless the
/// domain is case-sensitive, then, unless it is the domain's DMARC or TLS reporting address
/// (which may contain a separator for historic configurations), cut at the first catchall
/// separator (`alice+tag` → `alice`).
pub fn canonical_localpart(localpart: &str, domain: &Domain) -> String {
    let mut lp = if domain.localpart_case_sensitive {
        localpart.to_string()
    } else {
        localpart.to_lowercase()
    };
    let seps = &domain.localpart_catchall_separators_effective;
    let reporting = |rlp: &str| {
        !rlp.is_empty()
            && lp.strip_prefix(rlp).is_some_and(|rest| {
                rest.is_empty() || seps.iter().any(|sep| rest.starts_with(sep.as_str()))
            })
    };
    if let Some(d) = &domain.dmarc
        && reporting(&d.parsed_localpart)
    {
        return d.parsed_localpart.clone();
    }
    if let Some(t) = &domain.tlsrpt
        && reporting(&t.parsed_localpart)
    {
        return t.parsed_localpart.clone();
    }
    for sep in seps {
        if let Some(i) = lp.find(sep.as_str()) {
            lp.truncate(i);
        }
    }
    lp
}

/// `localpart@domain` as mox writes addresses: the localpart quoted when it is not a
/// dot-string, the domain in Unicode.
pub(crate) fn format_address(localpart: &str, domain: &dns::Domain) -> String {
    match message::Localpart::new(localpart) {
        Ok(lp) => format!("{lp}@{}", domain.unicode()),
        Err(_) => format!("{localpart}@{}", domain.unicode()),
    }
}

/// Canonical addresses are stored with the index entry they belong to, so lookups can hand
/// out references.
#[derive(Debug, Default)]
pub(crate) struct Canonicals {
    pub(crate) destinations: HashMap<(String, dns::Domain), String>,
    pub(crate) catchalls: HashMap<dns::Domain, String>,
    pub(crate) aliases: HashMap<(String, dns::Domain), String>,
}

impl Canonicals {
    pub(crate) fn build(index: &Index) -> Canonicals {
        Canonicals {
            destinations: index
                .destinations
                .keys()
                .map(|k| (k.clone(), format_address(&k.0, &k.1)))
                .collect(),
            catchalls: index
                .catchalls
                .keys()
                .map(|d| (d.clone(), format!("@{}", d.unicode())))
                .collect(),
            aliases: index
                .aliases
                .keys()
                .map(|k| (k.clone(), format_address(&k.0, &k.1)))
                .collect(),
        }
    }
}

impl Config {
    /// Resolves `localpart@domain` to an account destination or an alias, as mox's
    /// `LookupAddress` does:
    ///
    /// 1. `postmaster` (any case) at the hostname, at a hostname of a listener with SMTP, or
    ///    without domain, is the postmaster destination (if `allow_postmaster`).
    /// 2. The host's TLS report address at the hostname.
    /// 3. Otherwise the domain must be configured (and not only receive reports), and not be
    ///    disabled (if `check_domain_disabled`); the localpart is made canonical
    ///    ([`canonical_localpart`]: case, catchall separators) and looked up among the
    ///    addresses of accounts, the reporting addresses and the aliases, then the domain's
    ///    catchall (`@domain`), then, for `postmaster`, the postmaster account.
    ///
    /// `domain` is `None` for a bare `postmaster` (`RCPT TO:<postmaster>`).
    ///
    /// ```
    /// # let config = config::testing::example_config();
    /// use config::{LookupOptions, Recipient};
    /// let lp = message::Localpart::parse("Mjl+news")?;
    /// let domain = dns::Domain::parse("example.com")?;
    /// match config.lookup_address(&lp, Some(&domain), LookupOptions::DELIVERY)? {
    ///     Recipient::Account { account, canonical, destination } => {
    ///         assert_eq!(account, "mjl");
    ///         assert_eq!(canonical, "mjl@example.com");
    ///         assert_eq!(destination.mailbox, None); // Inbox.
    ///     }
    ///     Recipient::Alias { .. } => unreachable!(),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lookup_address<'a>(
        &'a self,
        localpart: &message::Localpart,
        domain: Option<&dns::Domain>,
        options: LookupOptions,
    ) -> Result<Recipient<'a>, LookupError> {
        let mut lp = localpart.as_str().to_string();
        if lp.eq_ignore_ascii_case("postmaster") {
            lp = "postmaster".into();
        }
        let hostname = &self.static_.hostname_domain;
        let postmaster_domain = match domain {
            None => true,
            Some(d) => {
                d == hostname
                    || self
                        .static_
                        .listeners
                        .values()
                        .any(|l| l.smtp.enabled && l.hostname_domain.as_ref() == Some(d))
            }
        };
        if lp == "postmaster" && postmaster_domain {
            return if options.allow_postmaster {
                Ok(self.postmaster_recipient())
            } else {
                Err(LookupError::AddressNotFound)
            };
        }
        let Some(domain) = domain else { return Err(LookupError::AddressNotFound) };
        if let Some(host_lp) = &self.static_.host_tlsrpt.parsed_localpart
            && host_lp.as_str() == lp
            && domain == hostname
        {
            let key = (lp, domain.clone());
            return match (self.index.destinations.get(&key), self.canonicals.destinations.get(&key))
            {
                (Some(ad), Some(canonical)) => Ok(Recipient::Account {
                    account: &ad.account,
                    canonical,
                    destination: &ad.destination,
                }),
                _ => Err(LookupError::AddressNotFound),
            };
        }

        let dc = match self.dynamic.domains.get(domain.unicode()) {
            Some(dc) if !dc.reports_only => dc,
            _ => return Err(LookupError::DomainNotFound),
        };
        if dc.disabled && options.check_domain_disabled {
            return Err(LookupError::DomainDisabled);
        }
        let key = (canonical_localpart(&lp, dc), domain.clone());
        if let (Some(ad), Some(canonical)) =
            (self.index.destinations.get(&key), self.canonicals.destinations.get(&key))
        {
            return Ok(Recipient::Account {
                account: &ad.account,
                canonical,
                destination: &ad.destination,
            });
        }
        if let (Some(alias), Some(canonical)) =
            (self.index.aliases.get(&key), self.canonicals.aliases.get(&key))
        {
            return if options.allow_alias {
                Ok(Recipient::Alias { alias, canonical })
            } else {
                Err(LookupError::AddressNotFound)
            };
        }
        if let (Some(ad), Some(canonical)) =
            (self.index.catchalls.get(domain), self.canonicals.catchalls.get(domain))
        {
            return Ok(Recipient::Account {
                account: &ad.account,
                canonical,
                destination: &ad.destination,
            });
        }
        if key.0 == "postmaster" && options.allow_postmaster {
            return Ok(self.postmaster_recipient());
        }
        Err(LookupError::AddressNotFound)
    }

    fn postmaster_recipient(&self) -> Recipient<'_> {
        Recipient::Account {
            account: &self.static_.postmaster.account,
            canonical: "postmaster",
            destination: &self.postmaster_destination,
        }
    }

    /// Resolves a recipient address of an incoming message (SMTP `RCPT TO`), with
    /// [`LookupOptions::DELIVERY`].
    pub fn lookup_recipient(
        &self,
        address: &message::Address,
    ) -> Result<Recipient<'_>, LookupError> {
        self.lookup_address(&address.localpart, Some(&address.domain), LookupOptions::DELIVERY)
    }

    /// The account a login name (an email address, possibly with a catchall part such as
    /// `mjl+imap@example.com`) belongs to, with the destination of that address, as mox's
    /// `OpenEmail` resolves it: no postmaster fallback, no aliases; a catchall matches.
    ///
    /// Whether the account may log in (`LoginDisabled`) and whether the password is right is
    /// for the caller.
    pub fn account_for_login(&self, email: &str) -> Result<(&str, &Destination), LookupError> {
        let address =
            crate::check::parse_address(email).map_err(|_| LookupError::InvalidAddress)?;
        match self.lookup_address(
            &address.localpart,
            Some(&address.domain),
            LookupOptions::LOGIN,
        )? {
            Recipient::Account { account, destination, .. } => Ok((account, destination)),
            Recipient::Alias { .. } => Err(LookupError::AddressNotFound),
        }
    }

    /// Whether `account` may send with `from` as message From address (mox's
    /// `AllowMsgFrom`): it is one of the account's addresses, or an alias with
    /// `AllowMsgFrom` of which the account is a member. Also returns whether the domain of
    /// `from` is disabled.
    pub fn allow_msg_from(&self, account: &str, from: &message::Address) -> (bool, bool) {
        let options = LookupOptions {
            allow_postmaster: false,
            allow_alias: true,
            check_domain_disabled: true,
        };
        match self.lookup_address(&from.localpart, Some(&from.domain), options) {
            Err(e) => (false, e == LookupError::DomainDisabled),
            Ok(Recipient::Alias { alias, .. }) => (
                alias.allow_msg_from
                    && alias.parsed_addresses.iter().any(|a| a.account_name == account),
                false,
            ),
            Ok(Recipient::Account { account: name, .. }) => (name == account, false),
        }
    }

    /// The DKIM signers for a message from `domain`: those of the configured domain that
    /// is `domain` or its closest parent (as mox signs with the DKIM configuration of a parent
    /// domain too), with the domain they sign for. `Ok(None)` when no domain matches or it has
    /// nothing in `Sign`; an error when the matching domain is disabled.
    ///
    /// The signers have their keys loaded, and sign the headers, canonicalization and
    /// expiration their selector configures; pass them to [`dkim::sign`].
    pub fn dkim_signers(
        &self,
        domain: &dns::Domain,
    ) -> Result<Option<(&dns::Domain, &[dkim::Signer])>, LookupError> {
        let mut candidate = Some(domain.clone());
        while let Some(d) = candidate {
            if let Some(dc) = self.dynamic.domains.get(d.unicode()) {
                if dc.disabled {
                    return Err(LookupError::DomainDisabled);
                }
                return Ok(self.index.signers.get_key_value(&d).map(|(k, v)| (k, v.as_slice())));
            }
            candidate = d.parent();
        }
        Ok(None)
    }

    /// The configuration of a domain.
    pub fn domain(&self, domain: &dns::Domain) -> Option<&Domain> {
        self.dynamic.domains.get(domain.unicode())
    }

    /// The configuration of an account.
    pub fn account(&self, name: &str) -> Option<&crate::Account> {
        self.dynamic.accounts.get(name)
    }

    /// Every address known for delivery with its account: account destinations (by canonical
    /// address, catchalls as `@domain`) and reporting addresses.
    pub fn account_destinations(&self) -> impl Iterator<Item = (&str, &AccountDestination)> {
        let plain =
            self.index.destinations.iter().filter_map(|(k, ad)| {
                self.canonicals.destinations.get(k).map(|c| (c.as_str(), ad))
            });
        let catchalls = self
            .index
            .catchalls
            .iter()
            .filter_map(|(d, ad)| self.canonicals.catchalls.get(d).map(|c| (c.as_str(), ad)));
        plain.chain(catchalls)
    }
}
