//! Incoming mail (MX): the checks mox makes, in mox's order, and delivery.
//!
//! For each message: loop detection, then iprev, SPF (HELO and MAIL FROM) and DKIM in
//! parallel, then DMARC. Their results go into Authentication-Results and Received-SPF.
//! Then, per recipient account ([`analyze`]): the delivery rate of the client's network, the
//! destination's rulesets (mailing lists accepted, forwards exempt from DMARC), the DMARC
//! policy (reject → 550 5.7.1, quarantine → the Junk mailbox), MessageAuthRequired,
//! reputation (the [`Classifier`](crate::backend::Classifier)), SPF (soft)fail and iprev for
//! senders without reputation, the junk filter, and DNSBLs. Rejected messages are kept in
//! the account's Rejects mailbox when it has one. First-time senders wait
//! `FirstTimeSenderDelay`. Accepted messages are stored durably in every recipient's mailbox
//! before the 250; a failure half-way removes what was stored and answers 451.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dns::{Domain, Resolver};
use message::Header;

use crate::backend::Target;
use crate::command::{ForwardPath, HelloName, ReversePath};
use crate::directory::{AccountSettings, LocalRecipient};
use crate::headers::{self, ReceivedInfo};
use crate::iprev::{self, Iprev, IprevStatus};
use crate::mailer::{Mailer, hello_domain, localserve_error};
use crate::reply::{Ecode, Reply};
use crate::rules::{RuleInput, domain_matches, matching_ruleset};
use crate::session::{Context, Delivery, unix_now};
use crate::store_delivery::{self, StoreTarget};

/// Whether `domain` accepts mail: not a null MX (RFC 7505), and its MX hosts (or the domain
/// itself without MX) have addresses. `Err` for temporary DNS failures.
pub(crate) async fn accepts_mail(resolver: &dyn Resolver, domain: &Domain) -> Result<bool, ()> {
    let hosts: Vec<Domain> = match resolver.lookup_mx(domain).await {
        Ok(mx) => {
            // A null MX (RFC 7505: "0 ."): the domain does not accept mail.
            if mx.records.iter().any(|m| m.exchange.is_none()) {
                return Ok(false);
            }
            mx.records.iter().filter_map(|m| m.exchange.clone()).collect()
        }
        Err(e) if e.is_not_found() => vec![domain.clone()],
        Err(_) => return Err(()),
    };
    let mut temp = false;
    for host in hosts.iter().take(10) {
        match resolver.lookup_ip(host).await {
            Ok(ips) if !ips.records.is_empty() => return Ok(true),
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(_) => temp = true,
        }
    }
    if temp { Err(()) } else { Ok(false) }
}

fn spf_verifier<'r>(mailer: &'r Mailer, ctx: &Context) -> spf::Verifier<'r> {
    spf::Verifier::new(&*mailer.resolver).with_receiver(ctx.config.hostname.ascii())
}

/// SPF for the MAIL FROM identity (or `postmaster@` the HELO name for `<>`).
pub(crate) async fn spf_mail_from(
    mailer: &Mailer,
    ctx: &Context,
    from: &ReversePath,
) -> spf::Verification {
    let helo = hello_domain(ctx);
    let verifier = spf_verifier(mailer, ctx);
    match from {
        ReversePath::Path(p) => {
            match verifier.verify_mail_from(ctx.remote_ip, &helo, &p.ascii()).await {
                Ok(v) => v,
                Err(_) => verifier.verify_helo(ctx.remote_ip, &helo).await,
            }
        }
        ReversePath::Null => verifier.verify_helo(ctx.remote_ip, &helo).await,
    }
}

/// The facts about a message shared by all its recipients.
struct Checked {
    data: Arc<Vec<u8>>,
    msg_from: Option<message::Address>,
    smtputf8: bool,
    requiretls: bool,
    iprev: Iprev,
    spf: Arc<spf::Verification>,
    dkim: Vec<dkim::SignatureResult>,
    dmarc: Option<dmarc::Evaluation>,
    /// Authentication-Results methods without DMARC (added per recipient).
    methods: Vec<String>,
    verified_domains: Vec<Domain>,
    dkim_domains: Vec<String>,
    /// The delivery facts for reputation (per recipient, forwards clear some).
    origin: store::Origin,
}

