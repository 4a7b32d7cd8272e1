//! The types of domains.conf, the dynamic configuration: one struct per sconf block, with
//! mox's keys and documentation (see [`crate::describe_domains`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::sconf::sconf_struct;
use crate::{AddressAlias, AliasAddress, Regex};

sconf_struct! {
    /// The parsed form of domains.conf: domains and accounts, reloaded while running.
    pub struct Dynamic {
        "Domains" domains: BTreeMap<String, Domain>, req,
            "NOTE: This config file is in 'sconf' format. Indent with tabs. Comments must be on their own line, they don't end a line. Do not escape or quote strings. Details: https://pkg.go.dev/github.com/mjl-/sconf.\n\n\nDomains for which email is accepted. For internationalized domains, use their IDNA names in UTF-8.";
        "Accounts" accounts: BTreeMap<String, Account>, req,
            "Accounts represent mox users, each with a password and email address(es) to which email can be delivered (possibly at different domains). Each account has its own on-disk directory holding its messages and index database. An account name is not an email address.";
        "WebDomainRedirects" web_domain_redirects: BTreeMap<String, String>, opt,
            "Redirect all requests from domain (key) to domain (value). Always redirects to HTTPS. For plain HTTP redirects, use a WebHandler with a WebRedirect.";
        "WebHandlers" web_handlers: Vec<WebHandler>, opt,
            "Handle webserver requests by serving static files, redirecting, reverse-proxying HTTP(s) or passing the request to an internal service. The first matching WebHandler will handle the request. Built-in system handlers, e.g. for ACME validation, autoconfig and mta-sts always run first. Built-in handlers for admin, account, webmail and webapi are evaluated after all handlers, including webhandlers (allowing for overrides of internal services for some domains). If no handler matches, the response status code is file not found (404). If webserver features are missing, forward the requests to an application that provides the needed functionality itself.";
        "Routes" routes: Vec<Route>, opt,
            "Routes for delivering outgoing messages through the queue. Each delivery attempt evaluates account routes, domain routes and finally these global routes. The transport of the first matching route is used in the delivery attempt. If no routes match, which is the default with no configured routes, messages are delivered directly from the queue.";
        "MonitorDNSBLs" monitor_dnsbls: Vec<String>, opt,
            "DNS blocklists to periodically check with if IPs we send from are present, without using them for checking incoming deliveries.. Also see DNSBLs in SMTP listeners in mox.conf, which specifies DNSBLs to use both for incoming deliveries and for checking our IPs against. Example DNSBLs: sbl.spamhaus.org, bl.spamcop.net.";
    }
    derived {
        /// The parsed `WebDomainRedirects`.
        web_dns_domain_redirects: BTreeMap<dns::Domain, dns::Domain> = BTreeMap::new();
        /// The parsed `MonitorDNSBLs`.
        monitor_dnsbl_zones: Vec<dns::Domain> = Vec::new();
        /// Every domain's `ClientSettingsDomain`.
        client_settings_domains: BTreeSet<dns::Domain> = BTreeSet::new();
    }
}

