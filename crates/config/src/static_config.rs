//! The types of mox.conf, the static configuration: one struct per sconf block, with mox's
//! keys and documentation (see [`crate::describe_static`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::TlsVersion;
use crate::sconf::sconf_struct;

sconf_struct! {
    /// The parsed form of mox.conf: the static configuration, read once at startup.
    pub struct Static {
        "DataDir" data_dir: String, req,
            "NOTE: This config file is in 'sconf' format. Indent with tabs. Comments must be on their own line, they don't end a line. Do not escape or quote strings. Details: https://pkg.go.dev/github.com/mjl-/sconf.\n\n\nDirectory where all data is stored, e.g. queue, accounts and messages, ACME TLS certs/keys. If this is a relative path, it is relative to the directory of mox.conf.";
        "LogLevel" log_level: String, req,
            "Default log level, one of: error, info, debug, trace, traceauth, tracedata. Trace logs SMTP and IMAP protocol transcripts, with traceauth also messages with passwords, and tracedata on top of that also the full data exchanges (full messages), which can be a large amount of data.";
        "PackageLogLevels" package_log_levels: BTreeMap<String, String>, opt,
            "Overrides of log level per package (e.g. queue, smtpclient, smtpserver, imapserver, spf, dkim, dmarc, dmarcdb, autotls, junk, mtasts, tlsrpt).";
        "User" user: Option<String>, opt,
            "User to switch to after binding to all sockets as root. Default: mox. If the value is not a known user, it is parsed as integer and used as uid and gid.";
        "NoFixPermissions" no_fix_permissions: bool, opt,
            "If true, do not automatically fix file permissions when starting up. By default, mox will ensure reasonable owner/permissions on the working, data and config directories (and files), and mox binary (if present).";
        "Hostname" hostname: String, req,
            "Full hostname of system, e.g. mail.<domain>";
        "CheckUpdates" check_updates: bool, opt,
            "If enabled, a single DNS TXT lookup of _updates.xmox.nl is done every 24h to check for a new release. Each time a new release is found, a changelog is fetched from https://updates.xmox.nl/changelog and delivered to the postmaster mailbox.";
        "Pedantic" pedantic: bool, opt,
            "In pedantic mode protocol violations (that happen in the wild) for SMTP/IMAP/etc result in errors instead of accepting such behaviour.";
        "TLS" tls: StaticTls, opt,
            "Global TLS configuration, e.g. for additional Certificate Authorities. Used for outgoing SMTP connections, HTTPS requests.";
        "ACME" acme: BTreeMap<String, Acme>, opt,
            "Automatic TLS configuration with ACME, e.g. through Let's Encrypt. The key is a name referenced in TLS configs, e.g. letsencrypt.";
        "AdminPasswordFile" admin_password_file: Option<String>, opt,
            "File containing hash of admin password, for authentication in the web admin pages (if enabled).";
        "Listeners" listeners: BTreeMap<String, Listener>, req,
            "Listeners are groups of IP addresses and services enabled on those IP addresses, such as SMTP/IMAP or internal endpoints for administration or Prometheus metrics. All listeners with SMTP/IMAP services enabled will serve all configured domains. If the listener is named 'public', it will get a few helpful additional configuration checks, for acme automatic tls certificates and monitoring of ips in dnsbls if those are configured.";
        "Postmaster" postmaster: Postmaster, req,
            "Destination for emails delivered to postmaster addresses: a plain 'postmaster' without domain, 'postmaster@<hostname>' (also for each listener with SMTP enabled), and as fallback for each domain without explicitly configured postmaster destination.";
        "HostTLSRPT" host_tlsrpt: HostTlsrpt, opt,
            "Destination for per-host TLS reports (TLSRPT). TLS reports can be per recipient domain (for MTA-STS), or per MX host (for DANE). The per-domain TLS reporting configuration is in domains.conf. This is the TLS reporting configuration for this host. If absent, no host-based TLSRPT address is configured, and no host TLSRPT DNS record is suggested.";
        "InitialMailboxes" initial_mailboxes: InitialMailboxes, opt,
            "Mailboxes to create for new accounts. Inbox is always created. Mailboxes can be given a 'special-use' role, which are understood by most mail clients. If absent/empty, the following additional mailboxes are created: Sent, Archive, Trash, Drafts and Junk.";
        "DefaultMailboxes" default_mailboxes: Vec<String>, opt,
            "Deprecated in favor of InitialMailboxes. Mailboxes to create when adding an account. Inbox is always created. If no mailboxes are specified, the following are automatically created: Sent, Archive, Trash, Drafts and Junk.";
        "Transports" transports: BTreeMap<String, Transport>, opt,
            "Transport are mechanisms for delivering messages. Transports can be referenced from Routes in accounts, domains and the global configuration. There is always an implicit/fallback delivery transport doing direct delivery with SMTP from the outgoing message queue. Transports are typically only configured when using smarthosts, i.e. when delivering through another SMTP server. Zero or one transport methods must be set in a transport, never multiple. When using an external party to send email for a domain, keep in mind you may have to add their IP address to your domain's SPF record, and possibly additional DKIM records.";
        "NoOutgoingDMARCReports" no_outgoing_dmarc_reports: bool, opt,
            "Do not send DMARC reports (aggregate only). By default, aggregate reports on DMARC evaluations are sent to domains if their DMARC policy requests them. Reports are sent at whole hours, with a minimum of 1 hour and maximum of 24 hours, rounded up so a whole number of intervals cover 24 hours, aligned at whole days in UTC. Reports are sent from the postmaster@<mailhostname> address.";
        "NoOutgoingTLSReports" no_outgoing_tls_reports: bool, opt,
            "Do not send TLS reports. By default, reports about failed SMTP STARTTLS connections and related MTA-STS/DANE policies are sent to domains if their TLSRPT DNS record requests them. Reports covering a 24 hour UTC interval are sent daily. Reports are sent from the postmaster address of the configured domain the mailhostname is in. If there is no such domain, or it does not have DKIM configured, no reports are sent.";
        "OutgoingTLSReportsForAllSuccess" outgoing_tls_reports_for_all_success: bool, opt,
            "Also send TLS reports if there were no SMTP STARTTLS connection failures. By default, reports are only sent when at least one failure occurred. If a report is sent, it does always include the successful connection counts as well.";
        "QuotaMessageSize" quota_message_size: Option<i64>, opt,
            "Default maximum total message size in bytes for each individual account, only applicable if greater than zero. Can be overridden per account. Attempting to add new messages to an account beyond its maximum total size will result in an error. Useful to prevent a single account from filling storage. The quota only applies to the email message files, not to any file system overhead and also not the message index database file (account for approximately 15% overhead).";
    }
    derived {
        /// The parsed `Hostname` (`invalid` until validated).
        hostname_domain: dns::Domain = crate::unset_domain();
        /// The IPs explicitly listened on for SMTP, to send from: set only when no SMTP
        /// listener listens on all addresses and at most one IPv4 and one IPv6 address is
        /// used (as mox decides).
        specified_smtp_listen_ips: Vec<IpAddr> = Vec::new();
    }
}