/// Delivers an incoming message; returns the reply to the end of data.
pub(crate) async fn deliver(mailer: &Mailer, ctx: &Context, delivery: Delivery) -> Reply {
    let started = Instant::now();
    let Delivery { transaction: txn, data, .. } = delivery;
    let _permit = if data.is_spilled() { mailer.large_messages.acquire().await.ok() } else { None };
    let data = match read_data(data).await {
        Ok(d) => Arc::new(d),
        Err(e) => {
            tracing::error!(error = %e, "reading message data");
            return Reply::new(
                451,
                Ecode::SYS_OTHER,
                format!("error processing ({})", ctx.received_id),
            );
        }
    };
    let header = Header::parse(&data);

    // Basic loop detection (RFC 5321 §6.3).
    if header.get_all("received").count() > 100 {
        return Reply::new(550, Ecode::NET_LOOP, "loop detected, more than 100 Received headers");
    }
    let msg_from =
        header.from_mailboxes().ok().filter(|m| m.len() == 1).map(|m| m[0].address.clone());
    let requiretls = txn.params.requiretls;

    // iprev, SPF and DKIM in parallel.
    let helo_is_domain = matches!(ctx.hello, Some(HelloName::Domain(_)));
    let spf_cached = txn.spf.clone();
    let (iprev, spf, spf_helo, dkim) = tokio::join!(
        iprev::lookup(&*mailer.resolver, ctx.remote_ip),
        async {
            match spf_cached {
                Some(v) => v,
                None => Arc::new(spf_mail_from(mailer, ctx, &txn.mail_from).await),
            }
        },
        async {
            // The HELO identity too (RFC 7208 §2.3), unless MAIL FROM was empty, in which case
            // the MAIL FROM check already was the HELO check.
            if helo_is_domain && txn.mail_from != ReversePath::Null {
                Some(spf_verifier(mailer, ctx).verify_helo(ctx.remote_ip, &hello_domain(ctx)).await)
            } else {
                None
            }
        },
        async {
            let options = dkim::VerifyOptions::default().with_key_cache(mailer.key_cache.clone());
            match dkim::verify(&*mailer.resolver, &data, &options).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::info!(error = %e, "dkim verify");
                    Vec::new()
                }
            }
        },
    );

    let mut verified_domains = Vec::new();
    let mut dkim_domains: Vec<String> = Vec::new();
    for r in &dkim {
        if r.status == dkim::Status::Pass
            && let Some(d) = &r.domain
        {
            if !dkim_domains.iter().any(|x| x == d.ascii()) {
                dkim_domains.push(d.ascii().to_string());
            }
            verified_domains.push(d.clone());
        }
    }
    if spf.result() == spf::SpfResult::Pass
        && let Ok(d) = Domain::parse(&spf.domain)
    {
        verified_domains.push(d);
    }

    // DMARC, with SPF for the identity DMARC uses (MAIL FROM, or HELO for <>).
    let spf_outcome = dmarc::SpfOutcome::from_spf(&spf);
    let dkim_outcomes: Vec<dmarc::DkimOutcome> =
        dkim.iter().filter_map(dmarc::DkimOutcome::from_dkim).collect();
    let dmarc = match &msg_from {
        Some(_) => {
            let mut sampler = dmarc::RandomSampler;
            Some(
                dmarc::verify(
                    &*mailer.resolver,
                    &header,
                    spf_outcome.as_ref(),
                    &dkim_outcomes,
                    &mut sampler,
                )
                .await,
            )
        }
        None => None,
    };
    let msg_from_validated = msg_from.as_ref().is_some_and(|from| {
        dmarc.as_ref().is_some_and(|d| d.result == dmarc::DmarcResult::Pass)
            || verified_domains.iter().any(|v| {
                dmarc::organizational_domain(v) == dmarc::organizational_domain(&from.domain)
            })
    });

    let mut methods = Vec::new();
    let iprev_comment = if iprev.authentic { "with dnssec" } else { "without dnssec" };
    methods.push(format!(
        "iprev={} ({iprev_comment}) policy.iprev={}",
        iprev.status.as_str(),
        ctx.remote_ip
    ));
    methods.extend(dkim::authentication_results(&dkim));
    methods.push(spf.authentication_result().to_string());
    if let Some(h) = &spf_helo {
        methods.push(h.authentication_result().to_string());
    }

    let smtputf8 = txn.params.smtputf8
        && (txn.mail_from.path().is_some_and(|p| p.is_utf8())
            || txn
                .recipients
                .iter()
                .any(|r| matches!(&r.path, ForwardPath::Path(p) if p.is_utf8()))
            || !data[..header.body_offset().min(data.len())].is_ascii());

    let message_id = header
        .get("message-id")
        .and_then(|f| message::MessageId::parse(f.raw_value()).ok())
        .map(|id| id.as_str().to_string())
        .unwrap_or_default();
    let origin = store::Origin {
        remote_ip: Some(ctx.remote_ip),
        ehlo_domain: match &ctx.hello {
            Some(HelloName::Domain(d)) => d.ascii().to_string(),
            _ => String::new(),
        },
        ehlo_validated: spf_helo.as_ref().is_some_and(|v| v.result() == spf::SpfResult::Pass),
        mail_from_localpart: txn
            .mail_from
            .path()
            .map(|p| p.localpart.as_str().to_string())
            .unwrap_or_default(),
        mail_from_domain: txn
            .mail_from
            .path()
            .and_then(|p| p.domain())
            .map(|d| d.ascii().to_string())
            .unwrap_or_default(),
        mail_from_validated: spf.result() == spf::SpfResult::Pass
            && spf.identity == spf::Identity::MailFrom,
        msg_from_localpart: msg_from
            .as_ref()
            .map(|a| a.localpart.as_str().to_string())
            .unwrap_or_default(),
        msg_from_domain: msg_from
            .as_ref()
            .map(|a| a.domain.ascii().to_string())
            .unwrap_or_default(),
        msg_from_org_domain: msg_from
            .as_ref()
            .map(|a| dmarc::organizational_domain(&a.domain).ascii().to_string())
            .unwrap_or_default(),
        msg_from_validated,
        dkim_domains: dkim_domains.clone(),
        message_id,
        destined_mailbox: None,
        is_reject: false,
    };
    let checked = Checked {
        data: data.clone(),
        msg_from,
        smtputf8,
        requiretls,
        iprev,
        spf,
        dkim,
        dmarc,
        methods,
        verified_domains,
        dkim_domains,
        origin,
    };
    tracing::debug!(
        iprev = checked.iprev.status.as_str(),
        spf = %checked.spf.result(),
        dkim = ?checked.dkim.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
        dmarc = ?checked.dmarc.as_ref().map(|d| d.result),
        elapsed = ?started.elapsed(),
        "message checked"
    );
    let reply = deliver_checked(mailer, ctx, &txn, &header, &checked).await;
    tracing::debug!(elapsed = ?started.elapsed(), "message handled");
    reply
}