sconf_struct! {
    /// A domain for which email is accepted (mox's `config.Domain`; not a DNS name: that is [`dns::Domain`]).
    pub struct Domain {
        "Disabled" disabled: bool, opt,
            "Disabled domains can be useful during/before migrations. Domains that are disabled can still be configured like normal, including adding addresses using the domain to accounts. However, disabled domains: 1. Do not try to fetch ACME certificates. TLS connections to host names involving the email domain will fail. A TLS certificate for the hostname (that wil be used as MX) itself will be requested. 2. Incoming deliveries over SMTP are rejected with a temporary error '450 4.2.1 recipient domain temporarily disabled'. 3. Submissions over SMTP using an (envelope) SMTP MAIL FROM address or message 'From' address of a disabled domain will be rejected with a temporary error '451 4.3.0 sender domain temporarily disabled'. Note that accounts with addresses at disabled domains can still log in and read email (unless the account itself is disabled).";
        "Description" description: Option<String>, opt,
            "Free-form description of domain.";
        "ClientSettingsDomain" client_settings_domain: Option<String>, opt,
            "Hostname for client settings instead of the mail server hostname. E.g. mail.<domain>. For future migration to another mail operator without requiring all clients to update their settings, it is convenient to have client settings that reference a subdomain of the hosted domain instead of the hostname of the server where the mail is currently hosted. If empty, the hostname of the mail server is used for client configurations. Unicode name.";
        "LocalpartCatchallSeparator" localpart_catchall_separator: Option<String>, opt,
            "If not empty, only the string before the separator is used to for email delivery decisions. For example, if set to \"+\", you+anything@example.com will be delivered to you@example.com.";
        "LocalpartCatchallSeparators" localpart_catchall_separators: Vec<String>, opt,
            "Similar to LocalpartCatchallSeparator, but in case multiple are needed. For example both \"+\" and \"-\". Only of one LocalpartCatchallSeparator or LocalpartCatchallSeparators can be set. If set, the first separator is used to make unique addresses for outgoing SMTP connections with FromIDLoginAddresses.";
        "LocalpartCaseSensitive" localpart_case_sensitive: bool, opt,
            "If set, upper/lower case is relevant for email delivery.";
        "DKIM" dkim: Dkim, opt,
            "With DKIM signing, a domain is taking responsibility for (content of) emails it sends, letting receiving mail servers build up a (hopefully positive) reputation of the domain, which can help with mail delivery.";
        "DMARC" dmarc: Option<Dmarc>, ptr,
            "With DMARC, a domain publishes, in DNS, a policy on how other mail servers should handle incoming messages with the From-header matching this domain and/or subdomain (depending on the configured alignment). Receiving mail servers use this to build up a reputation of this domain, which can help with mail delivery. A domain can also publish an email address to which reports about DMARC verification results can be sent by verifying mail servers, useful for monitoring. Incoming DMARC reports are automatically parsed, validated, added to metrics and stored in the reporting database for later display in the admin web pages.";
        "MTASTS" mtasts: Option<Mtasts>, ptr,
            "MTA-STS is a mechanism that allows publishing a policy with requirements for WebPKI-verified SMTP STARTTLS connections for email delivered to a domain. Existence of a policy is announced in a DNS TXT record (often unprotected/unverified, MTA-STS's weak spot). If a policy exists, it is fetched with a WebPKI-verified HTTPS request. The policy can indicate that WebPKI-verified SMTP STARTTLS is required, and which MX hosts (optionally with a wildcard pattern) are allowd. MX hosts to deliver to are still taken from DNS (again, not necessarily protected/verified), but messages will only be delivered to domains matching the MX hosts from the published policy. Mail servers look up the MTA-STS policy when first delivering to a domain, then keep a cached copy, periodically checking the DNS record if a new policy is available, and fetching and caching it if so. To update a policy, first serve a new policy with an updated policy ID, then update the DNS record (not the other way around). To remove an enforced policy, publish an updated policy with mode \"none\" for a long enough period so all cached policies have been refreshed (taking DNS TTL and policy max age into account), then remove the policy from DNS, wait for TTL to expire, and stop serving the policy.";
        "TLSRPT" tlsrpt: Option<Tlsrpt>, ptr,
            "With TLSRPT a domain specifies in DNS where reports about encountered SMTP TLS behaviour should be sent. Useful for monitoring. Incoming TLS reports are automatically parsed, validated, added to metrics and stored in the reporting database for later display in the admin web pages.";
        "Routes" routes: Vec<Route>, opt,
            "Routes for delivering outgoing messages through the queue. Each delivery attempt evaluates account routes, these domain routes and finally global routes. The transport of the first matching route is used in the delivery attempt. If no routes match, which is the default with no configured routes, messages are delivered directly from the queue.";
        "Aliases" aliases: BTreeMap<String, Alias>, opt,
            "Aliases that cause messages to be delivered to one or more locally configured addresses. Keys are localparts (encoded, as they appear in email addresses).";
    }
    derived {
        /// The parsed name of the domain: its key in `Domains` (`invalid` until validated).
        domain: dns::Domain = crate::unset_domain();
        /// The parsed `ClientSettingsDomain`.
        client_settings_dns_domain: Option<dns::Domain> = None;
        /// Whether only DMARC and TLS reports are received for this domain (it has no
        /// addresses of its own); such a domain is not local for delivery.
        reports_only: bool = false;
        /// `LocalpartCatchallSeparators`, or `LocalpartCatchallSeparator`, or none.
        localpart_catchall_separators_effective: Vec<String> = Vec::new();
    }
}

sconf_struct! {
    /// An address that delivers to several local addresses (a simple mailing list).
    pub struct Alias {
        "Addresses" addresses: Vec<String>, req,
            "Expanded addresses to deliver to. These must currently be of addresses of local accounts. To prevent duplicate messages, a member address that is also an explicit recipient in the SMTP transaction will only have the message delivered once. If the address in the message From header is a member, that member also won't receive the message.";
        "PostPublic" post_public: bool, opt,
            "If true, anyone can send messages to the list. Otherwise only members, based on message From address, which is assumed to be DMARC-like-verified.";
        "ListMembers" list_members: bool, opt,
            "If true, members can see addresses of members.";
        "AllowMsgFrom" allow_msg_from: bool, opt,
            "If true, members are allowed to send messages with this alias address in the message From header.";
    }
    derived {
        /// The alias' localpart, as its key in `Aliases`.
        localpart_str: String = String::new();
        /// The alias' domain (`invalid` until validated).
        domain: dns::Domain = crate::unset_domain();
        /// The members: parsed `Addresses` with their accounts. Empty in the copies held by
        /// [`Account::aliases`].
        parsed_addresses: Vec<AliasAddress> = Vec::new();
    }
}