sconf_struct! {
    /// Global TLS settings (`TLS` in mox.conf).
    pub struct StaticTls {
        "CA" ca: Option<TlsCa>, ptr,
            "";
    }
}

sconf_struct! {
    /// Certificate authorities for outgoing TLS connections (`TLS.CA`).
    pub struct TlsCa {
        "AdditionalToSystem" additional_to_system: bool, opt,
            "";
        "CertFiles" cert_files: Vec<String>, opt,
            "";
    }
}

sconf_struct! {
    /// Where messages to postmaster addresses are delivered.
    pub struct Postmaster {
        "Account" account: String, req,
            "";
        "Mailbox" mailbox: String, req,
            "E.g. Postmaster or Inbox.";
    }
}

sconf_struct! {
    /// Where TLS reports about this host (its MX) are delivered.
    pub struct HostTlsrpt {
        "Account" account: String, req,
            "Account to deliver TLS reports to. Typically same account as for postmaster.";
        "Mailbox" mailbox: String, req,
            "Mailbox to deliver TLS reports to. Recommended value: TLSRPT.";
        "Localpart" localpart: String, req,
            "Localpart at hostname to accept TLS reports at. Recommended value: tlsreports.";
    }
    derived {
        /// The parsed `Localpart`, when `Account` is set.
        parsed_localpart: Option<message::Localpart> = None;
    }
}

sconf_struct! {
    /// Mailboxes created for a new account, besides Inbox.
    pub struct InitialMailboxes {
        "SpecialUse" special_use: SpecialUseMailboxes, opt,
            "Special-use roles to mailbox to create.";
        "Regular" regular: Vec<String>, opt,
            "Regular, non-special-use mailboxes to create.";
    }
}

