//! One delivery run for a recipient domain: take its due entries, choose each one's transport
//! (message transport, then account, domain and global routes, else direct), deliver, and
//! record each entry's outcome the moment it is known.
//!
//! # When a delivery is marked
//!
//! An entry is one SMTP transaction. As soon as the server's reply to the message data (or to
//! the recipients) is read, the entry's new state goes to the database writer, and the next
//! transaction on that connection starts only once it is committed (the writer commits the
//! marks of all connections together, so waiting costs little throughput when many
//! connections are busy). After a 250, the only moment at which a crash can lead to sending
//! the message again is the few milliseconds between reading the 250 and that commit, and
//! then only that one message per connection (RFC 5321 §6.1 accepts a duplicate there, a loss
//! never). A run does not take the next batch of entries before its marks are committed.
//!
//! DSNs are queued as new entries in the same commit that records the failure, so a crash
//! never loses a DSN nor sends one twice.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use message::Address;
use smtpclient::{Client, ClientOptions, Envelope, Reply, SessionConfig, TlsMode};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::clock::unix_ms;
use crate::db::{Committed, Op};
use crate::dsn::{Action, Dsn, DsnRecipient, Original};
use crate::entry::{
    AttemptResult, Destination, Entry, EntryRecipient, MAX_RESULTS, NewMessage, NewRecipient,
    Recipient, RecipientState, Ret,
};
use crate::queue::Inner;
use crate::schedule::{DELAYED_DSN_AFTER_ATTEMPTS, backoff, random_u64};
use crate::settings::{Settings, Transport, TransportDirect, find_route};
use crate::tls::{CertOutcome, PolicyVerifier};
use crate::tlsresults::TlsResultRecord;
use crate::{direct, smarthost};

/// Why (part of) an attempt failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// Retrying cannot help.
    pub(crate) permanent: bool,
    /// The SMTP code, 0 if none.
    pub(crate) code: u16,
    /// The enhanced status code (`5.1.1`), empty if none.
    pub(crate) secode: String,
    /// What happened.
    pub(crate) message: String,
    /// The server's reply lines (`550 5.1.1 ...`), for the DSN.
    pub(crate) lines: Vec<String>,
}

impl Failure {
    pub(crate) fn temporary(message: impl Into<String>) -> Failure {
        Failure {
            permanent: false,
            code: 0,
            secode: String::new(),
            message: message.into(),
            lines: Vec::new(),
        }
    }

    pub(crate) fn permanent(message: impl Into<String>) -> Failure {
        Failure { permanent: true, ..Failure::temporary(message) }
    }

    /// A failure with an SMTP code we give ourselves (mox: 554 5.7.30 for REQUIRETLS).
    pub(crate) fn coded(
        permanent: bool,
        code: u16,
        secode: &str,
        message: impl Into<String>,
    ) -> Failure {
        Failure {
            permanent,
            code,
            secode: secode.into(),
            message: message.into(),
            lines: Vec::new(),
        }
    }

    pub(crate) fn from_reply(reply: &Reply, host: &str) -> Failure {
        Failure {
            permanent: reply.is_permanent(),
            code: reply.code(),
            secode: reply
                .enhanced()
                .map(|e| format!("{}.{}.{}", e.class, e.subject, e.detail))
                .unwrap_or_default(),
            message: format!("{host}: {} {}", reply.code(), reply.message()),
            lines: reply.lines().iter().map(|l| format!("{} {l}", reply.code())).collect(),
        }
    }

    pub(crate) fn from_smtp(error: &smtpclient::Error, host: &str) -> Failure {
        match error.reply() {
            Some(reply) => Failure {
                permanent: error.is_permanent(),
                message: format!("{host}: {error}"),
                ..Failure::from_reply(reply, host)
            },
            None => Failure {
                permanent: error.is_permanent(),
                ..Failure::temporary(format!("{host}: {error}"))
            },
        }
    }
}

/// What happened to one recipient in an attempt.
#[derive(Debug, Clone)]
pub(crate) enum RcptOutcome {
    Delivered { code: u16, secode: String },
    Failed(Failure),
}

/// Where an attempt ended up, for the result and DSNs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Remote {
    pub(crate) host: Option<String>,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) tls: Option<String>,
    /// The next hop announced DSN and got our NOTIFY/ORCPT: it sends success notices.
    pub(crate) relays_dsn: bool,
}

/// An entry being delivered in this run.
#[derive(Debug)]
pub(crate) struct Work {
    pub(crate) entry: Entry,
    pub(crate) done: bool,
    pub(crate) failure: Option<Failure>,
    pub(crate) missing_requiretls: usize,
    pub(crate) remote: Remote,
}

impl Work {
    fn new(entry: Entry) -> Work {
        Work { entry, done: false, failure: None, missing_requiretls: 0, remote: Remote::default() }
    }
}

/// One run's shared state.
pub(crate) struct Attempt<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) settings: Arc<Settings>,
    pub(crate) start: SystemTime,
    commits: Vec<oneshot::Receiver<Result<Committed, String>>>,
    pub(crate) tls_results: Vec<TlsResultRecord>,
}