sconf_struct! {
    /// Where DMARC aggregate reports for a domain are delivered.
    pub struct Dmarc {
        "Localpart" localpart: String, req,
            "Address-part before the @ that accepts DMARC reports. Must be non-internationalized. Recommended value: dmarcreports.";
        "Domain" domain: Option<String>, opt,
            "Alternative domain for reporting address, for incoming reports. Typically empty, causing the domain wherein this config exists to be used. Can be used to receive reports for domains that aren't fully hosted on this server. Configure such a domain as a hosted domain without making all the DNS changes, and configure this field with a domain that is fully hosted on this server, so the localpart and the domain of this field form a reporting address. Then only update the DMARC DNS record for the not fully hosted domain, ensuring the reporting address is specified in its \"rua\" field as shown in the suggested DNS settings. Unicode name.";
        "Account" account: String, req,
            "Account to deliver to.";
        "Mailbox" mailbox: String, req,
            "Mailbox to deliver to, e.g. DMARC.";
    }
    derived {
        /// The localpart, lower-cased unless the domain is case-sensitive.
        parsed_localpart: String = String::new();
        /// The domain of the reporting address: `Domain`, or the configured domain.
        dns_domain: dns::Domain = crate::unset_domain();
    }
}

sconf_struct! {
    /// The MTA-STS policy served for a domain.
    pub struct Mtasts {
        "PolicyID" policy_id: String, req,
            "Policies are versioned. The version must be specified in the DNS record. If you change a policy, first change it here to update the served policy, then update the DNS record with the updated policy ID.";
        "Mode" mode: String, req,
            "If set to \"enforce\", a remote SMTP server will not deliver email to us if it cannot make a WebPKI-verified SMTP STARTTLS connection. In mode \"testing\", deliveries can be done without verified TLS, but errors will be reported through TLS reporting. In mode \"none\", verified TLS is not required, used for phasing out an MTA-STS policy.";
        "MaxAge" max_age: Duration, req,
            "How long a remote mail server is allowed to cache a policy. Typically 1 or several weeks.";
        "MX" mx: Vec<String>, opt,
            "List of server names allowed for SMTP. If empty, the configured hostname is set. Host names can contain a wildcard (*) as a leading label (matching a single label, e.g. *.example matches host.example, not sub.host.example).";
    }
}

sconf_struct! {
    /// Where TLS reports for a domain are delivered.
    pub struct Tlsrpt {
        "Localpart" localpart: String, req,
            "Address-part before the @ that accepts TLSRPT reports. Recommended value: tlsreports.";
        "Domain" domain: Option<String>, opt,
            "Alternative domain for reporting address, for incoming reports. Typically empty, causing the domain wherein this config exists to be used. Can be used to receive reports for domains that aren't fully hosted on this server. Configure such a domain as a hosted domain without making all the DNS changes, and configure this field with a domain that is fully hosted on this server, so the localpart and the domain of this field form a reporting address. Then only update the TLSRPT DNS record for the not fully hosted domain, ensuring the reporting address is specified in its \"rua\" field as shown in the suggested DNS settings. Unicode name.";
        "Account" account: String, req,
            "Account to deliver to.";
        "Mailbox" mailbox: String, req,
            "Mailbox to deliver to, e.g. TLSRPT.";
    }
    derived {
        /// The localpart, lower-cased unless the domain is case-sensitive.
        parsed_localpart: String = String::new();
        /// The domain of the reporting address: `Domain`, or the configured domain.
        dns_domain: dns::Domain = crate::unset_domain();
    }
}

sconf_struct! {
    /// DKIM canonicalization (RFC 6376 §3.4).
    pub struct Canonicalization {
        "HeaderRelaxed" header_relaxed: bool, req,
            "If set, some modifications to the headers (mostly whitespace) are allowed.";
        "BodyRelaxed" body_relaxed: bool, req,
            "If set, some whitespace modifications to the message body are allowed.";
    }
}

sconf_struct! {
    /// A DKIM selector with its private key file.
    pub struct Selector {
        "Hash" hash: Option<String>, opt,
            "sha256 (default) or (older, not recommended) sha1.";
        "Canonicalization" canonicalization: Canonicalization, opt,
            "";
        "Headers" headers: Vec<String>, opt,
            "Headers to sign with DKIM. If empty, a reasonable default set of headers is selected.";
        "DontSealHeaders" dont_seal_headers: bool, opt,
            "If set, don't prevent duplicate headers from being added. Not recommended.";
        "Expiration" expiration: Option<String>, opt,
            "Period a signature is valid after signing, as duration, e.g. 72h. The period should be enough for delivery at the final destination, potentially with several hops/relays. In the order of days at least.";
        "PrivateKeyFile" private_key_file: String, req,
            "Either an RSA or ed25519 private key file in PKCS8 PEM form.";
    }
    derived {
        /// `Hash`, or `sha256`.
        hash_effective: String = String::new();
        /// `Headers`, or mox's default list.
        headers_effective: Vec<String> = Vec::new();
        /// `ed25519` or `rsa-<bits>`, from the key.
        algorithm: String = String::new();
        /// The parsed `Expiration`.
        expiration_duration: Option<Duration> = None;
    }
}

