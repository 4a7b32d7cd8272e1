//! [`Mailer`]: the [`Backend`] of a real mail server. It resolves recipients through a
//! [`Directory`], checks senders (null MX, SPF for a second recipient), authenticates
//! against stored credentials with failed-login limits, and delivers: incoming mail through
//! the checks of [`crate::incoming`], submitted mail through [`crate::submit`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dns::{Domain, Resolver};

use runtime::Outgoing;

use crate::backend::{Backend, Target};
use crate::command::{ForwardPath, HelloName, PathDomain, ReversePath};
use crate::directory::{Directory, LocalRecipient, Lookup};
use crate::limits::Limits;
use crate::localserve::{LocalserveFailure, localserve_failure};
use crate::reply::{Ecode, Reply};
use crate::session::{Context, Request, Response, Service, Transaction};

/// The backend of a mail server: checks, delivery and submission.
pub struct Mailer {
    pub(crate) directory: Arc<dyn Directory>,
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) outgoing: Option<Arc<dyn Outgoing>>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) auth_limiter: Arc<runtime::AuthLimiter>,
    pub(crate) key_cache: Arc<dkim::KeyCache>,
    pub(crate) dnsbl_health: Mutex<HashMap<Domain, (Instant, bool)>>,
    pub(crate) localserve: Option<LocalRecipient>,
    /// At most this many large (spilled) messages are processed at once.
    pub(crate) large_messages: tokio::sync::Semaphore,
    pub(crate) recent_rejects: crate::store_delivery::RecentRejects,
    /// The accounts' open junk filters and AutomaticJunkFlags rules.
    pub(crate) junk: crate::junk_settings::JunkSettings,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("directory", &self.directory)
            .field("outgoing", &self.outgoing)
            .field("localserve", &self.localserve.is_some())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `directory`, looking things up with `resolver`, with limits.
    pub fn new(
        directory: Arc<dyn Directory>,
        resolver: Arc<dyn Resolver>,
        limits: Arc<Limits>,
    ) -> Mailer {
        Mailer {
            directory,
            resolver,
            outgoing: None,
            limits,
            auth_limiter: Arc::new(runtime::AuthLimiter::default()),
            key_cache: Arc::new(dkim::KeyCache::new(10_000)),
            dnsbl_health: Mutex::new(HashMap::new()),
            localserve: None,
            large_messages: tokio::sync::Semaphore::new(4),
            recent_rejects: Default::default(),
            junk: Default::default(),
        }
    }

    /// Hands messages for remote recipients at submission to the queue. Without one, remote
    /// recipients get a 451 at RCPT TO.
    pub fn with_outgoing(mut self, outgoing: Arc<dyn Outgoing>) -> Mailer {
        self.outgoing = Some(outgoing);
        self
    }

    /// Counts failed logins with this limiter (shared with the IMAP server) instead of one of
    /// its own.
    pub fn with_auth_limiter(mut self, limiter: Arc<runtime::AuthLimiter>) -> Mailer {
        self.auth_limiter = limiter;
        self
    }

    /// `mox localserve` mode: special local parts fail on purpose (see
    /// [`crate::localserve`]), unknown recipients are delivered to `fallback`, and SPF is not
    /// required for multiple recipients.
    pub fn with_localserve(mut self, fallback: LocalRecipient) -> Mailer {
        self.localserve = Some(fallback);
        self
    }

    /// The limits in use.
    pub fn limits(&self) -> &Arc<Limits> {
        &self.limits
    }

    async fn helo(&self, name: &Domain) -> Result<(), Reply> {
        // RFC 5321 §4.1.4 and mox: a HELO name must resolve; temporary failures pass.
        match self.resolver.lookup_ip(name).await {
            Err(e) if e.is_not_found() => Err(Reply::new(
                550,
                Ecode::PROTO_OTHER,
                "your ehlo domain does not resolve to an IP address",
            )),
            _ => Ok(()),
        }
    }

    async fn credentials(
        &self,
        ctx: &Context,
        mut server: Box<sasl::Server>,
        username: String,
    ) -> Response {
        if self.auth_limiter.check(ctx.remote_ip).is_err() {
            let step = Err(sasl::ServerError::InvalidCredentials { mechanism: server.mechanism() });
            let refuse = Reply::new(
                454,
                Ecode::POL_OTHER,
                "too many authentication failures, try again later",
            );
            return Response::Credentials { server, step, account: None, refuse: Some(refuse) };
        }
        let directory = self.directory.clone();
        // Password hashing (Argon2) takes tens of milliseconds of CPU: not on the runtime.
        let result = tokio::task::spawn_blocking(move || {
            let found = directory.credentials(&username);
            let disabled = found
                .as_ref()
                .and_then(|(account, _)| directory.account_settings(account))
                .and_then(|s| s.login_disabled);
            let step = server.credentials(found.as_ref().map(|(_, c)| c));
            (server, step, found.map(|(a, _)| a), disabled)
        })
        .await;
        match result {
            Ok((server, step, account, disabled)) => {
                let refuse = match (&step, disabled) {
                    (Ok(_), Some(text)) => Some(Reply::new(
                        525,
                        Ecode::POL_ACCOUNT_DISABLED,
                        format!("login disabled: {text}"),
                    )),
                    _ => None,
                };
                Response::Credentials { server, step, account, refuse }
            }
            Err(e) => {
                tracing::error!(error = %e, "credentials task");
                let server =
                    Box::new(match sasl::Server::new(sasl::Mechanism::Plain, Default::default()) {
                        Ok(s) => s,
                        Err(_) => return Response::AuthRecorded,
                    });
                let step = Err(sasl::ServerError::CredentialsUnavailable {
                    mechanism: sasl::Mechanism::Plain,
                });
                Response::Credentials {
                    server,
                    step,
                    account: None,
                    refuse: Some(Reply::new(
                        454,
                        Ecode::SYS_OTHER,
                        "temporary authentication failure",
                    )),
                }
            }
        }
    }

    async fn auth_finished(&self, ctx: &Context, username: &str, success: bool) {
        if success {
            self.auth_limiter.succeeded(ctx.remote_ip);
            tracing::info!(username, "authenticated");
        } else {
            // Slow down guessing: a growing delay after a few failures from the address.
            let delay = self.auth_limiter.failed(ctx.remote_ip);
            tracing::info!(
                username,
                failures = ctx.auth_failures + 1,
                ?delay,
                "failed authentication attempt"
            );
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn mail_from(&self, ctx: &Context, from: &ReversePath) -> Result<(), Reply> {
        let Some(path) = from.path() else {
            return Ok(());
        };
        if self.localserve.is_some() && path.localpart.as_str().starts_with("mailfrom") {
            localserve_error(path.localpart.as_str()).await?;
        }
        let Some(domain) = path.domain() else {
            return Err(Reply::new(550, Ecode::POL_OTHER, "domain name required"));
        };
        if ctx.config.service.is_submission() {
            let account = ctx.auth.as_ref().map(|a| a.account.as_str()).unwrap_or_default();
            let address = message::Address::new(path.localpart.clone(), domain.clone());
            if matches!(self.directory.lookup(&address), Lookup::DomainDisabled) {
                return Err(Reply::new(
                    451,
                    Ecode::SYS_OTHER,
                    "domain of smtp mail from is temporarily disabled",
                ));
            }
            if !self.directory.sender_allowed(account, &address) {
                tracing::info!(mailfrom = %address, account, "submission with unconfigured mail from");
                return Err(Reply::new(
                    550,
                    Ecode::POL_DELIVERY_UNAUTH,
                    "must match authenticated user",
                ));
            }
            return Ok(());
        }
        // RFC 7505 §4.2 and RFC 5321 §7.8: refuse senders whose domain cannot receive mail.
        if self.localserve.is_some() && domain.ascii() == "localhost" {
            return Ok(());
        }
        match crate::incoming::accepts_mail(&*self.resolver, domain).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Reply::new(
                550,
                Ecode::POL_SENDER_NULL_MX,
                "mailfrom domain not configured for mail",
            )),
            Err(()) => Err(Reply::new(
                451,
                Ecode::NET_OTHER,
                "cannot verify mx records for mailfrom domain",
            )),
        }
    }

    async fn rcpt(
        &self,
        ctx: &Context,
        txn: Option<&Transaction>,
        to: &ForwardPath,
    ) -> (Result<Target, Reply>, Option<Arc<spf::Verification>>) {
        let submission = ctx.config.service.is_submission();
        let mut spf = None;
        let Some(txn) = txn else {
            return (Err(Reply::new(503, Ecode::PROTO_BAD_SEQUENCE, "missing MAIL FROM")), None);
        };
        // Multiple recipients only from senders that pass SPF: we do not want to send DSNs
        // to forged addresses (RFC 5321 §3.6.2, mox).
        if !submission && txn.recipients.len() == 1 && self.localserve.is_none() {
            let verification = match txn.spf.clone() {
                Some(v) => v,
                None => Arc::new(crate::incoming::spf_mail_from(self, ctx, &txn.mail_from).await),
            };
            let pass = verification.result() == spf::SpfResult::Pass
                && verification.identity == spf::Identity::MailFrom
                && txn.mail_from != ReversePath::Null;
            spf = Some(verification);
            if !pass {
                let reply = Reply::new(
                    452,
                    Ecode::PROTO_TOO_MANY_RCPTS,
                    "only one recipient allowed without spf pass",
                );
                return (Err(reply), spf);
            }
        }
        let path = match to {
            ForwardPath::Postmaster => {
                return (Ok(Target::Local(self.directory.postmaster())), spf);
            }
            ForwardPath::Path(p) => p,
        };
        if self.localserve.is_some()
            && path.localpart.as_str().starts_with("rcptto")
            && let Err(reply) = localserve_error(path.localpart.as_str()).await
        {
            return (Err(reply), spf);
        }
        let domain = match &path.domain {
            PathDomain::Domain(d) => d.clone(),
            PathDomain::Ip(_) if submission && self.localserve.is_some() => {
                return (
                    Ok(Target::Local(
                        self.localserve.clone().unwrap_or_else(|| self.directory.postmaster()),
                    )),
                    spf,
                );
            }
            PathDomain::Ip(ip) if submission => {
                return (
                    self.remote(format!(
                        "{}@{}",
                        path.localpart,
                        crate::command::address_literal(*ip)
                    )),
                    spf,
                );
            }
            // The session only lets our own address through.
            PathDomain::Ip(_) => self.directory.hostname(),
        };
        let address = message::Address::new(path.localpart.clone(), domain);
        let lookup = self.directory.lookup(&address);
        let tls_exempt = matches!(&lookup, Lookup::Account(r) if r.destination.host_tls_reports || r.destination.domain_tls_reports);
        if ctx.config.require_tls_for_delivery && ctx.tls.is_none() && !tls_exempt {
            // RFC 3207 §4; TLS reports may come in without TLS (RFC 8460 §3).
            return (
                Err(Reply::new(530, Ecode::POL_OTHER, "STARTTLS required for mail delivery")),
                spf,
            );
        }
        let result = match lookup {
            Lookup::Account(r) => match &r.destination.smtp_error {
                Some(reply) => Err(reply.clone()),
                None => Ok(Target::Local(r)),
            },
            Lookup::Alias(a) => Ok(Target::Alias(a)),
            Lookup::DomainDisabled => Err(Reply::new(
                450,
                Ecode::MAILBOX_DISABLED,
                "recipient domain temporarily disabled",
            )),
            // mox localserve: unknown recipients, also of submitted mail, go to the local
            // account; nothing leaves the machine.
            Lookup::UnknownAddress | Lookup::UnknownDomain if self.localserve.is_some() => {
                Ok(Target::Local(
                    self.localserve.clone().unwrap_or_else(|| self.directory.postmaster()),
                ))
            }
            Lookup::UnknownDomain if submission => self.remote(address.to_string()),
            Lookup::UnknownDomain => {
                Err(Reply::new(550, Ecode::ADDR_UNKNOWN_MAILBOX, "not accepting email for domain"))
            }
            Lookup::UnknownAddress => {
                Err(Reply::new(550, Ecode::ADDR_UNKNOWN_MAILBOX, "no such user"))
            }
        };
        if let Err(reply) = &result {
            tracing::info!(rcptto = %path, %reply, "recipient refused");
        }
        (result, spf)
    }

    fn remote(&self, address: String) -> Result<Target, Reply> {
        if self.outgoing.is_none() {
            return Err(Reply::new(
                451,
                Ecode::SYS_OTHER,
                "remote delivery not available: this server has no queue running",
            ));
        }
        Ok(Target::Remote(address))
    }
}