/// Delivers the due entries of `domain`, batch after batch, until none is due or the queue
/// stops. A large batch is split over several connections (at most
/// [`Settings::max_connections_per_domain`]), each with at least
/// [`MIN_ENTRIES_PER_CONNECTION`] entries.
pub(crate) async fn deliver_domain(inner: &Arc<Inner>, domain: &str) {
    loop {
        if inner.stopping.load(Ordering::Relaxed) {
            return;
        }
        let settings = inner.settings();
        let due = match inner.db.due(domain, inner.now_ms(), settings.batch_size.max(1)) {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(%domain, error = %e, "queue: reading due entries");
                return;
            }
        };
        if due.is_empty() {
            return;
        }
        let connections = settings
            .max_connections_per_domain
            .clamp(1, (due.len() / MIN_ENTRIES_PER_CONNECTION).max(1));
        let mut chunks: Vec<Vec<Entry>> = (0..connections).map(|_| Vec::new()).collect();
        let per_chunk = due.len().div_ceil(connections);
        for (i, entry) in due.into_iter().enumerate() {
            chunks[i / per_chunk].push(entry);
        }
        let mut runs = tokio::task::JoinSet::new();
        for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
            let inner = inner.clone();
            let domain = domain.to_string();
            runs.spawn(async move { deliver_chunk(&inner, &domain, chunk).await });
        }
        let mut ok = true;
        while let Some(done) = runs.join_next().await {
            ok &= done.unwrap_or(false);
        }
        if !ok {
            return;
        }
    }
}

/// The fewest entries worth a connection of their own when a domain's batch is split.
pub(crate) const MIN_ENTRIES_PER_CONNECTION: usize = 16;

/// Delivers `due` (entries of `domain`) and waits until every outcome is committed: the next
/// batch is read from the database. Returns false if recording failed.
async fn deliver_chunk(inner: &Inner, domain: &str, due: Vec<Entry>) -> bool {
    let span = tracing::info_span!("delivery", %domain, entries = due.len());
    let settings = inner.settings();
    let mut attempt = Attempt {
        inner,
        settings,
        start: inner.clock.now(),
        commits: Vec::new(),
        tls_results: Vec::new(),
    };
    tracing::Instrument::instrument(deliver_batch(&mut attempt, domain, due), span).await;
    if !attempt.tls_results.is_empty() && !attempt.settings.no_outgoing_tls_reports {
        let records = std::mem::take(&mut attempt.tls_results);
        attempt.commits.push(inner.db.submit(vec![Op::TlsResults(records)], Vec::new()));
    }
    match attempt.flush().await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(%domain, error = %e, "queue: recording delivery results failed");
            false
        }
    }
}

/// How a group of entries is delivered.
#[derive(Debug, Clone)]
enum Plan {
    Local,
    Direct(TransportDirect),
    Socks(crate::settings::TransportSocks),
    Smarthost { transport: Transport, name: String },
    Fail { code: u16, message: String },
    Unknown(String),
}

async fn deliver_batch(attempt: &mut Attempt<'_>, domain: &str, due: Vec<Entry>) {
    // Entries that go the same way share connections; the order of entries is kept.
    let mut groups: Vec<(String, Plan, Vec<Work>)> = Vec::new();
    for entry in due {
        let (key, plan) = plan_for(attempt, &entry);
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, works)) => works.push(Work::new(entry)),
            None => groups.push((key, plan, vec![Work::new(entry)])),
        }
    }
    for (key, plan, mut works) in groups {
        tracing::debug!(route = %key, entries = works.len(), "queue: delivering");
        match plan {
            Plan::Local => deliver_local(attempt, &mut works).await,
            Plan::Direct(direct) => {
                direct::deliver(attempt, domain, &mut works, &direct, None).await
            }
            Plan::Socks(socks) => {
                direct::deliver(
                    attempt,
                    domain,
                    &mut works,
                    &TransportDirect::default(),
                    Some(&socks),
                )
                .await
            }
            Plan::Smarthost { transport, name } => {
                smarthost::deliver(attempt, &mut works, &transport, &name).await
            }
            Plan::Fail { code, message } => {
                let code = if code == 0 { 554 } else { code };
                let failure = Failure::coded(code / 100 == 5, code, "", message);
                for work in works.iter_mut() {
                    work.failure = Some(failure.clone());
                }
            }
            Plan::Unknown(name) => {
                let failure = Failure::temporary(format!("cannot find transport {name:?}"));
                for work in works.iter_mut() {
                    work.failure = Some(failure.clone());
                }
            }
        }
        for work in works.iter_mut().filter(|w| !w.done) {
            let mut failure =
                work.failure.clone().unwrap_or_else(|| Failure::temporary("no delivery attempted"));
            if work.missing_requiretls > 0 && !failure.permanent && failure.secode == "5.7.30" {
                // Every host lacked what REQUIRETLS needs; it will not appear within the retry
                // period (mox makes this permanent too).
                failure.permanent = true;
            }
            attempt.finalize(work, Vec::new(), Some(failure)).await;
        }
    }
}