sconf_struct! {
    /// DKIM signing for a domain.
    pub struct Dkim {
        "Selectors" selectors: BTreeMap<String, Selector>, req,
            "Emails can be DKIM signed. Config parameters are per selector. A DNS record must be created for each selector. Add the name to Sign to use the selector for signing messages.";
        "Sign" sign: Vec<String>, opt,
            "List of selectors that emails will be signed with.";
    }
}

sconf_struct! {
    /// A rule choosing a transport for outgoing messages.
    pub struct Route {
        "FromDomain" from_domain: Vec<String>, opt,
            "Matches if the envelope from domain matches one of the configured domains, or if the list is empty. If a domain starts with a dot, prefixes of the domain also match.";
        "ToDomain" to_domain: Vec<String>, opt,
            "Like FromDomain, but matching against the envelope to domain.";
        "MinimumAttempts" minimum_attempts: Option<i64>, opt,
            "Matches if at least this many deliveries have already been attempted. This can be used to attempt sending through a smarthost when direct delivery has failed for several times.";
        "Transport" transport: String, req,
            "";
    }
    derived {
        /// `FromDomain` in ASCII, a leading `.` kept.
        from_domain_ascii: Vec<String> = Vec::new();
        /// `ToDomain` in ASCII, a leading `.` kept.
        to_domain_ascii: Vec<String> = Vec::new();
    }
}

sconf_struct! {
    /// Webhook for events about outgoing deliveries.
    pub struct OutgoingWebhook {
        "URL" url: String, req,
            "URL to POST webhooks.";
        "Authorization" authorization: Option<String>, opt,
            "If not empty, value of Authorization header to add to HTTP requests.";
        "Events" events: Vec<String>, opt,
            "Events to send outgoing delivery notifications for. If absent, all events are sent. Valid values: delivered, suppressed, delayed, failed, relayed, expanded, canceled, unrecognized.";
    }
}

sconf_struct! {
    /// Webhook for incoming deliveries.
    pub struct IncomingWebhook {
        "URL" url: String, req,
            "URL to POST webhooks to for incoming deliveries over SMTP.";
        "Authorization" authorization: Option<String>, opt,
            "If not empty, value of Authorization header to add to HTTP requests.";
    }
}

sconf_struct! {
    /// Subject pass: weak spam is rejected with a token to retry with.
    pub struct SubjectPass {
        "Period" period: Duration, req,
            "How long unique values are accepted after generating, e.g. 12h.";
    }
}

sconf_struct! {
    /// Setting $Junk/$NotJunk by the mailbox a message is in.
    pub struct AutomaticJunkFlags {
        "Enabled" enabled: bool, req,
            "If enabled, junk/nonjunk flags will be set automatically if they match some of the regular expressions. When two of the three mailbox regular expressions are set, the remaining one will match all unmatched messages. Messages are matched in the order 'junk', 'neutral', 'not junk', and the search stops on the first match. Mailboxes are lowercased before matching.";
        "JunkMailboxRegexp" junk_mailbox_regexp: Option<String>, opt,
            "Example: ^(junk|spam).";
        "NeutralMailboxRegexp" neutral_mailbox_regexp: Option<String>, opt,
            "Example: ^(inbox|introbox|neutral|postmaster|dmarc|tlsrpt|rejects), and you may wish to add trash depending on how you use it, or leave this empty.";
        "NotJunkMailboxRegexp" not_junk_mailbox_regexp: Option<String>, opt,
            "Example: .* or an empty string.";
    }
}