sconf_struct! {
    /// Names of the special-use mailboxes (RFC 6154) of a new account.
    pub struct SpecialUseMailboxes {
        "Sent" sent: Option<String>, opt,
            "";
        "Archive" archive: Option<String>, opt,
            "";
        "Trash" trash: Option<String>, opt,
            "";
        "Draft" draft: Option<String>, opt,
            "";
        "Junk" junk: Option<String>, opt,
            "";
    }
}

sconf_struct! {
    /// An ACME provider, for automatic TLS certificates.
    pub struct Acme {
        "DirectoryURL" directory_url: String, req,
            "For letsencrypt, use https://acme-v02.api.letsencrypt.org/directory.";
        "RenewBefore" renew_before: Option<Duration>, opt,
            "How long before expiration to renew the certificate. Default is 30 days.";
        "ContactEmail" contact_email: String, req,
            "Email address to register at ACME provider. The provider can email you when certificates are about to expire. If you configure an address for which email is delivered by this server, keep in mind that TLS misconfigurations could result in such notification emails not arriving.";
        "Port" port: Option<u16>, opt,
            "TLS port for ACME validation, 443 by default. You should only override this if you cannot listen on port 443 directly. ACME will make requests to port 443, so you'll have to add an external mechanism to get the tls connection here, e.g. by configuring firewall-level port forwarding. Validation over the https port uses tls-alpn-01 with application-layer protocol negotiation, which essentially means the original tls connection must make it here unmodified, an https reverse proxy will not work.";
        "IssuerDomainName" issuer_domain_name: Option<String>, opt,
            "If set, used for suggested CAA DNS records, for restricting TLS certificate issuance to a Certificate Authority. If empty and DirectyURL is for Let's Encrypt, this value is set automatically to letsencrypt.org.";
        "ExternalAccountBinding" external_account_binding: Option<ExternalAccountBinding>, ptr,
            "ACME providers can require that a request for a new ACME account reference an existing non-ACME account known to the provider. External account binding references that account by a key id, and authorizes new ACME account requests by signing it with a key known both by the ACME client and ACME provider.";
    }
}

sconf_struct! {
    /// A reference to an existing account at the ACME provider.
    pub struct ExternalAccountBinding {
        "KeyID" key_id: String, req,
            "Key identifier, from ACME provider.";
        "KeyFile" key_file: String, req,
            "File containing the base64url-encoded key used to sign account requests with external account binding. The ACME provider will verify the account request is correctly signed by the key. File is evaluated relative to the directory of mox.conf.";
    }
}