fn plan_for(attempt: &Attempt<'_>, entry: &Entry) -> (String, Plan) {
    let settings = &attempt.settings;
    let destination = entry.destination();
    let is_local = entry.dsn_account.is_some()
        || match (&attempt.inner.local, destination.as_ref().and_then(|d| d.domain())) {
            (Some(local), Some(domain)) => local.is_local_domain(domain),
            _ => false,
        };
    if is_local {
        return ("local".into(), Plan::Local);
    }
    let require = match entry.require_tls {
        Some(true) => "+requiretls",
        Some(false) => "+tlsrequiredno",
        None => "",
    };
    let name = match &entry.transport {
        Some(name) => Some(name.clone()),
        None => {
            let from = entry.sender_domain();
            let to = destination.as_ref().and_then(|d| d.domain().cloned());
            find_route(
                settings,
                entry.account.as_deref(),
                from.as_ref(),
                to.as_ref(),
                entry.attempts,
            )
            .map(|r| r.transport.clone())
        }
    };
    let Some(name) = name else {
        return (format!("direct{require}"), Plan::Direct(TransportDirect::default()));
    };
    let plan = match settings.transports.get(&name) {
        None => Plan::Unknown(name.clone()),
        Some(Transport::Direct(d)) => Plan::Direct(d.clone()),
        Some(Transport::Socks(s)) => Plan::Socks(s.clone()),
        Some(Transport::Fail(f)) => {
            Plan::Fail { code: f.smtp_code, message: f.smtp_message.clone() }
        }
        Some(t) => Plan::Smarthost { transport: t.clone(), name: name.clone() },
    };
    (format!("{name}{require}"), plan)
}

/// Delivers entries for local domains, and DSNs for local accounts, into the store.
async fn deliver_local(attempt: &mut Attempt<'_>, works: &mut [Work]) {
    let Some(local) = attempt.inner.local.clone() else {
        for work in works.iter_mut() {
            work.failure = Some(Failure::temporary("no local delivery configured"));
        }
        return;
    };
    for work in works.iter_mut() {
        let path = attempt.inner.db.message_path(work.entry.id);
        let data = match tokio::fs::read(&path).await {
            Ok(data) => data,
            Err(e) => {
                work.failure = Some(Failure::temporary(format!("reading queued message: {e}")));
                continue;
            }
        };
        let mut message = format!("Return-Path: <{}>\r\n", work.entry.sender).into_bytes();
        message.extend_from_slice(&data);
        let mut decided = Vec::new();
        if let Some(account) = work.entry.dsn_account.clone() {
            let outcome = match local.deliver_to_account(&account, &message).await {
                Ok(()) => RcptOutcome::Delivered { code: 250, secode: String::new() },
                Err(e) => RcptOutcome::Failed(local_failure(e)),
            };
            for r in work.entry.pending() {
                decided.push((r.address.clone(), outcome.clone()));
            }
        } else {
            for r in work.entry.pending() {
                let outcome = match Recipient::parse(&r.address).ok().and_then(|r| r.address()) {
                    Some(address) => match local.deliver(&address, &message).await {
                        Ok(()) => RcptOutcome::Delivered { code: 250, secode: String::new() },
                        Err(e) => RcptOutcome::Failed(local_failure(e)),
                    },
                    None => RcptOutcome::Failed(Failure::permanent(format!(
                        "bad local address {}",
                        r.address
                    ))),
                };
                decided.push((r.address.clone(), outcome));
            }
        }
        work.remote = Remote { host: Some("local".into()), ..Remote::default() };
        attempt.finalize(work, decided, None).await;
    }
}

fn local_failure(e: crate::local::LocalDeliveryError) -> Failure {
    if e.permanent {
        Failure::coded(true, 550, "5.1.1", e.message)
    } else {
        Failure::coded(false, 451, "4.3.0", e.message)
    }
}