/// Reads the message (from its temporary file if it spilled).
pub(crate) async fn read_data(data: crate::MessageData) -> std::io::Result<Vec<u8>> {
    if data.is_spilled() {
        tokio::task::spawn_blocking(move || data.into_bytes())
            .await
            .map_err(std::io::Error::other)?
    } else {
        data.into_bytes()
    }
}

/// One store target of a recipient, with its decision.
struct Planned {
    rcpt_index: usize,
    target: LocalRecipient,
    deliver_to: String,
    decision: Decision,
}

/// The decision for one recipient account.
#[derive(Debug, Clone)]
struct Decision {
    accept: bool,
    mailbox: String,
    /// Store a copy in the Rejects mailbox (when rejecting).
    keep_reject: bool,
    reply: Option<Reply>,
    reason: &'static str,
    reason_text: Vec<String>,
    /// Mark seen (reports, accepted rejects).
    seen: bool,
    /// Mark as junk (DMARC quarantine, accepted rejects).
    junk: bool,
    /// A sender without reputation and no bad signals: delay before accepting.
    first_time: bool,
    mailing_list: bool,
    /// Delivery facts stored with the message, for later reputation.
    origin: store::Origin,
}

#[derive(Debug)]
struct RecipientError {
    rcpt: String,
    reply: Reply,
}