#[async_trait]
impl Backend for Mailer {
    async fn handle(&self, ctx: &Context, txn: Option<&Transaction>, request: Request) -> Response {
        match request {
            Request::Helo(name) => Response::Helo(self.helo(&name).await),
            Request::Credentials { server, username } => {
                self.credentials(ctx, server, username).await
            }
            Request::AuthFinished { username, success } => {
                self.auth_finished(ctx, &username, success).await;
                Response::AuthRecorded
            }
            Request::MailFrom { from, .. } => Response::MailFrom(self.mail_from(ctx, &from).await),
            Request::Rcpt { to, .. } => {
                let (result, spf) = self.rcpt(ctx, txn, &to).await;
                Response::Rcpt(result, spf)
            }
            Request::Deliver(delivery) => {
                let submission = ctx.config.service.is_submission();
                let reply = if submission {
                    crate::submit::submit(self, ctx, *delivery).await
                } else {
                    crate::incoming::deliver(self, ctx, *delivery).await
                };
                if submission || reply.code / 100 != 2 {
                    tracing::info!(%reply, "end of data");
                } else {
                    // Each delivery was logged at info already ("incoming message delivered").
                    tracing::debug!(%reply, "end of data");
                }
                Response::Delivered(reply)
            }
        }
    }

    fn admit(&self, service: Service, ip: IpAddr) -> Result<(), Reply> {
        if service.is_submission() && self.auth_limiter.check(ip).is_err() {
            tracing::info!(%ip, "refusing connection due to many auth failures");
            return Err(Reply::new(421, Ecode::POL_OTHER, "too many auth failures"));
        }
        Ok(())
    }
}

/// Fails as a localserve special local part asks (the timeout waits for an hour).
pub(crate) async fn localserve_error(localpart: &str) -> Result<(), Reply> {
    match localserve_failure(localpart) {
        None => Ok(()),
        Some(LocalserveFailure::Timeout) => {
            tracing::info!("timing out due to special localpart");
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Err(Reply::new(451, Ecode::SYS_OTHER, "timing out due to special localpart"))
        }
        Some(LocalserveFailure::Code(code)) => {
            tracing::info!(code, "failure due to special localpart");
            Err(Reply::new(
                code,
                Ecode::OTHER,
                format!("failure with code {code} due to special localpart"),
            ))
        }
    }
}

/// The hello name as a domain for SPF (empty for an address literal).
pub(crate) fn hello_domain(ctx: &Context) -> String {
    match &ctx.hello {
        Some(HelloName::Domain(d)) => d.ascii().to_string(),
        Some(HelloName::Ip(ip)) => crate::command::address_literal(*ip),
        None => String::new(),
    }
}