impl Attempt<'_> {
    /// Waits until the outcomes handed to the writer are committed, and tells the scheduler.
    pub(crate) async fn flush(&mut self) -> Result<(), String> {
        for commit in std::mem::take(&mut self.commits) {
            match commit.await {
                Ok(Ok(committed)) => self.inner.after_commit(&committed),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("queue writer stopped".into()),
            }
        }
        Ok(())
    }

    /// Records the outcome of `work` for this attempt: recipients `decided` by a server, the
    /// others (still pending) failed with `failure`. Reschedules or removes the entry and
    /// queues DSNs, in one commit that is handed to the writer at once.
    pub(crate) async fn finalize(
        &mut self,
        work: &mut Work,
        decided: Vec<(String, RcptOutcome)>,
        failure: Option<Failure>,
    ) {
        work.done = true;
        let inner = self.inner;
        let now = inner.clock.now();
        let mut entry = work.entry.clone();
        entry.attempts += 1;
        entry.last_attempt = Some(unix_ms(self.start));
        let mut failed: Vec<(EntryRecipient, Failure)> = Vec::new();
        let mut delivered: Vec<EntryRecipient> = Vec::new();
        let mut first_failure: Option<Failure> = None;
        for r in entry.recipients.iter_mut().filter(|r| r.state == RecipientState::Pending) {
            let outcome = decided
                .iter()
                .find(|(a, _)| *a == r.address)
                .map(|(_, o)| o.clone())
                .or_else(|| failure.clone().map(RcptOutcome::Failed))
                .unwrap_or_else(|| {
                    RcptOutcome::Failed(Failure::temporary("no result for recipient"))
                });
            match outcome {
                RcptOutcome::Delivered { code, secode } => {
                    r.state = RecipientState::Delivered;
                    r.code = code;
                    r.secode = secode;
                    r.error.clear();
                    delivered.push(r.clone());
                }
                RcptOutcome::Failed(f) => {
                    r.code = f.code;
                    r.secode = f.secode.clone();
                    r.error = f.message.clone();
                    if f.permanent {
                        r.state = RecipientState::Failed;
                        failed.push((r.clone(), f.clone()));
                    }
                    first_failure.get_or_insert(f);
                }
            }
        }
        let pending_left = entry.pending().next().is_some();
        let give_up = pending_left && entry.attempts >= entry.max_attempts;
        if give_up {
            let last =
                first_failure.clone().unwrap_or_else(|| Failure::temporary("delivery failed"));
            for r in entry.recipients.iter_mut().filter(|r| r.state == RecipientState::Pending) {
                r.state = RecipientState::Failed;
                let f = Failure {
                    permanent: true,
                    message: format!(
                        "giving up after {} attempts: {}",
                        entry.attempts, last.message
                    ),
                    ..last.clone()
                };
                failed.push((r.clone(), f));
            }
        }
        let mut delayed: Vec<(EntryRecipient, Failure)> = Vec::new();
        if pending_left
            && !give_up
            && entry.attempts == DELAYED_DSN_AFTER_ATTEMPTS
            && !entry.delay_dsn_sent
        {
            entry.delay_dsn_sent = true;
            let f = first_failure.clone().unwrap_or_else(|| Failure::temporary("delivery delayed"));
            for r in entry.pending() {
                delayed.push((r.clone(), f.clone()));
            }
        }
        let result_failure = first_failure.clone();
        entry.results.push(AttemptResult {
            start: unix_ms(self.start),
            duration_ms: now.duration_since(self.start).map(|d| d.as_millis() as u64).unwrap_or(0),
            success: result_failure.is_none(),
            code: result_failure
                .as_ref()
                .map(|f| f.code)
                .unwrap_or_else(|| delivered.first().map(|r| r.code).unwrap_or(0)),
            secode: result_failure.as_ref().map(|f| f.secode.clone()).unwrap_or_default(),
            error: result_failure.as_ref().map(|f| f.message.clone()).unwrap_or_default(),
            host: work.remote.host.clone(),
            tls: work.remote.tls.clone(),
        });
        if entry.results.len() > MAX_RESULTS {
            let excess = entry.results.len() - MAX_RESULTS;
            entry.results.drain(..excess);
        }
        let counters = &inner.counters;
        counters.delivered.fetch_add(delivered.len() as u64, Ordering::Relaxed);
        counters.failed.fetch_add(failed.len() as u64, Ordering::Relaxed);

        let still_pending = entry.pending().next().is_some();
        for r in &delivered {
            tracing::info!(id = entry.id.0, recipient = %r.address, host = ?work.remote.host, tls = ?work.remote.tls, "queue: delivered");
        }
        for (r, f) in &failed {
            tracing::info!(id = entry.id.0, recipient = %r.address, error = %f.message, "queue: delivery failed permanently");
        }
        if still_pending && let Some(f) = &first_failure {
            tracing::info!(id = entry.id.0, attempts = entry.attempts, error = %f.message, "queue: delivery failed, will retry");
        }

        let mut ops = Vec::new();
        let mut dirs = Vec::new();
        if still_pending {
            let wait = backoff(entry.attempts, random_u64());
            entry.next_attempt = unix_ms(now + wait);
            ops.push(Op::Update(Box::new(entry.clone())));
        } else {
            ops.push(Op::Delete(entry.id));
        }

        let dsns = [
            (
                Action::Failed,
                failed
                    .iter()
                    .filter(|(r, _)| r.notify.is_none_or(|n| n.failure))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            (
                Action::Delayed,
                delayed.into_iter().filter(|(r, _)| r.notify.is_none_or(|n| n.delay)).collect(),
            ),
            (
                if work.remote.host.as_deref() == Some("local") {
                    Action::Delivered
                } else {
                    Action::Relayed
                },
                if work.remote.relays_dsn {
                    Vec::new()
                } else {
                    delivered
                        .iter()
                        .filter(|r| r.notify.is_some_and(|n| n.success))
                        .map(|r| (r.clone(), Failure::temporary("")))
                        .collect()
                },
            ),
        ];
        for (action, recipients) in dsns {
            if recipients.is_empty() || entry.sender.is_empty() || entry.dsn_account.is_some() {
                continue;
            }
            match self.dsn_ops(&entry, action, &recipients, &work.remote).await {
                Ok((more_ops, more_dirs)) => {
                    counters.dsns.fetch_add(1, Ordering::Relaxed);
                    ops.extend(more_ops);
                    dirs.extend(more_dirs);
                }
                Err(e) => {
                    tracing::error!(id = entry.id.0, error = %e, "queue: composing DSN failed; the sender will not be told");
                }
            }
        }
        self.commits.push(inner.db.submit(ops, dirs));
    }

    /// The operations that queue a DSN about `recipients` of `entry`.
    async fn dsn_ops(
        &self,
        entry: &Entry,
        action: Action,
        recipients: &[(EntryRecipient, Failure)],
        remote: &Remote,
    ) -> Result<(Vec<Op>, Vec<std::path::PathBuf>), crate::Error> {
        let settings = &self.settings;
        let path = self.inner.db.message_path(entry.id);
        let original =
            tokio::fs::read(&path).await.map_err(crate::Error::io(&path, "read message file"))?;
        // RFC 8689 §4.4 spirit (and mox): never return the content of a REQUIRETLS message.
        let full = entry.ret == Some(Ret::Full) && entry.require_tls != Some(true);
        let data = if full { original } else { crate::dsn::header_of(&original).to_vec() };
        let sender = Recipient::parse(&entry.sender)
            .map_err(|e| crate::Error::InvalidFilter(format!("sender {}: {e}", entry.sender)))?;
        let now = self.inner.clock.now();
        let hostname = settings.hostname.ascii();
        let list: Vec<String> =
            recipients.iter().map(|(r, _)| format!("\t{}", r.address)).collect();
        let (subject, text) = match action {
            Action::Failed => {
                let mut text = format!(
                    "\nDelivery has failed permanently for your email to:\n\n{}\n\nNo further deliveries will be attempted.\n\nError during the last delivery attempt:\n\n\t{}\n",
                    list.join("\n"),
                    recipients[0].1.message
                );
                if !recipients[0].1.lines.is_empty() {
                    text.push_str(&format!(
                        "\nFull SMTP response:\n\n\t{}\n",
                        recipients[0].1.lines.join("\n\t")
                    ));
                }
                ("mail delivery failed", text)
            }
            Action::Delayed => {
                let mut text = format!(
                    "\nDelivery has been delayed of your email to:\n\n{}\n\nNext attempts to deliver: in 4 hours, 8 hours and 16 hours.\nIf these attempts all fail, you will receive a notice.\n\nError during the last delivery attempt:\n\n\t{}\n",
                    list.join("\n"),
                    recipients[0].1.message
                );
                if !recipients[0].1.lines.is_empty() {
                    text.push_str(&format!(
                        "\nFull SMTP response:\n\n\t{}\n",
                        recipients[0].1.lines.join("\n\t")
                    ));
                }
                ("mail delivery delayed", text)
            }
            _ => (
                "mail delivered",
                format!(
                    "\nYour email has been {} to:\n\n{}\n",
                    if action == Action::Delivered {
                        "delivered"
                    } else {
                        "relayed to the next mail server for"
                    },
                    list.join("\n")
                ),
            ),
        };
        let retry_until = match action {
            Action::Delayed => {
                let mut wait = Duration::ZERO;
                for n in entry.attempts..entry.max_attempts {
                    wait += backoff(n, crate::schedule::JITTER_SECONDS);
                }
                Some(now + wait)
            }
            _ => None,
        };
        let dsn = Dsn {
            from: format!("postmaster@{hostname}"),
            to: entry.sender.clone(),
            subject: subject.into(),
            message_id: format!("{:016x}@{hostname}", random_u64()),
            references: (!entry.message_id.is_empty()).then(|| entry.message_id.clone()),
            date: now,
            text_body: text,
            reporting_mta: hostname.to_string(),
            envid: entry.envid.clone(),
            arrival_date: entry.queued_at(),
            future_release_request: entry.future_release_request.clone(),
            recipients: recipients
                .iter()
                .map(|(r, f)| {
                    let class = match action {
                        Action::Failed => "5",
                        Action::Delayed => "4",
                        _ => "2",
                    };
                    let status = match f.secode.split_once('.') {
                        Some((_, rest))
                            if !rest.is_empty()
                                && action != Action::Delivered
                                && action != Action::Relayed =>
                        {
                            format!("{class}.{rest}")
                        }
                        _ => format!("{class}.0.0"),
                    };
                    let addr_type =
                        if entry.smtputf8 && !r.address.is_ascii() { "utf-8" } else { "rfc822" };
                    DsnRecipient {
                        final_recipient: format!("{addr_type};{}", r.address),
                        original_recipient: r.orcpt.clone(),
                        action,
                        status,
                        remote_mta: remote.host.as_ref().filter(|h| *h != "local").map(|h| {
                            match remote.ip {
                                Some(ip) => format!("dns;{h} ({ip})"),
                                None => format!("dns;{h}"),
                            }
                        }),
                        diagnostic_code: (!f.lines.is_empty())
                            .then(|| format!("smtp; {}", f.lines.join(" "))),
                        last_attempt_date: entry.last_attempt_at(),
                        will_retry_until: retry_until,
                    }
                })
                .collect(),
            original: Some(Original { data, full }),
            smtputf8: entry.smtputf8,
        };
        let mut message = NewMessage::new(None, vec![sender], dsn.compose());
        if entry.require_tls == Some(true) {
            message.require_tls = Some(true);
        }
        message.recipients = vec![NewRecipient::new(message.recipients[0].address.clone())];
        let (mut entries, data) = self.inner.prepare(message)?;
        for e in entries.iter_mut() {
            e.dsn_account = entry.account.clone();
        }
        tracing::info!(id = entry.id.0, action = action.as_str(), to = %entry.sender, "queue: queueing DSN");
        self.inner.insert_ops(entries, data).await
    }
}