sconf_struct! {
    /// A group of IP addresses and the services that listen on them.
    pub struct Listener {
        "IPs" ips: Vec<String>, req,
            "Use 0.0.0.0 to listen on all IPv4 and/or :: to listen on all IPv6 addresses, but it is better to explicitly specify the IPs you want to use for email, as mox will make sure outgoing connections will only be made from one of those IPs. If both outgoing IPv4 and IPv6 connectivity is possible, and only one family has explicitly configured addresses, both address families are still used for outgoing connections. Use the \"direct\" transport to limit address families for outgoing connections.";
        "NATIPs" nat_ips: Vec<String>, opt,
            "If set, the mail server is configured behind a NAT and field IPs are internal instead of the public IPs, while NATIPs lists the public IPs. Used during IP-related DNS self-checks, such as for iprev, mx, spf, autoconfig, autodiscover, and for autotls.";
        "IPsNATed" ips_nated: bool, opt,
            "Deprecated, use NATIPs instead. If set, IPs are not the public IPs, but are NATed. Skips IP-related DNS self-checks.";
        "Hostname" hostname: Option<String>, opt,
            "If empty, the config global Hostname is used. The internal services webadmin, webaccount, webmail and webapi only match requests to IPs, this hostname, \"localhost\". All except webadmin also match for any client settings domain.";
        "TLS" tls: Option<Tls>, ptr,
            "For SMTP/IMAP STARTTLS, direct TLS and HTTPS connections.";
        "SMTPMaxMessageSize" smtp_max_message_size: Option<i64>, opt,
            "Maximum size in bytes for incoming and outgoing messages. Default is 100MB.";
        "SMTP" smtp: ListenerSmtp, opt,
            "";
        "Submission" submission: ListenerSubmission, opt,
            "SMTP for submitting email, e.g. by email applications. Starts out in plain text, can be upgraded to TLS with the STARTTLS command. Prefer using Submissions which is always a TLS connection.";
        "Submissions" submissions: ListenerSubmissions, opt,
            "SMTP over TLS for submitting email, by email applications. Requires a TLS config.";
        "IMAP" imap: ListenerImap, opt,
            "IMAP for reading email, by email applications. Starts out in plain text, can be upgraded to TLS with the STARTTLS command. Prefer using IMAPS instead which is always a TLS connection.";
        "IMAPS" imaps: ListenerImaps, opt,
            "IMAP over TLS for reading email, by email applications. Requires a TLS config.";
        "AccountHTTP" account_http: WebService, opt,
            "Account web interface, for email users wanting to change their accounts, e.g. set new password, set new delivery rulesets. Default path is /.";
        "AccountHTTPS" account_https: WebService, opt,
            "Account web interface listener like AccountHTTP, but for HTTPS. Requires a TLS config.";
        "AdminHTTP" admin_http: WebService, opt,
            "Admin web interface, for managing domains, accounts, etc. Default path is /admin/. Preferably only enable on non-public IPs. Hint: use 'ssh -L 8080:localhost:80 you@yourmachine' and open http://localhost:8080/admin/, or set up a tunnel (e.g. WireGuard) and add its IP to the mox 'internal' listener.";
        "AdminHTTPS" admin_https: WebService, opt,
            "Admin web interface listener like AdminHTTP, but for HTTPS. Requires a TLS config.";
        "WebmailHTTP" webmail_http: WebService, opt,
            "Webmail client, for reading email. Default path is /webmail/.";
        "WebmailHTTPS" webmail_https: WebService, opt,
            "Webmail client, like WebmailHTTP, but for HTTPS. Requires a TLS config.";
        "WebAPIHTTP" webapi_http: WebService, opt,
            "Like WebAPIHTTPS, but with plain HTTP, without TLS.";
        "WebAPIHTTPS" webapi_https: WebService, opt,
            "WebAPI, a simple HTTP/JSON-based API for email, with HTTPS (requires a TLS config). Default path is /webapi/.";
        "MetricsHTTP" metrics_http: ListenerMetricsHttp, opt,
            "Serve prometheus metrics, for monitoring. You should not enable this on a public IP.";
        "PprofHTTP" pprof_http: ListenerPprofHttp, opt,
            "Serve /debug/pprof/ for profiling a running mox instance. Do not enable this on a public IP!";
        "AutoconfigHTTPS" autoconfig_https: ListenerAutoconfigHttps, opt,
            "Serve autoconfiguration/autodiscovery to simplify configuring email applications, will use port 443. Requires a TLS config.";
        "MTASTSHTTPS" mtasts_https: ListenerMtastsHttps, opt,
            "Serve MTA-STS policies describing SMTP TLS requirements. Requires a TLS config.";
        "WebserverHTTP" webserver_http: ListenerWebserverHttp, opt,
            "All configured WebHandlers will serve on an enabled listener.";
        "WebserverHTTPS" webserver_https: ListenerWebserverHttps, opt,
            "All configured WebHandlers will serve on an enabled listener. Either ACME must be configured, or for each WebHandler domain a TLS certificate must be configured.";
    }
    derived {
        /// The parsed `Hostname`, if set.
        hostname_domain: Option<dns::Domain> = None;
        /// The parsed `IPs`.
        ip_addrs: Vec<IpAddr> = Vec::new();
        /// The parsed `NATIPs`.
        nat_ip_addrs: Vec<IpAddr> = Vec::new();
    }
}