async fn deliver_checked(
    mailer: &Mailer,
    ctx: &Context,
    txn: &crate::Transaction,
    header: &Header<'_>,
    c: &Checked,
) -> Reply {
    let id = &ctx.received_id;
    let mail_from = txn.mail_from.ascii();
    let explicit: Vec<String> = txn
        .recipients
        .iter()
        .filter_map(|r| match (&r.path, &r.target) {
            (ForwardPath::Path(p), Target::Local(_)) => Some(p.ascii().to_lowercase()),
            _ => None,
        })
        .collect();

    let mut planned: Vec<Planned> = Vec::new();
    let mut errors: Vec<RecipientError> = Vec::new();
    let mut rejected_copies: Vec<Planned> = Vec::new();
    for (i, rcpt) in txn.recipients.iter().enumerate() {
        let rcpt_addr = match &rcpt.path {
            ForwardPath::Postmaster => format!("postmaster@{}", ctx.config.hostname.ascii()),
            ForwardPath::Path(p) => p.ascii(),
        };
        let members: Vec<(String, LocalRecipient)> = match &rcpt.target {
            Target::Local(r) => vec![(rcpt_addr.clone(), r.clone())],
            Target::Alias(a) => {
                // mox: only senders allowed by the alias may post to it.
                let allowed = a.post_public
                    || c.msg_from.as_ref().is_some_and(|from| {
                        a.members.iter().any(|(m, _)| m == from)
                            || (a.allow_msg_from
                                && from.to_string().eq_ignore_ascii_case(&a.canonical))
                    });
                if !allowed {
                    errors.push(RecipientError {
                        rcpt: rcpt_addr,
                        reply: Reply::new(
                            550,
                            Ecode::POL_EXPN_PROHIBITED,
                            "not allowed to send to destination",
                        ),
                    });
                    continue;
                }
                a.members
                    .iter()
                    // Not to members addressed explicitly too, nor back to the sender.
                    .filter(|(m, _)| {
                        let m = m.to_string().to_lowercase();
                        !explicit.contains(&m)
                            && c.msg_from.as_ref().is_none_or(|f| f.to_string().to_lowercase() != m)
                    })
                    .map(|(m, r)| (m.to_string(), r.clone()))
                    .collect()
            }
            Target::Remote(_) => {
                errors.push(RecipientError {
                    rcpt: rcpt_addr,
                    reply: Reply::new(
                        550,
                        Ecode::ADDR_UNKNOWN_MAILBOX,
                        "not accepting email for domain",
                    ),
                });
                continue;
            }
        };
        if mailer.localserve.is_some()
            && let ForwardPath::Path(p) = &rcpt.path
            && let Err(reply) = localserve_error(p.localpart.as_str()).await
        {
            errors.push(RecipientError { rcpt: rcpt_addr, reply });
            continue;
        }
        // For an alias: accepted if any member accepts.
        let mut any_accept = false;
        let mut first_reject: Option<Decision> = None;
        for (deliver_to, target) in members {
            let decision = analyze(mailer, ctx, txn, header, c, &rcpt_addr, &target).await;
            if decision.accept {
                any_accept = true;
                planned.push(Planned { rcpt_index: i, target, deliver_to, decision });
            } else {
                if decision.keep_reject {
                    rejected_copies.push(Planned {
                        rcpt_index: i,
                        target: target.clone(),
                        deliver_to: deliver_to.clone(),
                        decision: decision.clone(),
                    });
                }
                if first_reject.is_none() {
                    first_reject = Some(decision);
                }
            }
        }
        if !any_accept {
            let reply = first_reject
                .and_then(|d| d.reply)
                .unwrap_or_else(|| Reply::new(451, Ecode::SYS_OTHER, "error processing"));
            tracing::info!(rcptto = rcpt_addr, %reply, "incoming message rejected");
            errors.push(RecipientError { rcpt: rcpt_addr, reply });
        }
    }

    let now = unix_now();
    let received_info = ReceivedInfo {
        ctx,
        reverse_name: (c.iprev.status == IprevStatus::Pass)
            .then_some(c.iprev.name.as_deref())
            .flatten(),
        hide_client: false,
        smtputf8: c.smtputf8,
        requiretls: c.requiretls,
    };
    let prefix_for = |p: &Planned| -> Vec<u8> {
        let rcpt = match &txn.recipients[p.rcpt_index].path {
            ForwardPath::Postmaster => format!("postmaster@{}", ctx.config.hostname.ascii()),
            ForwardPath::Path(path) => {
                if c.smtputf8 {
                    path.unicode()
                } else {
                    path.ascii()
                }
            }
        };
        let mut methods = c.methods.clone();
        methods.push(match &c.dmarc {
            Some(d) => d.authentication_results(),
            None => "dmarc=none".to_string(),
        });
        let mut prefix = String::new();
        if !p.decision.reason.is_empty() {
            let mut w = headers::FieldWriter::new("X-Mox-Reason");
            w.token(&format!("{};", p.decision.reason));
            for text in &p.decision.reason_text {
                w.words(&format!("{};", text.replace(['\r', '\n'], " ")));
            }
            prefix.push_str(&w.finish());
        }
        prefix.push_str(&format!("Delivered-To: {}\r\n", p.deliver_to));
        prefix.push_str(&format!(
            "Return-Path: <{}>\r\n",
            if c.smtputf8 { txn.mail_from.unicode() } else { mail_from.clone() }
        ));
        prefix.push_str(&headers::authentication_results(ctx.config.hostname.ascii(), &methods));
        // Received-SPF goes before Received (RFC 7208 §9.1).
        prefix.push_str(&c.spf.received_spf(Some(ctx.config.hostname.ascii())).to_header());
        if !prefix.ends_with("\r\n") {
            prefix.push_str("\r\n");
        }
        prefix.push_str(&headers::received(&received_info, Some(&rcpt), now));
        prefix.into_bytes()
    };

    // Copies of rejected messages for the Rejects mailboxes: best effort, not part of the
    // reply (the message is being refused anyway).
    for p in &rejected_copies {
        let prefix = prefix_for(p);
        store_delivery::keep_reject(
            mailer,
            &p.target.account,
            &p.decision.mailbox,
            &c.data,
            prefix,
            &mail_from,
            p.decision.origin.clone(),
        )
        .await;
    }

    if planned.is_empty() {
        return combine_errors(&errors, id);
    }

    // Senders without reputation wait before we accept (mox's FirstTimeSenderDelay): a
    // spammer's connection stays busy, a legitimate sender does not notice.
    let delay = ctx.config.first_time_sender_delay;
    if !delay.is_zero() && planned.iter().any(|p| p.decision.first_time) {
        tracing::debug!(?delay, "delaying before delivering from sender without reputation");
        tokio::time::sleep(delay).await;
    }

    let mut targets = Vec::with_capacity(planned.len());
    for p in &planned {
        let mut flags = Vec::new();
        if p.decision.seen {
            flags.push("\\Seen");
        }
        if p.decision.junk {
            flags.push("$Junk");
        }
        let mut flags = store::Flags::parse(flags).unwrap_or_default();
        // mox's AutomaticJunkFlags at delivery: the mailbox sets $Junk/$NotJunk, and the
        // message trains the filter as those say (below, once stored).
        crate::junk_settings::arrival_flags(
            mailer,
            &p.target.account,
            &p.decision.mailbox,
            &mut flags,
        );
        targets.push(StoreTarget {
            account: p.target.account.clone(),
            mailbox: p.decision.mailbox.clone(),
            prefix: prefix_for(p),
            flags,
            mail_from: mail_from.clone(),
            origin: Some(p.decision.origin.clone()),
        });
    }
    let stored = match store_delivery::deliver_all(mailer, targets, c.data.clone()).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!(error = %e, "delivering to accounts");
            return e.reply(id);
        }
    };
    crate::junk_settings::train_delivered(mailer, &stored).await;
    // A message that got through now need not be kept as a reject (mox's RejectsRemove).
    if !c.origin.message_id.is_empty() {
        for p in &planned {
            if let Some(rejects) =
                mailer.directory.account_settings(&p.target.account).and_then(|s| s.rejects_mailbox)
            {
                store_delivery::remove_rejects(
                    mailer,
                    &p.target.account,
                    &rejects,
                    &c.origin.message_id,
                )
                .await;
            }
        }
    }
    if !planned.is_empty() && tracing::enabled!(tracing::Level::INFO) {
        let auth = auth_summary(c);
        for p in &planned {
            tracing::info!(
                account = p.target.account,
                mailbox = p.decision.mailbox,
                reason = p.decision.reason,
                msgfrom = ?c.msg_from.as_ref().map(|a| a.to_string()),
                auth,
                "incoming message delivered"
            );
        }
    }
    if !errors.is_empty() {
        // Some recipients got it, others did not: a DSN for the failed ones (RFC 3464).
        crate::dsn::queue_failures(
            mailer,
            ctx,
            txn,
            header,
            &errors.iter().map(|e| (e.rcpt.clone(), e.reply.clone())).collect::<Vec<_>>(),
            c.smtputf8,
        )
        .await;
    }
    Reply::new(250, Ecode::MAILBOX_OTHER, "it is done")
}