/// Opens the TCP connection to `ip:port`: from our listener IP of that family if we have one,
/// or through the SOCKS5 proxy.
pub(crate) async fn connect(
    attempt: &Attempt<'_>,
    ip: IpAddr,
    port: u16,
    socks: Option<&crate::settings::TransportSocks>,
) -> Result<TcpStream, Failure> {
    let timeout = attempt.settings.connect_timeout;
    let result = match socks {
        Some(socks) => {
            let target = smtpclient::dial::Socks5Target::Ip(ip);
            smtpclient::dial::connect_socks5(&socks.address, &target, port, timeout)
                .await
                .map(|(stream, _)| stream)
                .map_err(|e| {
                    let f = Failure::temporary(format!(
                        "connecting to {ip} port {port} through {}: {e}",
                        socks.address
                    ));
                    if e.is_permanent() { Failure { permanent: true, ..f } } else { f }
                })
        }
        None => {
            let local =
                attempt.settings.local_ips.iter().copied().find(|l| l.is_ipv4() == ip.is_ipv4());
            smtpclient::dial::connect_tcp(std::net::SocketAddr::new(ip, port), local, timeout)
                .await
                .map_err(|e| Failure::temporary(format!("connecting to {ip} port {port}: {e}")))
        }
    };
    if result.is_ok() {
        attempt.inner.counters.connections.fetch_add(1, Ordering::Relaxed);
    }
    result
}