sconf_struct! {
    /// TLS for a listener: ACME or key/certificate files.
    pub struct Tls {
        "ACME" acme: Option<String>, opt,
            "Name of provider from top-level configuration to use for ACME, e.g. letsencrypt.";
        "KeyCerts" key_certs: Vec<KeyCert>, opt,
            "Keys and certificates to use for this listener. The files are opened by the privileged root process and passed to the unprivileged mox process, so no special permissions are required on the files. If the private key will not be replaced when refreshing certificates, also consider adding the private key to HostPrivateKeyFiles and configuring DANE TLSA DNS records.";
        "MinVersion" min_version: Option<String>, opt,
            "Minimum TLS version. Default: TLSv1.2.";
        "HostPrivateKeyFiles" host_private_key_files: Vec<String>, opt,
            "Private keys used for ACME certificates. Specified explicitly so DANE TLSA DNS records can be generated, even before the certificates are requested. DANE is a mechanism to authenticate remote TLS certificates based on a public key or certificate specified in DNS, protected with DNSSEC. DANE is opportunistic and attempted when delivering SMTP with STARTTLS. The private key files must be in PEM format. PKCS8 is recommended, but PKCS1 and EC private keys are recognized as well. Only RSA 2048 bit and ECDSA P-256 keys are currently used. The first of each is used when requesting new certificates through ACME.";
        "ClientAuthDisabled" client_auth_disabled: bool, opt,
            "Disable TLS client authentication with certificates/keys, preventing the TLS server from requesting a TLS certificate from clients. Useful for working around clients that don't handle TLS client authentication well.";
    }
    derived {
        /// The TLS version from `MinVersion`; TLS 1.2 when unset.
        min_version_effective: TlsVersion = TlsVersion::Tls12;
    }
}

sconf_struct! {
    /// A certificate chain and its private key, PEM files (relative to mox.conf's directory).
    pub struct KeyCert {
        "CertFile" cert_file: String, req,
            "Certificate including intermediate CA certificates, in PEM format.";
        "KeyFile" key_file: String, req,
            "Private key for certificate, in PEM format. PKCS8 is recommended, but PKCS1 and EC private keys are recognized as well.";
    }
}

sconf_struct! {
    /// SMTP for incoming mail, port 25 by default.
    pub struct ListenerSmtp {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 25.";
        "NoSTARTTLS" no_starttls: bool, opt,
            "Do not offer STARTTLS to secure the connection. Not recommended.";
        "RequireSTARTTLS" require_starttls: bool, opt,
            "Do not accept incoming messages if STARTTLS is not active. Consider using in combination with an MTA-STS policy and/or DANE. A remote SMTP server may not support TLS and may not be able to deliver messages. Incoming messages for TLS reporting addresses ignore this setting and do not require TLS.";
        "NoRequireTLS" no_require_tls: bool, opt,
            "Do not announce the REQUIRETLS SMTP extension. Messages delivered using the REQUIRETLS extension should only be distributed onwards to servers also implementing the REQUIRETLS extension. In some situations, such as hosting mailing lists, this may not be feasible due to lack of support for the extension by mailing list subscribers.";
        "DNSBLs" dnsbls: Vec<String>, opt,
            "Addresses of DNS block lists for incoming messages. Block lists are only consulted for connections/messages without enough reputation to make an accept/reject decision. This prevents sending IPs of all communications to the block list provider. If any of the listed DNSBLs contains a requested IP address, the message is rejected as spam. The DNSBLs are checked for healthiness before use, at most once per 4 hours. IPs we can send from are periodically checked for being in the configured DNSBLs. See MonitorDNSBLs in domains.conf to only monitor IPs we send from, without using those DNSBLs for incoming messages. Example DNSBLs: sbl.spamhaus.org, bl.spamcop.net. See https://www.spamhaus.org/sbl/ and https://www.spamcop.net/ for more information and terms of use.";
        "FirstTimeSenderDelay" first_time_sender_delay: Option<Duration>, ptr,
            "Delay before accepting a message from a first-time sender for the destination account. Default: 15s.";
        "TLSSessionTicketsDisabled" tls_session_tickets_disabled: Option<bool>, ptr,
            "Override default setting for enabling TLS session tickets. Disabling session tickets may work around TLS interoperability issues.";
    }
    derived {
        /// The parsed `DNSBLs`.
        dnsbl_zones: Vec<dns::Domain> = Vec::new();
    }
}

sconf_struct! {
    /// Submission (SMTP with STARTTLS) for email applications, port 587 by default.
    pub struct ListenerSubmission {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 587.";
        "NoRequireSTARTTLS" no_require_starttls: bool, opt,
            "Do not require STARTTLS. Since users must login, this means password may be sent without encryption. Not recommended.";
    }
}

sconf_struct! {
    /// Submission over TLS for email applications, port 465 by default.
    pub struct ListenerSubmissions {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 465.";
        "EnabledOnHTTPS" enabled_on_https: bool, opt,
            "Additionally enable submission on HTTPS port 443 via TLS ALPN. TLS Application Layer Protocol Negotiation allows clients to request a specific protocol from the server as part of the TLS connection setup. When this setting is enabled and a client requests the 'smtp' protocol after TLS, it will be able to talk SMTP to Mox on port 443. This is meant to be useful as a censorship circumvention technique for Delta Chat.";
    }
}