sconf_struct! {
    /// An account: a user with a password, messages and addresses.
    pub struct Account {
        "OutgoingWebhook" outgoing_webhook: Option<OutgoingWebhook>, ptr,
            "Webhooks for events about outgoing deliveries.";
        "IncomingWebhook" incoming_webhook: Option<IncomingWebhook>, ptr,
            "Webhooks for events about incoming deliveries over SMTP.";
        "FromIDLoginAddresses" from_id_login_addresses: Vec<String>, opt,
            "Login addresses that cause outgoing email to be sent with SMTP MAIL FROM addresses with a unique id after the localpart catchall separator (which must be enabled when addresses are specified here). Any delivery status notifications (DSN, e.g. for bounces), can be related to the original message and recipient with unique id's. You can login to an account with any valid email address, including variants with the localpart catchall separator. You can use this mechanism to both send outgoing messages with and without unique fromid for a given email address. With the webapi and webmail, a unique id will be generated. For submission, the id from the SMTP MAIL FROM command is used if present, and a unique id is generated otherwise.";
        "KeepRetiredMessagePeriod" keep_retired_message_period: Option<Duration>, opt,
            "Period to keep messages retired from the queue (delivered or failed) around. Keeping retired messages is useful for maintaining the suppression list for transactional email, for matching incoming DSNs to sent messages, and for debugging. The time at which to clean up (remove) is calculated at retire time. E.g. 168h (1 week).";
        "KeepRetiredWebhookPeriod" keep_retired_webhook_period: Option<Duration>, opt,
            "Period to keep webhooks retired from the queue (delivered or failed) around. Useful for debugging. The time at which to clean up (remove) is calculated at retire time. E.g. 168h (1 week).";
        "LoginDisabled" login_disabled: Option<String>, opt,
            "If non-empty, login attempts on all protocols (e.g. SMTP/IMAP, web interfaces) is rejected with this error message. Useful during migrations. Incoming deliveries for addresses of this account are still accepted as normal.";
        "Domain" domain: String, req,
            "Default domain for account. Deprecated behaviour: If a destination is not a full address but only a localpart, this domain is added to form a full address.";
        "Description" description: Option<String>, opt,
            "Free form description, e.g. full name or alternative contact info.";
        "FullName" full_name: Option<String>, opt,
            "Full name, to use in message From header when composing messages in webmail. Can be overridden per destination.";
        "Destinations" destinations: BTreeMap<String, Destination>, opt,
            "Destinations, keys are email addresses (with IDNA domains). All destinations are allowed for logging in with IMAP/SMTP/webmail. If no destinations are configured, the account can not login. If the address is of the form '@domain', i.e. with localpart missing, it serves as a catchall for the domain, matching all messages that are not explicitly configured. Deprecated behaviour: If the address is not a full address but a localpart, it is combined with Domain to form a full address.";
        "SubjectPass" subject_pass: SubjectPass, opt,
            "If configured, messages classified as weakly spam are rejected with instructions to retry delivery, but this time with a signed token added to the subject. During the next delivery attempt, the signed token will bypass the spam filter. Messages with a clear spam signal, such as a known bad reputation, are rejected/delayed without a signed token.";
        "QuotaMessageSize" quota_message_size: Option<i64>, opt,
            "Default maximum total message size in bytes for the account, overriding any globally configured default maximum size if non-zero. A negative value can be used to have no limit in case there is a limit by default. Attempting to add new messages to an account beyond its maximum total size will result in an error. Useful to prevent a single account from filling storage.";
        "RejectsMailbox" rejects_mailbox: Option<String>, opt,
            "Mail that looks like spam will be rejected, but a copy can be stored temporarily in a mailbox, e.g. Rejects. If mail isn't coming in when you expect, you can look there. The mail still isn't accepted, so the remote mail server may retry (hopefully, if legitimate), or give up (hopefully, if indeed a spammer). Messages are automatically removed from this mailbox, so do not set it to a mailbox that has messages you want to keep.";
        "KeepRejects" keep_rejects: bool, opt,
            "Don't automatically delete mail in the RejectsMailbox listed above. This can be useful, e.g. for future spam training. It can also cause storage to fill up.";
        "Introbox" introbox: Option<String>, opt,
            "Mailbox for delivering messages to Inbox from new first-time message-from addresses (without established reputation). Useful for deprioritizing mail from unknown correspondents while keeping mail from known correspondents in Inbox. Must be different from Inbox and the RejectsMailbox. Moving a message from Introbox to its originally intended mailbox marks it as nonjunk, so future messages from the sender are delivered to their regular destination. Ensure this mailbox is matched by NeutralMailboxRegexp for proper automatic junk flags handling.";
        "AutomaticJunkFlags" automatic_junk_flags: AutomaticJunkFlags, opt,
            "Automatically set $Junk and $NotJunk flags based on mailbox messages are delivered/moved/copied to. Email clients typically have too limited functionality to conveniently set these flags, especially $NonJunk, but they can all move messages to a different mailbox, so this helps them.";
        "JunkFilter" junk_filter: Option<JunkFilter>, ptr,
            "Content-based filtering, using the junk-status of individual messages to rank words in such messages as spam or ham. It is recommended you always set the applicable (non)-junk status on messages, and that you do not empty your Trash because those messages contain valuable ham/spam training information.";
        "MaxOutgoingMessagesPerDay" max_outgoing_messages_per_day: Option<i64>, opt,
            "Maximum number of outgoing messages for this account in a 24 hour window. This limits the damage to recipients and the reputation of this mail server in case of account compromise. Default 1000.";
        "MaxFirstTimeRecipientsPerDay" max_first_time_recipients_per_day: Option<i64>, opt,
            "Maximum number of first-time recipients in outgoing messages for this account in a 24 hour window. This limits the damage to recipients and the reputation of this mail server in case of account compromise. Default 200.";
        "NoFirstTimeSenderDelay" no_first_time_sender_delay: bool, opt,
            "Do not apply a delay to SMTP connections before accepting an incoming message from a first-time sender. Can be useful for accounts that sends automated responses and want instant replies.";
        "NoCustomPassword" no_custom_password: bool, opt,
            "If set, this account cannot set a password of their own choice, but can only set a new randomly generated password, preventing password reuse across services and use of weak passwords. Custom account passwords can be set by the admin.";
        "IMAPCapabilitiesDisabled" imap_capabilities_disabled: Vec<String>, opt,
            "IMAP capabilities (upper-case) to disable on the connection after authentication. Useful if the account uses an email client with an incompatible implementation for a capability/extension.";
        "Routes" routes: Vec<Route>, opt,
            "Routes for delivering outgoing messages through the queue. Each delivery attempt evaluates these account routes, domain routes and finally global routes. The transport of the first matching route is used in the delivery attempt. If no routes match, which is the default with no configured routes, messages are delivered directly from the queue.";
    }
    derived {
        /// The parsed `Domain`; `None` when it is empty (as mox allows, and localserve
        /// writes).
        dns_domain: Option<dns::Domain> = None;
        /// The compiled `AutomaticJunkFlags.JunkMailboxRegexp`.
        junk_mailbox: Option<Regex> = None;
        /// The compiled `AutomaticJunkFlags.NeutralMailboxRegexp`.
        neutral_mailbox: Option<Regex> = None;
        /// The compiled `AutomaticJunkFlags.NotJunkMailboxRegexp`.
        not_junk_mailbox: Option<Regex> = None;
        /// The parsed `FromIDLoginAddresses`.
        parsed_from_id_login_addresses: Vec<message::Address> = Vec::new();
        /// The aliases this account's addresses are members of.
        aliases: Vec<AddressAlias> = Vec::new();
    }
}