/// Sets up the SMTP session on `stream` with the TLS mode and certificate check given.
pub(crate) async fn establish(
    attempt: &Attempt<'_>,
    stream: TcpStream,
    ehlo: &dns::Domain,
    tls: TlsMode,
    verifier: &Arc<PolicyVerifier>,
    server_name: rustls::pki_types::ServerName<'static>,
) -> Result<Client<TcpStream>, smtpclient::Error> {
    let config = verifier
        .client_config()
        .map_err(|e| smtpclient::Error::Tls { source: std::io::Error::other(e) })?;
    let options = ClientOptions {
        session: SessionConfig {
            hostname: ehlo.clone(),
            tls,
            auth: None,
            timeouts: attempt.settings.timeouts,
        },
        tls: config,
        server_name,
    };
    Client::establish(stream, options).await
}

/// A description of the connection's protection, for the entry's result.
pub(crate) fn tls_description(client: &Client<TcpStream>, verifier: &PolicyVerifier) -> String {
    let Some(version) = client.tls_version() else { return "plaintext".into() };
    let version = match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
        _ => "TLS",
    };
    match verifier.outcome() {
        Some(CertOutcome::Verified(how)) => format!("{version} {how} verified"),
        Some(CertOutcome::Failed(_, reason)) => {
            format!("{version} certificate not verified ({reason})")
        }
        _ => format!("{version} opportunistic"),
    }
}