sconf_struct! {
    /// IMAP with STARTTLS, port 143 by default.
    pub struct ListenerImap {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 143.";
        "NoRequireSTARTTLS" no_require_starttls: bool, opt,
            "Enable this only when the connection is otherwise encrypted (e.g. through a VPN).";
    }
}

sconf_struct! {
    /// IMAP over TLS, port 993 by default.
    pub struct ListenerImaps {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 993.";
        "EnabledOnHTTPS" enabled_on_https: bool, opt,
            "Additionally enable IMAP on HTTPS port 443 via TLS ALPN. TLS Application Layer Protocol Negotiation allows clients to request a specific protocol from the server as part of the TLS connection setup. When this setting is enabled and a client requests the 'imap' protocol after TLS, it will be able to talk IMAP to Mox on port 443. This is meant to be useful as a censorship circumvention technique for Delta Chat.";
    }
}

sconf_struct! {
    /// An internal web interface: account, admin, webmail or webapi.
    pub struct WebService {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 80 for HTTP and 443 for HTTPS. See Hostname at Listener for hostname matching behaviour.";
        "Path" path: Option<String>, opt,
            "Path to serve requests on. Should end with a slash, related to cookie paths.";
        "Forwarded" forwarded: bool, opt,
            "If set, X-Forwarded-* headers are used for the remote IP address for rate limiting and for the \"secure\" status of cookies.";
    }
}

sconf_struct! {
    /// Prometheus metrics over HTTP.
    pub struct ListenerMetricsHttp {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 8010.";
    }
}

sconf_struct! {
    /// Go's /debug/pprof/ profiling endpoint (mox-rs has none; accepted for compatibility).
    pub struct ListenerPprofHttp {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Default 8011.";
    }
}

sconf_struct! {
    /// Autoconfig/autodiscover for email applications.
    pub struct ListenerAutoconfigHttps {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "TLS port, 443 by default. You should only override this if you cannot listen on port 443 directly. Autoconfig requests will be made to port 443, so you'll have to add an external mechanism to get the connection here, e.g. by configuring port forwarding.";
        "NonTLS" non_tls: bool, opt,
            "If set, plain HTTP instead of HTTPS is spoken on the configured port. Can be useful when the autoconfig domain is reverse proxied.";
        "Forwarded" forwarded: bool, opt,
            "If set, X-Forwarded-* headers are used for the remote IP address for rate limiting and logging.";
    }
}

sconf_struct! {
    /// Serving MTA-STS policies.
    pub struct ListenerMtastsHttps {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "TLS port, 443 by default. You should only override this if you cannot listen on port 443 directly. MTA-STS requests will be made to port 443, so you'll have to add an external mechanism to get the connection here, e.g. by configuring port forwarding.";
        "NonTLS" non_tls: bool, opt,
            "If set, plain HTTP instead of HTTPS is spoken on the configured port. Can be useful when the mta-sts domain is reverse proxied.";
        "Forwarded" forwarded: bool, opt,
            "If set, X-Forwarded-* headers are used for the remote IP address for rate limiting and logging.";
    }
}

sconf_struct! {
    /// The plain HTTP webserver for WebHandlers.
    pub struct ListenerWebserverHttp {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Port for plain HTTP (non-TLS) webserver.";
        "RateLimitDisabled" rate_limit_disabled: bool, opt,
            "Disable rate limiting for all requests to this port.";
    }
}

sconf_struct! {
    /// The HTTPS webserver for WebHandlers.
    pub struct ListenerWebserverHttps {
        "Enabled" enabled: bool, req,
            "";
        "Port" port: Option<u16>, opt,
            "Port for HTTPS webserver.";
        "RateLimitDisabled" rate_limit_disabled: bool, opt,
            "Disable rate limiting for all requests to this port.";
    }
}