/// The results of the checks in one line for the delivery log, as Authentication-Results
/// methods without their properties: `iprev=pass dkim=pass spf=pass dmarc=pass`.
fn auth_summary(c: &Checked) -> String {
    let mut words: Vec<&str> =
        c.methods.iter().filter_map(|m| m.split_whitespace().next()).collect();
    let dmarc = c.dmarc.as_ref().map(|d| d.result.as_str()).unwrap_or("none");
    let dmarc = format!("dmarc={dmarc}");
    words.push(&dmarc);
    words.join(" ")
}

/// The reply when no recipient got the message: the common error, or all of them.
fn combine_errors(errors: &[RecipientError], id: &str) -> Reply {
    let Some(first) = errors.first() else {
        return Reply::new(451, Ecode::SYS_OTHER, format!("error processing ({id})"));
    };
    if errors.iter().all(|e| e.reply.code == first.reply.code && e.reply.ecode == first.reply.ecode)
    {
        let mut texts: Vec<&str> = errors.iter().map(|e| e.reply.text.as_str()).collect();
        texts.dedup();
        let mut reply = first.reply.clone();
        reply.text = format!("{} ({id})", texts.join("\n"));
        return reply;
    }
    let permanent = errors.iter().any(|e| e.reply.is_permanent());
    let mut lines: Vec<String> =
        errors.iter().map(|e| format!("{}: {}", e.rcpt, e.reply)).collect();
    lines.push(format!("multiple errors ({id})"));
    let code = if permanent { 554 } else { 451 };
    Reply::new(code, Ecode::SYS_OTHER, lines.join("\n"))
}