/// Delivers the unfinished `works` one transaction each over `client`. Returns the failure
/// that broke the session, after which the remaining entries must go elsewhere.
pub(crate) async fn send_entries(
    attempt: &mut Attempt<'_>,
    client: &mut Client<TcpStream>,
    works: &mut [Work],
    remote: &Remote,
) -> Result<(), Failure> {
    let host = remote.host.clone().unwrap_or_default();
    for work in works.iter_mut().filter(|w| !w.done) {
        if attempt.inner.stopping.load(Ordering::Relaxed) {
            return Err(Failure::temporary("queue stopping"));
        }
        let (envelope, relays_dsn) = envelope_for(&work.entry, client.capabilities());
        let path = attempt.inner.db.message_path(work.entry.id);
        let reader = match MessageSource::open(&path, work.entry.size).await {
            Ok(r) => r,
            Err(e) => {
                let failure =
                    Failure::temporary(format!("opening queued message {}: {e}", path.display()));
                work.remote = remote.clone();
                attempt.finalize(work, Vec::new(), Some(failure)).await;
                continue;
            }
        };
        attempt.inner.counters.transactions.fetch_add(1, Ordering::Relaxed);
        match client.deliver(&envelope, reader).await {
            Ok(delivery) => {
                let decided = delivery
                    .recipients
                    .iter()
                    .zip(work.entry.pending().map(|r| r.address.clone()).collect::<Vec<_>>())
                    .map(|(result, address)| {
                        let outcome = if result.delivered {
                            RcptOutcome::Delivered {
                                code: result.reply.code(),
                                secode: result
                                    .reply
                                    .enhanced()
                                    .map(|e| format!("{}.{}.{}", e.class, e.subject, e.detail))
                                    .unwrap_or_default(),
                            }
                        } else {
                            RcptOutcome::Failed(Failure::from_reply(&result.reply, &host))
                        };
                        (address, outcome)
                    })
                    .collect();
                work.remote = Remote { relays_dsn, ..remote.clone() };
                attempt.finalize(work, decided, None).await;
                // The next transaction only after this one's outcome is on disk: a crash can
                // then resend at most this message per connection (its 250 read, its mark not
                // yet committed), not a whole commit interval's worth.
                if let Err(e) = attempt.flush().await {
                    return Err(Failure::temporary(format!("recording delivery: {e}")));
                }
            }
            Err(e @ smtpclient::Error::RequireTlsUnavailable(_)) => {
                // Another host may have it.
                work.missing_requiretls += 1;
                work.failure = Some(Failure::coded(false, 554, "5.7.30", format!("{host}: {e}")));
            }
            Err(
                e @ (smtpclient::Error::MessageTooLarge { .. }
                | smtpclient::Error::SmtpUtf8Unsupported
                | smtpclient::Error::EightBitMimeUnsupported
                | smtpclient::Error::InvalidParameter(_)),
            ) => {
                // Refused before anything was sent; the session is still good.
                work.remote = remote.clone();
                let code = if matches!(e, smtpclient::Error::MessageTooLarge { .. }) {
                    "5.3.4"
                } else {
                    "5.6.7"
                };
                attempt
                    .finalize(
                        work,
                        Vec::new(),
                        Some(Failure::coded(true, 554, code, format!("{host}: {e}"))),
                    )
                    .await;
            }
            Err(e) => {
                let failure = Failure::from_smtp(&e, &host);
                work.failure = Some(failure.clone());
                return Err(failure);
            }
        }
    }
    Ok(())
}

/// A queued message to send: read at once when small (one read of a cached file costs less
/// than the trips through tokio's blocking pool that streaming takes), streamed when large.
enum MessageSource {
    Memory(std::io::Cursor<Vec<u8>>),
    File(tokio::io::BufReader<tokio::fs::File>),
}

/// Messages up to this size are read whole.
const READ_WHOLE_LIMIT: u64 = 1024 * 1024;

impl MessageSource {
    async fn open(path: &std::path::Path, size: u64) -> std::io::Result<MessageSource> {
        if size <= READ_WHOLE_LIMIT {
            return Ok(MessageSource::Memory(std::io::Cursor::new(std::fs::read(path)?)));
        }
        let file = tokio::fs::File::open(path).await?;
        Ok(MessageSource::File(tokio::io::BufReader::with_capacity(64 * 1024, file)))
    }
}

impl tokio::io::AsyncRead for MessageSource {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            MessageSource::Memory(c) => std::pin::Pin::new(c).poll_read(cx, buf),
            MessageSource::File(f) => std::pin::Pin::new(f).poll_read(cx, buf),
        }
    }
}

/// The SMTP envelope of an entry's pending recipients, with DSN parameters when the server
/// announces DSN (RFC 3461 §6.2: a relay passes them on). Returns whether they were passed.
fn envelope_for(entry: &Entry, caps: &smtpclient::Capabilities) -> (Envelope, bool) {
    let pending: Vec<&EntryRecipient> = entry.pending().collect();
    let mut recipients = Vec::new();
    let mut paths = Vec::new();
    let mut any_literal = false;
    for r in &pending {
        match Recipient::parse(&r.address) {
            Ok(Recipient { localpart, destination: Destination::Domain(d) }) => {
                paths.push(r.address.clone());
                recipients.push(Address::new(localpart, d));
            }
            Ok(recipient @ Recipient { destination: Destination::Ip(_), .. }) => {
                any_literal = true;
                paths.push(recipient.to_string());
                recipients.push(placeholder(&recipient.localpart));
            }
            Err(_) => {
                // Validated when added, so not expected; the raw path keeps indexes aligned.
                any_literal = true;
                paths.push(r.address.clone());
                let localpart = r.address.rsplit_once('@').map_or("x", |(l, _)| l);
                let localpart =
                    message::Localpart::new(localpart).or_else(|_| message::Localpart::new("x"));
                if let Ok(localpart) = localpart {
                    recipients.push(placeholder(&localpart));
                }
            }
        }
    }
    let mut envelope = Envelope::new(entry.sender_address(), recipients);
    envelope.size = Some(entry.size);
    // Sent as 8-bit where announced; without 8BITMIME we send anyway, as mox does: servers
    // that do not announce it nearly all accept it.
    envelope.eight_bit = entry.has_8bit && caps.eight_bit_mime;
    envelope.smtputf8 = entry.smtputf8;
    envelope.require_tls = entry.require_tls == Some(true);
    if any_literal {
        envelope.forward_paths = paths;
    }
    let relays_dsn = caps.dsn;
    if relays_dsn {
        if let Some(ret) = entry.ret {
            envelope.mail_parameters.push(match ret {
                Ret::Full => "RET=FULL".into(),
                Ret::Hdrs => "RET=HDRS".into(),
            });
        }
        if let Some(envid) = &entry.envid {
            envelope.mail_parameters.push(format!("ENVID={}", xtext(envid)));
        }
        envelope.rcpt_parameters = pending
            .iter()
            .map(|r| {
                let mut params = Vec::new();
                if let Some(notify) = r.notify {
                    params.push(format!("NOTIFY={notify}"));
                }
                if let Some(orcpt) = &r.orcpt
                    && let Some((kind, address)) = orcpt.split_once(';')
                {
                    params.push(format!("ORCPT={kind};{}", xtext(address)));
                }
                params
            })
            .collect();
    }
    (envelope, relays_dsn)
}