sconf_struct! {
    /// A way to deliver outgoing messages; at most one method is set (none: direct delivery).
    pub struct Transport {
        "Submissions" submissions: Option<TransportSmtp>, ptr,
            "Submission SMTP over a TLS connection to submit email to a remote queue.";
        "Submission" submission: Option<TransportSmtp>, ptr,
            "Submission SMTP over a plain TCP connection (possibly with STARTTLS) to submit email to a remote queue.";
        "SMTP" smtp: Option<TransportSmtp>, ptr,
            "SMTP over a plain connection (possibly with STARTTLS), typically for old-fashioned unauthenticated relaying to a remote queue.";
        "Socks" socks: Option<TransportSocks>, ptr,
            "Like regular direct delivery, but makes outgoing connections through a SOCKS proxy.";
        "Direct" direct: Option<TransportDirect>, ptr,
            "Like regular direct delivery, but allows to tweak outgoing connections.";
        "Fail" fail: Option<TransportFail>, ptr,
            "Immediately fails the delivery attempt.";
    }
}

sconf_struct! {
    /// Delivery through another SMTP server (a smarthost).
    pub struct TransportSmtp {
        "Host" host: String, req,
            "Host name to connect to and for verifying its TLS certificate.";
        "Port" port: Option<u16>, opt,
            "If unset or 0, the default port for submission(s)/smtp is used: 25 for SMTP, 465 for submissions (with TLS), 587 for submission (possibly with STARTTLS).";
        "STARTTLSInsecureSkipVerify" starttls_insecure_skip_verify: bool, opt,
            "If set an unverifiable remote TLS certificate during STARTTLS is accepted.";
        "NoSTARTTLS" no_starttls: bool, opt,
            "If set for submission or smtp transport, do not attempt STARTTLS on the connection. Authentication credentials and messages will be transferred in clear text.";
        "Auth" auth: Option<SmtpAuth>, ptr,
            "If set, authentication credentials for the remote server.";
    }
    derived {
        /// The parsed `Host` (`invalid` until validated).
        dns_host: dns::Domain = crate::unset_domain();
    }
}

sconf_struct! {
    /// Credentials for a smarthost.
    pub struct SmtpAuth {
        "Username" username: String, req,
            "";
        "Password" password: String, req,
            "";
        "Mechanisms" mechanisms: Vec<String>, opt,
            "Allowed authentication mechanisms. Defaults to SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, CRAM-MD5. Not included by default: PLAIN. Specify the strongest mechanism known to be implemented by the server to prevent mechanism downgrade attacks.";
    }
    derived {
        /// `Mechanisms`, or the default list when it is empty.
        effective_mechanisms: Vec<String> = Vec::new();
    }
}

sconf_struct! {
    /// Direct delivery through a SOCKS proxy.
    pub struct TransportSocks {
        "Address" address: String, req,
            "Address of SOCKS proxy, of the form host:port or ip:port.";
        "RemoteIPs" remote_ips: Vec<String>, req,
            "IP addresses connections from the SOCKS server will originate from. This IP addresses should be configured in the SPF record (keep in mind DNS record time to live (TTL) when adding a SOCKS proxy). Reverse DNS should be set up for these address, resolving to RemoteHostname. These are typically the IPv4 and IPv6 address for the host in the Address field.";
        "RemoteHostname" remote_hostname: String, req,
            "Hostname belonging to RemoteIPs. This name is used during in SMTP EHLO. This is typically the hostname of the host in the Address field.";
    }
    derived {
        /// The parsed `RemoteIPs`.
        ip_addrs: Vec<IpAddr> = Vec::new();
        /// The parsed `RemoteHostname` (`invalid` until validated).
        hostname_domain: dns::Domain = crate::unset_domain();
    }
}

sconf_struct! {
    /// Direct delivery with restricted address families.
    pub struct TransportDirect {
        "DisableIPv4" disable_ipv4: bool, opt,
            "If set, outgoing SMTP connections will *NOT* use IPv4 addresses to connect to remote SMTP servers.";
        "DisableIPv6" disable_ipv6: bool, opt,
            "If set, outgoing SMTP connections will *NOT* use IPv6 addresses to connect to remote SMTP servers.";
    }
}

sconf_struct! {
    /// A transport that fails every delivery attempt.
    pub struct TransportFail {
        "SMTPCode" smtp_code: Option<i64>, opt,
            "SMTP error code and optional enhanced error code to use for the failure. If empty, 554 is used (transaction failed).";
        "SMTPMessage" smtp_message: Option<String>, opt,
            "Message to include for the rejection. It will be shown in the DSN.";
    }
    derived {
        /// The SMTP code to fail with: `SMTPCode`, or 554.
        code: i64 = 0;
        /// The message to fail with: `SMTPMessage`, or a standard text.
        message: String = String::new();
    }
}