sconf_struct! {
    /// The content-based (Bayesian) junk filter of an account.
    pub struct JunkFilter {
        "Threshold" threshold: f64, req,
            "Approximate spaminess score between 0 and 1 above which emails are rejected as spam. Each delivery attempt adds a little noise to make it slightly harder for spammers to identify words that strongly indicate non-spaminess and use it to bypass the filter. E.g. 0.95.";
        "Params" params: JunkParams, req,
            "";
    }
}

sconf_struct! {
    /// An address of an account and how its messages are delivered.
    pub struct Destination {
        "Mailbox" mailbox: Option<String>, opt,
            "Mailbox to deliver to if none of Rulesets match. Default: Inbox.";
        "Rulesets" rulesets: Vec<Ruleset>, opt,
            "Delivery rules based on message and SMTP transaction. You may want to match each mailing list by SMTP MailFrom address, VerifiedDomain and/or List-ID header (typically <listname.example.org> if the list address is listname@example.org), delivering them to their own mailbox.";
        "SMTPError" smtp_error: Option<String>, opt,
            "If non-empty, incoming delivery attempts to this destination will be rejected during SMTP RCPT TO with this error response line. Useful when a catchall address is configured for the domain and messages to some addresses should be rejected. The response line must start with an error code. Currently the following error response codes are allowed: 421 (temporary local error), 550 (user not found). If the line consists of only an error code, an appropriate error message is added. Rejecting messages with a 4xx code invites later retries by the remote, while 5xx codes should prevent further delivery attempts.";
        "MessageAuthRequiredSMTPError" message_auth_required_smtp_error: Option<String>, opt,
            "If non-empty, an additional DMARC-like message authentication check is done for incoming messages, validating the domain in the From-header of the message. Messages without either an aligned SPF or aligned DKIM pass are rejected during the SMTP DATA command with a permanent error code followed by the message in this field. The domain in the message 'From' header is matched in relaxed or strict mode according to the domain's DMARC policy if present, or relaxed mode (organizational instead of exact domain match) otherwise. Useful for autoresponders that don't want to accept messages they don't want to send an automated reply to.";
        "FullName" full_name: Option<String>, opt,
            "Full name to use in message From header when composing messages coming from this address with webmail.";
    }
    derived {
        /// Set for the internal destination of DMARC report addresses.
        dmarc_reports: bool = false;
        /// Set for the internal destination of the host's TLS report address.
        host_tls_reports: bool = false;
        /// Set for the internal destination of a domain's TLS report address.
        domain_tls_reports: bool = false;
        /// From `SMTPError`: the SMTP code to reject with (451 or 550), 0 if none.
        smtp_error_code: u16 = 0;
        /// From `SMTPError`: the enhanced status code (`3.0` or `1.1`).
        smtp_error_secode: String = String::new();
        /// From `SMTPError`: the message to reject with.
        smtp_error_msg: String = String::new();
    }
}