/// The domain standing in for an address literal in [`Envelope::recipients`]; the literal
/// itself goes out in [`Envelope::forward_paths`].
static PLACEHOLDER_DOMAIN: std::sync::LazyLock<dns::Domain> = std::sync::LazyLock::new(|| {
    #[allow(clippy::expect_used)] // A constant that parses.
    dns::Domain::parse("address-literal.invalid").expect("constant domain")
});

fn placeholder(localpart: &message::Localpart) -> Address {
    Address::new(localpart.clone(), PLACEHOLDER_DOMAIN.clone())
}

/// xtext (RFC 3461 §4): `+`, `=`, controls, space and non-ASCII as `+HH`.
pub(crate) fn xtext(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// Decodes xtext (RFC 3461 §4): `+HH` to the byte; `None` if malformed or not UTF-8.
pub(crate) fn xtext_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'+' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The IPs dialed per host, for the entries that went to `host`.
pub(crate) fn note_dialed(works: &mut [Work], host: &str, ip: IpAddr) {
    for work in works.iter_mut().filter(|w| !w.done) {
        let list = work.entry.dialed_ips.entry(host.to_string()).or_default();
        list.push(ip);
        if list.len() > 8 {
            list.remove(0);
        }
    }
}

/// The IPs of previous attempts to `host`, from the first unfinished entry.
pub(crate) fn dialed_before(works: &[Work], host: &str) -> Vec<IpAddr> {
    works
        .iter()
        .find(|w| !w.done)
        .and_then(|w| w.entry.dialed_ips.get(host).cloned())
        .unwrap_or_default()
}

/// Orders `ips` for this attempt (as mox): after an attempt on one address family, the other
/// comes first (our address may be on a blocklist of that family); if only one IP of that
/// family was used, it stays first within its family (greylisting remembers the IP).
pub(crate) fn order_ips(ips: &mut [IpAddr], previous: &[IpAddr]) {
    let Some(last) = previous.last() else { return };
    let same_family = previous.iter().filter(|ip| ip.is_ipv4() == last.is_ipv4()).count();
    let prefer_last = same_family == 1;
    ips.sort_by_key(|ip| (ip.is_ipv4() == last.is_ipv4(), !(prefer_last && ip == last)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_encoding() {
        assert_eq!(xtext("a+b=c d\u{e9}"), "a+2Bb+3Dc+20d+C3+A9");
        assert_eq!(xtext("rfc822;x@y"), "rfc822;x@y");
        assert_eq!(xtext_decode("a+2Bb+3Dc+20d+C3+A9").as_deref(), Some("a+b=c d\u{e9}"));
        assert_eq!(xtext_decode("a+2"), None);
        assert_eq!(xtext_decode("a+2b"), None, "hex digits are upper case");
        assert_eq!(xtext_decode("+FF"), None, "not UTF-8");
    }

    #[test]
    fn ip_order() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v4b: IpAddr = "192.0.2.2".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let mut ips = vec![v4, v4b, v6];
        order_ips(&mut ips, &[]);
        assert_eq!(ips, [v4, v4b, v6]);
        order_ips(&mut ips, &[v4b]);
        assert_eq!(ips, [v6, v4b, v4]);
        let mut ips = vec![v4, v4b, v6];
        order_ips(&mut ips, &[v6, v4, v6]);
        assert_eq!(ips, [v4, v4b, v6]);
    }

    #[test]
    fn failures_from_replies() {
        let reply = Reply::new(550, vec!["5.1.1 no such user".into(), "really".into()]);
        let f = Failure::from_reply(&reply, "mx.example");
        assert!(f.permanent);
        assert_eq!((f.code, f.secode.as_str()), (550, "5.1.1"));
        assert_eq!(f.lines, ["550 5.1.1 no such user", "550 really"]);
        let f = Failure::from_reply(&Reply::new(451, vec!["later".into()]), "mx");
        assert!(!f.permanent && f.secode.is_empty());
    }
}