/// Decides for one recipient account (mox's `analyze`): rates, rulesets, DMARC,
/// MessageAuthRequired, then reputation from the account's indexed history, the junk filter
/// and DNSBLs through the `junk` crate's decision.
async fn analyze(
    mailer: &Mailer,
    ctx: &Context,
    txn: &crate::Transaction,
    header: &Header<'_>,
    c: &Checked,
    rcpt_to: &str,
    target: &LocalRecipient,
) -> Decision {
    let settings: AccountSettings =
        mailer.directory.account_settings(&target.account).unwrap_or_default();
    let destination = &target.destination;
    let mut mailbox = destination.mailbox.clone().unwrap_or_else(|| "Inbox".to_string());
    let mut text: Vec<String> = Vec::new();
    let size = c.data.len() as u64;
    let now = unix_now();

    let mut origin = c.origin.clone();
    let decision = |accept: bool,
                    mailbox: String,
                    reason: &'static str,
                    reply: Option<Reply>,
                    text: Vec<String>,
                    origin: &store::Origin| Decision {
        accept,
        mailbox,
        keep_reject: false,
        reply,
        reason,
        reason_text: text,
        seen: false,
        junk: false,
        first_time: false,
        mailing_list: false,
        origin: origin.clone(),
    };

    let account = match mailer.directory.open_account(&target.account) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, account = target.account, "open account");
            let reply = Reply::new(451, Ecode::SYS_OTHER, "error processing");
            return decision(false, mailbox, "reputation-error", Some(reply), text, &origin);
        }
    };

    // Not too many messages or bytes from one network to one account (counted in the
    // account's history index: the cost does not grow with the history).
    let rates = account.snapshot().and_then(|snap| snap.delivery_rates(ctx.remote_ip, now));
    match rates {
        Ok(rates) => {
            if let Err(reply) = mailer.limits.check_delivery_rates(&rates, size) {
                tracing::info!(%reply, "refusing due to high delivery rate");
                text.push("high delivery rate".into());
                return decision(false, mailbox, "high-rate", Some(reply), text, &origin);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "checking delivery rates");
            text.push(format!("checking delivery rates: {e}"));
            let reply = Reply::new(451, Ecode::SYS_OTHER, "error processing");
            return decision(false, mailbox, "reputation-error", Some(reply), text, &origin);
        }
    }

    let mail_from_text = txn.mail_from.ascii();
    let input = RuleInput {
        mail_from: &mail_from_text,
        msg_from: c.msg_from.as_ref(),
        verified_domains: &c.verified_domains,
        header,
    };
    let ruleset = matching_ruleset(destination, &input);
    if let Some(rs) = ruleset {
        mailbox = rs.mailbox.clone();
        if let Some(list) = &rs.list_allow_domain
            && c.verified_domains.iter().any(|v| domain_matches(v, list))
        {
            text.push("validated message from a configured mailing list".into());
            let mut d = decision(true, mailbox, "list-allow", None, text, &origin);
            d.mailing_list = true;
            return d;
        }
    }
    let is_forward = ruleset.is_some_and(|rs| rs.is_forward);
    let mut dmarc_use = c.dmarc.is_some();
    if is_forward {
        // The forwarder is not to blame for what it forwards: its signals do not count.
        dmarc_use = false;
        origin.remote_ip = None;
        origin.ehlo_domain.clear();
        origin.mail_from_domain.clear();
        if let Some(d) = ruleset.and_then(|rs| rs.verified_domain.as_ref()) {
            origin.dkim_domains.retain(|x| x != d.ascii());
        }
        text.push("ruleset indicates forwarded message".into());
    }

    let reject = |code: u16,
                  ecode: Ecode,
                  msg: &str,
                  reason: &'static str,
                  text: Vec<String>,
                  mailbox: String,
                  origin: &store::Origin| {
        // A ruleset can accept what would be rejected, into a mailbox of its choice.
        if let Some(to) = ruleset.and_then(|rs| rs.accept_rejects_to_mailbox.clone()) {
            let mut text = text;
            text.push("accepting reject to mailbox due to ruleset".into());
            let mut origin = origin.clone();
            origin.is_reject = true;
            origin.destined_mailbox = Some(mailbox);
            return Decision {
                accept: true,
                mailbox: to,
                keep_reject: false,
                reply: None,
                reason,
                reason_text: text,
                seen: true,
                junk: false,
                first_time: false,
                mailing_list: false,
                origin,
            };
        }
        let mut origin = origin.clone();
        origin.is_reject = true;
        origin.destined_mailbox = Some(mailbox.clone());
        Decision {
            accept: false,
            keep_reject: settings.rejects_mailbox.is_some(),
            mailbox: settings.rejects_mailbox.clone().unwrap_or(mailbox),
            reply: Some(Reply::new(code, ecode, msg)),
            reason,
            reason_text: text,
            seen: true,
            junk: false,
            first_time: false,
            mailing_list: false,
            origin,
        }
    };

    // DMARC policy.
    if dmarc_use && let Some(d) = &c.dmarc {
        match d.disposition {
            dmarc::Disposition::Reject => {
                text.push("message does not pass domain dmarc policy which asks to reject".into());
                return reject(
                    550,
                    Ecode::POL_DELIVERY_UNAUTH,
                    "rejecting per dmarc policy",
                    "dmarc-policy",
                    text,
                    mailbox,
                    &origin,
                );
            }
            dmarc::Disposition::Quarantine => {
                text.push(
                    "message does not pass domain dmarc policy which asks to quarantine".into(),
                );
                let junk_mailbox = junk_mailbox(&account);
                let mut d = decision(true, junk_mailbox, "dmarc-quarantine", None, text, &origin);
                d.junk = true;
                return d;
            }
            _ => text.push("dmarc ok".into()),
        }
    } else {
        text.push("not using any dmarc result".into());
    }

    // Reports to our reporting addresses: accepted without reputation when authenticated
    // (mox processes them; we deliver them).
    let dmarc_pass = c.dmarc.as_ref().is_some_and(|d| d.result == dmarc::DmarcResult::Pass);
    let is_report = (destination.dmarc_reports && dmarc_pass)
        || ((destination.host_tls_reports || destination.domain_tls_reports)
            && !c.dkim_domains.is_empty());

    if let Some(msg) = &destination.message_auth_required_error
        && !c.origin.msg_from_validated
    {
        text.push(
            "message does not pass required aligned spf and/or dkim check required for destination"
                .into(),
        );
        let temp = c.dmarc.as_ref().is_some_and(|d| d.result == dmarc::DmarcResult::Temperror);
        let (code, msg) = if temp {
            (451, format!("transient verification error: {msg}"))
        } else {
            (550, msg.clone())
        };
        return reject(
            code,
            Ecode::POL_MULTI_AUTH_FAILS,
            &msg,
            "msg-auth-required",
            text,
            mailbox,
            &origin,
        );
    }

    // Reputation from the account's history (flat cost: index lookups), then the junk filter.
    let verdict = {
        let snap = account.snapshot();
        snap.and_then(|snap| {
            let mailbox_id =
                snap.mailbox(&mailbox)?.map(|m| m.id).unwrap_or(store::MailboxId(u32::MAX));
            Ok(junk::reputation::evaluate(&snap, mailbox_id, &origin, now))
        })
    };
    // The store's error (reading) or the junk crate's (evaluating), told the same way.
    let verdict = verdict.map_err(|e| e.to_string()).and_then(|v| v.map_err(|e| e.to_string()));
    let verdict = match verdict {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "determining reputation");
            text.push(format!("determining reputation: {e}"));
            return reject(
                451,
                Ecode::SYS_OTHER,
                "error processing",
                "reputation-error",
                text,
                mailbox,
                &origin,
            );
        }
    };
    tracing::info!(conclusive = verdict.conclusive, junk = ?verdict.junk, method = verdict.method.as_str(), "reputation analyzed");
    // The account's filter stays open between deliveries (see junk_settings).
    let filter = match mailer.junk.account(&*mailer.directory, &target.account, &account) {
        Ok(s) => s.junk.filter.zip(s.threshold),
        Err(e) => {
            tracing::error!(error = %e, "open junkfilter");
            text.push(format!("open junkfilter: {e}"));
            return reject(
                451,
                Ecode::SYS_OTHER,
                "error processing",
                "junk-filter-error",
                text,
                mailbox,
                &origin,
            );
        }
    };
    // SubjectPass: a key per recipient address, from the account's secret.
    let subject_pass = match settings.subject_pass_period {
        None => None,
        Some(period) => match junk::subjectpass::account_secret(account.dir()) {
            Ok(secret) => {
                let key = junk::subjectpass::address_key(&secret, &target.canonical);
                let valid = c.msg_from.as_ref().is_some_and(|from| {
                    let subject = header.get("subject").map(|s| s.decoded_value());
                    let subject = subject.as_deref().unwrap_or("");
                    let r = junk::subjectpass::verify(
                        &key,
                        subject,
                        &from.to_string(),
                        now,
                        period.as_secs(),
                    );
                    tracing::debug!(result = ?r, "subjectpass");
                    r.is_ok()
                });
                Some((key, valid))
            }
            Err(e) => {
                tracing::error!(error = %e, "subjectpass key");
                text.push(format!("subjectpass key: {e}"));
                return reject(
                    451,
                    Ecode::SYS_OTHER,
                    "error processing",
                    "subjectpass-error",
                    text,
                    mailbox,
                    &origin,
                );
            }
        },
    };
    let input = junk::decision::Input {
        tls: ctx.tls.is_some(),
        iprev_pass: c.iprev.status == IprevStatus::Pass,
        spf_fail: c.spf.identity == spf::Identity::MailFrom
            && matches!(c.spf.result(), spf::SpfResult::Fail | spf::SpfResult::Softfail),
        rcpt_in_to_or_cc: recipient_in_to_cc(header, rcpt_to),
        is_forward,
        is_report,
        dmarc_pass,
        threshold: filter.as_ref().map(|(_, t)| *t),
        subject_pass: match &subject_pass {
            None => junk::decision::SubjectPass::NotConfigured,
            Some((_, true)) => junk::decision::SubjectPass::Valid,
            Some((_, false)) => junk::decision::SubjectPass::Invalid,
        },
        jitter: jitter(),
        ..junk::decision::Input::new(&verdict)
    };
    let step = junk::decision::decide(&input, || {
        filter.as_ref().map(|(f, _)| f.classify_message(&c.data))
    });
    let mut d = match step {
        junk::decision::Step::Done(d) => d,
        junk::decision::Step::CheckDnsbl(pending) => {
            // DNSBLs, only for messages we would accept without reputation; one at a time,
            // we are in no hurry to accept possible spam.
            let mut listed = None;
            for zone in &ctx.config.dnsbl_zones {
                if dnsbl_listed(mailer, zone, ctx.remote_ip).await {
                    listed = Some(zone.ascii().to_string());
                    break;
                }
            }
            let mut d = pending.finish(listed.as_deref());
            if listed.is_none() && !ctx.config.dnsbl_zones.is_empty() {
                d.reason_text.insert(
                    d.reason_text.len().saturating_sub(1),
                    "remote ip not blocklisted".into(),
                );
            }
            d
        }
    };
    text.append(&mut d.reason_text);
    if !d.accept {
        let (code, ecode, mut msg) = match &d.reply {
            Some(r) => (r.code, parse_ecode(r.enhanced), r.text.clone()),
            None => (451, Ecode::SYS_OTHER, "error processing".to_string()),
        };
        if d.give_subject_pass
            && let (Some((key, _)), Some(from)) = (&subject_pass, &c.msg_from)
        {
            tracing::info!(
                "permanent reject with subjectpass hint of moderately spammy email without reputation"
            );
            msg.push_str(&junk::subjectpass::generate(key, &from.to_string(), now));
        }
        return reject(code, ecode, &msg, d.reason, text, mailbox, &origin);
    }
    let first_time = d.reason == "no-bad-signals"
        && verdict.method == junk::reputation::Method::None
        && !is_forward
        && !settings.no_first_time_sender_delay;
    let mut out = decision(true, mailbox, d.reason, None, text, &origin);
    out.first_time = first_time;
    out.seen = is_report;
    out
}