sconf_struct! {
    /// A delivery rule: messages that match go to its mailbox.
    pub struct Ruleset {
        "SMTPMailFromRegexp" smtp_mail_from_regexp: Option<String>, opt,
            "Matches if this regular expression matches (a substring of) the SMTP MAIL FROM address (not the message From-header). E.g. '^user@example\\.org$'.";
        "MsgFromRegexp" msg_from_regexp: Option<String>, opt,
            "Matches if this regular expression matches (a substring of) the single address in the message From header.";
        "VerifiedDomain" verified_domain: Option<String>, opt,
            "Matches if this domain matches an SPF- and/or DKIM-verified (sub)domain.";
        "HeadersRegexp" headers_regexp: BTreeMap<String, String>, opt,
            "Matches if these header field/value regular expressions all match (substrings of) the message headers. Header fields and valuees are converted to lower case before matching. Whitespace is trimmed from the value before matching. A header field can occur multiple times in a message, only one instance has to match. For mailing lists, you could match on ^list-id$ with the value typically the mailing list address in angled brackets with @ replaced with a dot, e.g. <name\\.lists\\.example\\.org>.";
        "IsForward" is_forward: bool, opt,
            "Influences spam filtering only, this option does not change whether a message matches this ruleset. Can only be used together with SMTPMailFromRegexp and VerifiedDomain. SMTPMailFromRegexp must be set to the address used to deliver the forwarded message, e.g. '^user(|\\+.*)@forward\\.example$'. Changes to junk analysis: 1. Messages are not rejected for failing a DMARC policy, because a legitimate forwarded message without valid/intact/aligned DKIM signature would be rejected because any verified SPF domain will be 'unaligned', of the forwarding mail server. 2. The sending mail server IP address, and sending EHLO and MAIL FROM domains and matching DKIM domain aren't used in future reputation-based spam classifications (but other verified DKIM domains are) because the forwarding server is not a useful spam signal for future messages.";
        "ListAllowDomain" list_allow_domain: Option<String>, opt,
            "Influences spam filtering only, this option does not change whether a message matches this ruleset. If this domain matches an SPF- and/or DKIM-verified (sub)domain, the message is accepted without further spam checks, such as a junk filter or DMARC reject evaluation. DMARC rejects should not apply for mailing lists that are not configured to rewrite the From-header of messages that don't have a passing DKIM signature of the From-domain. Otherwise, by rejecting messages, you may be automatically unsubscribed from the mailing list. The assumption is that mailing lists do their own spam filtering/moderation.";
        "AcceptRejectsToMailbox" accept_rejects_to_mailbox: Option<String>, opt,
            "Influences spam filtering only, this option does not change whether a message matches this ruleset. If a message is classified as spam, it isn't rejected during the SMTP transaction (the normal behaviour), but accepted during the SMTP transaction and delivered to the specified mailbox. The specified mailbox is not automatically cleaned up like the account global Rejects mailbox, unless set to that Rejects mailbox.";
        "Mailbox" mailbox: String, req,
            "Mailbox to deliver to if this ruleset matches.";
        "Comment" comment: Option<String>, opt,
            "Free-form comments.";
    }
    derived {
        /// The compiled `SMTPMailFromRegexp`.
        smtp_mail_from_regexp_compiled: Option<Regex> = None;
        /// The compiled `MsgFromRegexp`.
        msg_from_regexp_compiled: Option<Regex> = None;
        /// The parsed `VerifiedDomain`.
        verified_dns_domain: Option<dns::Domain> = None;
        /// The compiled `HeadersRegexp`: header field and value patterns.
        headers_regexp_compiled: Vec<(Regex, Regex)> = Vec::new();
        /// The parsed `ListAllowDomain`.
        list_allow_dns_domain: Option<dns::Domain> = None;
    }
}

sconf_struct! {
    /// A webserver request handler.
    pub struct WebHandler {
        "LogName" log_name: Option<String>, opt,
            "Name to use in logging and metrics.";
        "Domain" domain: String, req,
            "Both Domain and PathRegexp must match for this WebHandler to match a request. Exactly one of WebStatic, WebRedirect, WebForward, WebInternal must be set.";
        "PathRegexp" path_regexp: String, req,
            "Regular expression matched against request path, must always start with ^ to ensure matching from the start of the path. The matching prefix can optionally be stripped by WebForward. The regular expression does not have to end with $.";
        "DontRedirectPlainHTTP" dont_redirect_plain_http: bool, opt,
            "If set, plain HTTP requests are not automatically permanently redirected (308) to HTTPS. If you don't have a HTTPS webserver configured, set this to true.";
        "Compress" compress: bool, opt,
            "Transparently compress responses (currently with gzip) if the client supports it, the status is 200 OK, no Content-Encoding is set on the response yet and the Content-Type of the response hints that the data is compressible (text/..., specific application/... and .../...+json and .../...+xml). For static files only, a cache with compressed files is kept.";
        "WebStatic" web_static: Option<WebStatic>, ptr,
            "Serve static files.";
        "WebRedirect" web_redirect: Option<WebRedirect>, ptr,
            "Redirect requests to configured URL.";
        "WebForward" web_forward: Option<WebForward>, ptr,
            "Forward requests to another webserver, i.e. reverse proxy.";
        "WebInternal" web_internal: Option<WebInternal>, ptr,
            "Pass request to internal service, like webmail, webapi, etc.";
    }
    derived {
        /// `LogName`, or the handler's position (from 0) when that is unset.
        name: String = String::new();
        /// The parsed `Domain` (`invalid` until validated).
        dns_domain: dns::Domain = crate::unset_domain();
        /// The compiled `PathRegexp`.
        path: Option<Regex> = None;
    }
}

sconf_struct! {
    /// Serving static files.
    pub struct WebStatic {
        "StripPrefix" strip_prefix: Option<String>, opt,
            "Path to strip from the request URL before evaluating to a local path. If the requested URL path does not start with this prefix and ContinueNotFound it is considered non-matching and next WebHandlers are tried. If ContinueNotFound is not set, a file not found (404) is returned in that case.";
        "Root" root: String, req,
            "Directory to serve files from for this handler. Keep in mind that relative paths are relative to the working directory of mox.";
        "ListFiles" list_files: bool, opt,
            "If set, and a directory is requested, and no index.html is present that can be served, a file listing is returned. Results in 403 if ListFiles is not set. If a directory is requested and the URL does not end with a slash, the response is a redirect to the path with trailing slash.";
        "ContinueNotFound" continue_not_found: bool, opt,
            "If a requested URL does not exist, don't return a file not found (404) response, but consider this handler non-matching and continue attempts to serve with later WebHandlers, which may be a reverse proxy generating dynamic content, possibly even writing a static file for a next request to serve statically. If ContinueNotFound is set, HTTP requests other than GET and HEAD do not match. This mechanism can be used to implement the equivalent of 'try_files' in other webservers.";
        "ResponseHeaders" response_headers: BTreeMap<String, String>, opt,
            "Headers to add to the response. Useful for cache-control, content-type, etc. By default, Content-Type headers are automatically added for recognized file types, unless added explicitly through this setting. For directory listings, a content-type header is skipped.";
    }
}

sconf_struct! {
    /// Redirecting requests.
    pub struct WebRedirect {
        "BaseURL" base_url: Option<String>, opt,
            "Base URL to redirect to. The path must be empty and will be replaced, either by the request URL path, or by OrigPathRegexp/ReplacePath. Scheme, host, port and fragment stay intact, and query strings are combined. If empty, the response redirects to a different path through OrigPathRegexp and ReplacePath, which must then be set. Use a URL without scheme to redirect without changing the protocol, e.g. //newdomain/. If a redirect would send a request to a URL with the same scheme, host and path, the WebRedirect does not match so a next WebHandler can be tried. This can be used to redirect all plain http traffic to https.";
        "OrigPathRegexp" orig_path_regexp: Option<String>, opt,
            "Regular expression for matching path. If set and path does not match, a 404 is returned. The HTTP path used for matching always starts with a slash.";
        "ReplacePath" replace_path: Option<String>, opt,
            "Replacement path for destination URL based on OrigPathRegexp. Implemented with Go's Regexp.ReplaceAllString: $1 is replaced with the text of the first submatch, etc. If both OrigPathRegexp and ReplacePath are empty, BaseURL must be set and all paths are redirected unaltered.";
        "StatusCode" status_code: Option<i64>, opt,
            "Status code to use in redirect, e.g. 307. By default, a permanent redirect (308) is returned.";
    }
    derived {
        /// The compiled `OrigPathRegexp`.
        orig_path: Option<Regex> = None;
    }
}

sconf_struct! {
    /// Forwarding requests to another webserver (reverse proxy).
    pub struct WebForward {
        "StripPath" strip_path: bool, opt,
            "Strip the matching WebHandler path from the WebHandler before forwarding the request.";
        "URL" url: String, req,
            "URL to forward HTTP requests to, e.g. http://127.0.0.1:8123/base. If StripPath is false the full request path is added to the URL. Host headers are sent unmodified. New X-Forwarded-{For,Host,Proto} headers are set. Any query string in the URL is ignored. Requests are made using Go's net/http.DefaultTransport that takes environment variables HTTP_PROXY and HTTPS_PROXY into account. Websocket connections are forwarded and data is copied between client and backend without looking at the framing. The websocket 'version' and 'key'/'accept' headers are verified during the handshake, but other websocket headers, including 'origin', 'protocol' and 'extensions' headers, are not inspected and the backend is responsible for verifying/interpreting them.";
        "ResponseHeaders" response_headers: BTreeMap<String, String>, opt,
            "Headers to add to the response. Useful for adding security- and cache-related headers.";
    }
}

sconf_struct! {
    /// Passing requests to an internal service.
    pub struct WebInternal {
        "BasePath" base_path: String, req,
            "Path to use as root of internal service, e.g. /webmail/.";
        "Service" service: String, req,
            "Name of the service, values: admin, account, webmail, webapi.";
    }
}

sconf_struct! {
    /// Parameters of the junk filter (`JunkFilter.Params`).
    pub struct JunkParams {
        "Onegrams" onegrams: bool, opt,
            "Track ham/spam ranking for single words.";
        "Twograms" twograms: bool, opt,
            "Track ham/spam ranking for each two consecutive words.";
        "Threegrams" threegrams: bool, opt,
            "Track ham/spam ranking for each three consecutive words.";
        "MaxPower" max_power: f64, req,
            "Maximum power a word (combination) can have. If spaminess is 0.99, and max power is 0.1, spaminess of the word will be set to 0.9. Similar for ham words.";
        "TopWords" top_words: i64, req,
            "Number of most spammy/hammy words to use for calculating probability. E.g. 10.";
        "IgnoreWords" ignore_words: Option<f64>, opt,
            "Ignore words that are this much away from 0.5 haminess/spaminess. E.g. 0.1, causing word (combinations) of 0.4 to 0.6 to be ignored.";
        "RareWords" rare_words: Option<i64>, opt,
            "Occurrences in word database until a word is considered rare and its influence in calculating probability reduced. E.g. 1 or 2.";
    }
}