/// `4.3.0` → the subject and detail.
fn parse_ecode(enhanced: &str) -> Ecode {
    let mut parts = enhanced.split('.').skip(1).map(|p| p.parse::<u16>().unwrap_or(0));
    Ecode(parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Noise for the junk threshold, -0.05 to 0.05 (mox: `(random - 0.5) / 10`), so the filter
/// is not an exact oracle for spammers.
fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    (f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) - 0.5) / 10.0
}

/// Whether the recipient address is in the To or Cc header.
fn recipient_in_to_cc(header: &Header<'_>, rcpt_to: &str) -> bool {
    ["to", "cc"].iter().any(|name| {
        header.address_list(name).is_ok_and(|list| {
            list.iter()
                .flat_map(|m| m.mailboxes())
                .any(|m| m.address.to_string().eq_ignore_ascii_case(rcpt_to))
        })
    })
}

/// The Junk mailbox of an account: the one with the `\\Junk` special use, else `Junk`.
fn junk_mailbox(account: &store::Account) -> String {
    let found = account
        .snapshot()
        .ok()
        .and_then(|s| s.mailbox_by_special_use(store::SpecialUse::JUNK).ok().flatten());
    found.map(|m| m.name).unwrap_or_else(|| "Junk".to_string())
}

/// Whether `ip` is listed in `zone`, if the zone is healthy (checked at most every 4 hours).
async fn dnsbl_listed(mailer: &Mailer, zone: &Domain, ip: std::net::IpAddr) -> bool {
    let cached = {
        let health = mailer.dnsbl_health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        health
            .get(zone)
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(4 * 3600))
            .map(|(_, ok)| *ok)
    };
    let healthy = match cached {
        Some(ok) => ok,
        None => {
            let ok = match dnsbl::check_health(&*mailer.resolver, zone).await {
                Ok(()) => true,
                // A list we cannot reach now is not known to be broken.
                Err(dnsbl::Error::Temporary { .. }) => true,
                Err(e) => {
                    tracing::info!(zone = zone.ascii(), error = %e, "dnsbl not healthy, skipping");
                    false
                }
            };
            let mut health =
                mailer.dnsbl_health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            health.insert(zone.clone(), (Instant::now(), ok));
            ok
        }
    };
    if !healthy {
        return false;
    }
    match dnsbl::lookup(&*mailer.resolver, zone, ip.to_canonical()).await {
        Ok(dnsbl::Status::Listed(listing)) => {
            tracing::info!(zone = zone.ascii(), %listing, "rejecting due to listing in dnsbl");
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::info!(zone = zone.ascii(), error = %e, "dnsbl lookup");
            false
        }
    }
}
