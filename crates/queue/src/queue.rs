//! [`Queue`]: adding messages, the scheduler that starts deliveries, and the operator's
//! operations.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use dns::Resolver;
use rustls::RootCertStore;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::admin::Filter;
use crate::clock::{Clock, SystemClock, from_unix_ms, unix_ms};
use crate::db::{Committed, Db, Op};
use crate::deliver;
use crate::entry::{Entry, EntryRecipient, NewMessage, QueueId, RecipientState};
use crate::error::Error;
use crate::local::LocalDelivery;
use crate::settings::Settings;
use crate::tlsresults::TlsResultRecord;

/// How often the scheduler re-reads which domains have due entries, in case a change was made
/// by another process (a `mox queue` command working on the queue directory).
const RESYNC_INTERVAL: Duration = Duration::from_secs(60);

/// How long a stopping queue waits for deliveries in progress.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The outgoing queue. Cheap to clone; all clones are the same queue.
///
/// Open it with [`Queue::builder`], add messages with [`add`](Queue::add), and run deliveries
/// with [`run`](Queue::run).
#[derive(Clone, Debug)]
pub struct Queue {
    pub(crate) inner: Arc<Inner>,
}

/// Counters since the queue was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// SMTP connections opened (direct and smarthost).
    pub connections: u64,
    /// SMTP transactions (one per entry and connection attempt that got to MAIL FROM).
    pub transactions: u64,
    /// Recipients delivered (remote and local).
    pub delivered: u64,
    /// Recipients failed permanently.
    pub failed: u64,
    /// DSNs queued.
    pub dsns: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicU64,
    pub(crate) transactions: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dsns: AtomicU64,
}

/// MTA-STS policy lookups: the policy cache and how policies are fetched.
#[derive(Debug)]
pub(crate) struct MtaSts {
    pub(crate) cache: mtasts::PolicyCache,
    pub(crate) fetcher: mtasts::Fetcher,
}

pub(crate) struct Inner {
    pub(crate) db: Arc<Db>,
    pub(crate) settings: RwLock<Arc<Settings>>,
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) local: Option<Arc<dyn LocalDelivery>>,
    pub(crate) mtasts: MtaSts,
    pub(crate) pkix_roots: Arc<RootCertStore>,
    pub(crate) counters: Counters,
    pub(crate) stopping: AtomicBool,
    /// The queue lock of the delivering process, held while open.
    #[allow(dead_code, reason = "held for as long as the queue is open, never read")]
    lock: Option<std::fs::File>,
    sched: Mutex<Sched>,
    kick: Notify,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("dir", &self.db.dir()).finish_non_exhaustive()
    }
}

/// Which domains have due entries: the scheduler's view, rebuilt from the database at start.
/// Memory is per recipient domain, not per entry.
#[derive(Debug, Default)]
struct Sched {
    due: BTreeSet<(u64, String)>,
    next: HashMap<String, u64>,
    busy: HashSet<String>,
}

impl Sched {
    /// Sets when `domain` is next due (authoritative, from the database).
    fn set(&mut self, domain: &str, next: Option<u64>) {
        if let Some(old) = self.next.remove(domain) {
            self.due.remove(&(old, domain.to_string()));
        }
        if let Some(next) = next {
            self.next.insert(domain.to_string(), next);
            self.due.insert((next, domain.to_string()));
        }
    }

    /// A hint from a commit: makes `domain` due no later than `next`. Hints may arrive out of
    /// order, so they never postpone or remove; a delivery run sets the truth when it ends.
    fn hint(&mut self, domain: &str, next: Option<u64>) {
        let Some(next) = next else { return };
        if self.busy.contains(domain) {
            return;
        }
        match self.next.get(domain) {
            Some(&old) if old <= next => {}
            _ => self.set(domain, Some(next)),
        }
    }

    fn earliest(&self) -> Option<u64> {
        self.due.first().map(|(t, _)| *t)
    }

    fn take_due(&mut self, now: u64) -> Option<String> {
        let (t, domain) = self.due.first()?.clone();
        if t > now {
            return None;
        }
        self.due.remove(&(t, domain.clone()));
        self.next.remove(&domain);
        self.busy.insert(domain.clone());
        Some(domain)
    }
}

/// Opens a [`Queue`]: where it lives and what it uses.
pub struct QueueBuilder {
    dir: PathBuf,
    settings: Settings,
    resolver: Option<Arc<dyn Resolver>>,
    clock: Arc<dyn Clock>,
    local: Option<Arc<dyn LocalDelivery>>,
    fetcher: Option<mtasts::Fetcher>,
    pkix_roots: Option<Arc<RootCertStore>>,
}

impl std::fmt::Debug for QueueBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueBuilder").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl QueueBuilder {
    /// The DNS resolver (required for delivery; a system resolver is used otherwise).
    pub fn resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The clock (default: the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Delivery to local accounts, for local recipient domains and DSNs.
    pub fn local_delivery(mut self, local: Arc<dyn LocalDelivery>) -> Self {
        self.local = Some(local);
        self
    }

    /// How MTA-STS policies are fetched (default: HTTPS to `mta-sts.<domain>` with the Mozilla
    /// roots).
    pub fn mtasts_fetcher(mut self, fetcher: mtasts::Fetcher) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// The roots for PKIX verification of MX hosts under MTA-STS and of smarthosts (default:
    /// the Mozilla roots; mox.conf `TLS.CA` adds to them).
    pub fn pkix_roots(mut self, roots: Arc<RootCertStore>) -> Self {
        self.pkix_roots = Some(roots);
        self
    }

    /// Opens the queue: creates the directory if needed, removes leftovers of an interrupted
    /// run and starts the database writer. Deliveries start with [`Queue::run`].
    pub fn open(self) -> Result<Queue, Error> {
        // One delivering process per queue: a second would deliver everything twice.
        std::fs::create_dir_all(&self.dir).map_err(Error::io(&self.dir, "create directory"))?;
        let lock_path = self.dir.join("queue.lock");
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(Error::io(&lock_path, "open lock file"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked { path: self.dir }),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, "lock")(e)),
        }
        self.open_inner(Some(lock))
    }

    /// Opens with the queue lock held (deliveries, cleanup of leftovers) or without (the
    /// operator's operations).
    fn open_inner(self, lock: Option<std::fs::File>) -> Result<Queue, Error> {
        let db = Arc::new(Db::open(&self.dir, lock.is_some())?);
        db.start_writer()?;
        let resolver = match self.resolver {
            Some(r) => r,
            None => Arc::new(dns::HickoryResolver::from_system_conf().map_err(|e| Error::Io {
                path: self.dir.clone(),
                op: "configure DNS resolver",
                source: std::io::Error::other(e.to_string()),
            })?),
        };
        let pkix_roots = self.pkix_roots.unwrap_or_else(|| {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            Arc::new(roots)
        });
        let inner = Inner {
            db,
            settings: RwLock::new(Arc::new(self.settings)),
            resolver,
            clock: self.clock,
            local: self.local,
            mtasts: MtaSts {
                cache: mtasts::PolicyCache::new(),
                fetcher: self.fetcher.unwrap_or_default(),
            },
            pkix_roots,
            counters: Counters::default(),
            stopping: AtomicBool::new(false),
            lock,
            sched: Mutex::new(Sched::default()),
            kick: Notify::new(),
        };
        let queue = Queue { inner: Arc::new(inner) };
        queue.resync()?;
        Ok(queue)
    }
}

impl Queue {
    /// Opens the queue in `dir` for the operator's operations ([`list`](Queue::list),
    /// [`kick`](Queue::kick), [`drop_entries`](Queue::drop_entries), [`dump`](Queue::dump))
    /// while another process may be delivering from it: LMDB coordinates the two, and the
    /// delivering process sees the changes at its next look at the schedule (within a
    /// minute). Nothing is delivered through this handle, and no files are cleaned up.
    pub fn open_admin(dir: impl Into<PathBuf>) -> Result<Queue, Error> {
        let hostname =
            dns::Domain::parse("localhost").map_err(|e| Error::InvalidFilter(e.to_string()))?;
        Queue::builder(dir, Settings::new(hostname))
            .resolver(Arc::new(dns::MockResolver::new()))
            .open_inner(None)
    }

    /// A builder for the queue in `dir` (mox: `<datadir>/queue`).
    pub fn builder(dir: impl Into<PathBuf>, settings: Settings) -> QueueBuilder {
        QueueBuilder {
            dir: dir.into(),
            settings,
            resolver: None,
            clock: Arc::new(SystemClock),
            local: None,
            fetcher: None,
            pkix_roots: None,
        }
    }

    /// The queue's directory.
    pub fn dir(&self) -> &Path {
        self.inner.db.dir()
    }

    /// The settings in use.
    pub fn settings(&self) -> Arc<Settings> {
        self.inner.settings()
    }

    /// Replaces the settings (configuration reloaded); deliveries in progress finish with the
    /// old ones.
    pub fn set_settings(&self, settings: Settings) {
        *self.inner.settings.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
        self.inner.kick.notify_one();
    }

    /// Counters since the queue was opened.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            connections: c.connections.load(Ordering::Relaxed),
            transactions: c.transactions.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dsns: c.dsns.load(Ordering::Relaxed),
        }
    }

    /// Adds a message: one entry per recipient domain, with the message file written and
    /// everything flushed to disk before this returns (so the SMTP server may answer 250).
    /// Returns the new entries' ids. Delivery starts at once (or at `hold_until`).
    pub async fn add(&self, message: NewMessage) -> Result<Vec<QueueId>, Error> {
        let (entries, data) = self.inner.prepare(message)?;
        self.inner.insert(entries, data).await
    }

    /// Runs deliveries until `shutdown` completes, then waits (up to 10 seconds) for those in
    /// progress. Deliveries that were interrupted are attempted again after a restart.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        self.inner.clone().run(shutdown).await
    }

    /// The entry with this id.
    pub fn entry(&self, id: QueueId) -> Result<Entry, Error> {
        self.inner.db.get(id)?.ok_or(Error::NotFound(id.0))
    }

    /// How many entries the queue holds.
    pub fn len(&self) -> Result<u64, Error> {
        self.inner.db.count()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }

    /// The entries matching `filter`, by next attempt then id.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::new();
        self.inner.db.for_each(|entry| {
            if filter.matches(&entry) {
                out.push(entry);
            }
            true
        })?;
        out.sort_by_key(|e| (e.next_attempt, e.id));
        Ok(out)
    }

    /// Schedules the matching entries for immediate delivery (mox `queue kick`, `queue schedule
    /// -now 0`); returns how many.
    pub async fn kick(&self, filter: &Filter) -> Result<usize, Error> {
        let now = unix_ms(self.inner.clock.now());
        let ops: Vec<Op> = self
            .list(filter)?
            .into_iter()
            .map(|mut entry| {
                entry.next_attempt = now;
                Op::Update(Box::new(entry))
            })
            .collect();
        let n = ops.len();
        let committed = self.inner.db.commit(ops, Vec::new()).await?;
        self.inner.after_commit(&committed);
        Ok(n - committed.missing.len())
    }

    /// Removes the matching entries and their messages without DSNs (mox `queue drop`);
    /// returns how many.
    pub async fn drop_entries(&self, filter: &Filter) -> Result<usize, Error> {
        let ops: Vec<Op> =
            self.list(filter)?.into_iter().map(|entry| Op::Delete(entry.id)).collect();
        let n = ops.len();
        for op in &ops {
            if let Op::Delete(id) = op {
                tracing::info!(id = id.0, "queue: dropping entry (operator)");
            }
        }
        let committed = self.inner.db.commit(ops, Vec::new()).await?;
        self.inner.after_commit(&committed);
        Ok(n)
    }

    /// The message of an entry as queued (mox `queue dump`).
    pub fn dump(&self, id: QueueId) -> Result<Vec<u8>, Error> {
        self.entry(id)?;
        let path = self.inner.db.message_path(id);
        std::fs::read(&path).map_err(Error::io(&path, "read message file"))
    }

    /// The TLS results recorded for TLSRPT.
    pub fn tls_results(&self) -> Result<Vec<TlsResultRecord>, Error> {
        self.inner.db.tls_results()
    }

    /// Re-reads from the database which domains have due entries.
    pub fn resync(&self) -> Result<(), Error> {
        let schedule = self.inner.db.domain_schedule()?;
        let mut sched = self.inner.sched();
        let busy = std::mem::take(&mut sched.busy);
        *sched = Sched { busy, ..Sched::default() };
        for (domain, next) in schedule {
            if !sched.busy.contains(&domain) {
                sched.set(&domain, Some(next));
            }
        }
        drop(sched);
        self.inner.kick.notify_one();
        Ok(())
    }
}

impl Inner {
    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.settings.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn sched(&self) -> std::sync::MutexGuard<'_, Sched> {
        self.sched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        unix_ms(self.clock.now())
    }

    /// Builds the entries of a new message (not stored yet).
    pub(crate) fn prepare(&self, message: NewMessage) -> Result<(Vec<Entry>, Vec<u8>), Error> {
        if message.recipients.is_empty() {
            return Err(Error::NoRecipients);
        }
        if message.data.is_empty() {
            return Err(Error::EmptyMessage);
        }
        let settings = self.settings();
        if let Some(name) = &message.transport
            && !settings.transports.contains_key(name)
        {
            return Err(Error::UnknownTransport(name.clone()));
        }
        let now = self.clock.now();
        let mut next_attempt = now;
        if let Some(until) = message.hold_until {
            let ahead = until.duration_since(now).unwrap_or(Duration::ZERO);
            if ahead > settings.max_hold {
                return Err(Error::HoldTooLong {
                    requested_secs: ahead.as_secs(),
                    max_secs: settings.max_hold.as_secs(),
                });
            }
            next_attempt = next_attempt.max(until);
        }
        let info = MessageInfo::of(&message.data);
        let require_tls = match message.require_tls {
            Some(v) => Some(v),
            None if info.tls_required_no => Some(false),
            None => None,
        };
        let smtputf8 = info.has_8bit_header
            || message
                .sender
                .as_ref()
                .is_some_and(|a| !a.localpart.is_ascii() || a.domain.is_internationalized())
            || message.recipients.iter().any(|r| {
                !r.address.localpart.is_ascii()
                    || r.address.destination.domain().is_some_and(|d| d.is_internationalized())
            });
        let mut by_domain: BTreeMap<String, Vec<EntryRecipient>> = BTreeMap::new();
        let mut order = Vec::new();
        for r in &message.recipients {
            let key = r.address.destination.key();
            if !by_domain.contains_key(&key) {
                order.push(key.clone());
            }
            let list = by_domain.entry(key).or_default();
            let address = r.address.to_string();
            if list.iter().any(|e| e.address == address) {
                continue; // The same recipient twice gets the message once.
            }
            list.push(EntryRecipient {
                address,
                notify: r.notify,
                orcpt: r.orcpt.clone(),
                state: RecipientState::Pending,
                code: 0,
                secode: String::new(),
                error: String::new(),
            });
        }
        let entries = order
            .into_iter()
            .map(|domain| {
                let recipients = by_domain.remove(&domain).unwrap_or_default();
                Entry {
                    id: self.db.allocate_id(),
                    queued: unix_ms(now),
                    account: message.account.clone(),
                    sender: message.sender.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                    domain,
                    recipients,
                    attempts: 0,
                    max_attempts: settings.max_attempts,
                    next_attempt: unix_ms(next_attempt),
                    last_attempt: None,
                    hold: false,
                    transport: message.transport.clone(),
                    require_tls,
                    envid: message.envid.clone(),
                    ret: message.ret,
                    future_release_request: message.future_release_request.clone(),
                    size: message.data.len() as u64,
                    has_8bit: info.has_8bit,
                    smtputf8,
                    message_id: info.message_id.clone(),
                    subject: info.subject.clone(),
                    delay_dsn_sent: false,
                    dialed_ips: BTreeMap::new(),
                    results: Vec::new(),
                    dsn_account: None,
                }
            })
            .collect();
        Ok((entries, message.data))
    }

    /// Writes the message file (linked for each entry) and commits the entries durably.
    pub(crate) async fn insert(
        &self,
        entries: Vec<Entry>,
        data: Vec<u8>,
    ) -> Result<Vec<QueueId>, Error> {
        let (ops, dirs) = self.insert_ops(entries, data).await?;
        let ids: Vec<QueueId> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Insert { entry, .. } => Some(entry.id),
                _ => None,
            })
            .collect();
        match self.db.commit(ops, dirs).await {
            Ok(committed) => {
                self.after_commit(&committed);
                for id in &ids {
                    tracing::debug!(id = id.0, "queue: message added");
                }
                Ok(ids)
            }
            Err(e) => {
                for id in &ids {
                    let _ = std::fs::remove_file(self.db.message_path(*id));
                }
                Err(e)
            }
        }
    }

    /// The operations (and directories to flush) that store new entries sharing one message.
    pub(crate) async fn insert_ops(
        &self,
        entries: Vec<Entry>,
        data: Vec<u8>,
    ) -> Result<(Vec<Op>, Vec<PathBuf>), Error> {
        let db = self.db.clone();
        let written = tokio::task::spawn_blocking(move || -> Result<_, Error> {
            let mut dirs = Vec::new();
            let mut ops = Vec::new();
            let first = entries.first().map(|e| e.id);
            for entry in entries {
                let (epoch, new_dirs) = match first {
                    Some(first) if first != entry.id => db.link_message(first, entry.id)?,
                    _ => db.write_message(entry.id, &data)?,
                };
                dirs.extend(new_dirs);
                let file = db.message_path(entry.id);
                ops.push(Op::Insert { entry: Box::new(entry), file, written_at: epoch });
            }
            Ok((ops, dirs))
        })
        .await
        .map_err(|e| Error::Io {
            path: self.db.dir().to_path_buf(),
            op: "write message",
            source: std::io::Error::other(e.to_string()),
        })??;
        Ok(written)
    }

    /// Tells the scheduler what a commit changed.
    pub(crate) fn after_commit(&self, committed: &Committed) {
        let mut sched = self.sched();
        for (domain, next) in &committed.domains {
            sched.hint(domain, *next);
        }
        drop(sched);
        self.kick.notify_one();
    }

    async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        self.stopping.store(false, Ordering::Relaxed);
        let mut workers: JoinSet<String> = JoinSet::new();
        let mut resync = tokio::time::interval(RESYNC_INTERVAL);
        resync.tick().await;
        tokio::pin!(shutdown);
        loop {
            let max = self.settings().max_concurrent_deliveries.max(1);
            let now = self.now_ms();
            while workers.len() < max {
                let Some(domain) = self.sched().take_due(now) else { break };
                let inner = self.clone();
                workers.spawn(async move {
                    deliver::deliver_domain(&inner, &domain).await;
                    domain
                });
            }
            let earliest = if workers.len() < max { self.sched().earliest() } else { None };
            let sleep = match earliest {
                Some(t) => self.clock.sleep_until(from_unix_ms(t)),
                None => Box::pin(std::future::pending()),
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.kick.notified() => {}
                _ = sleep => {}
                Some(done) = workers.join_next() => self.worker_done(done),
                _ = resync.tick() => {
                    let queue = Queue { inner: self.clone() };
                    if let Err(e) = queue.resync() {
                        tracing::error!(error = %e, "queue: reading the schedule");
                    }
                }
            }
        }
        self.stopping.store(true, Ordering::Relaxed);
        let drain = async {
            while let Some(done) = workers.join_next().await {
                self.worker_done(done);
            }
        };
        if tokio::time::timeout(STOP_GRACE, drain).await.is_err() {
            tracing::info!(
                "queue: stopping deliveries still in progress; they are retried after a restart"
            );
            workers.abort_all();
        }
    }

    fn worker_done(&self, done: Result<String, tokio::task::JoinError>) {
        let domain = match done {
            Ok(domain) => domain,
            Err(e) => {
                // A panic in a delivery is a bug; its domain is picked up at the next resync.
                tracing::error!(error = %e, "queue: delivery task failed");
                return;
            }
        };
        let next = match self.db.earliest(&domain) {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(%domain, error = %e, "queue: reading schedule");
                Some(self.now_ms() + 60_000)
            }
        };
        let mut sched = self.sched();
        sched.busy.remove(&domain);
        sched.set(&domain, next);
    }
}

/// What the queue wants to know about a message's content.
#[derive(Debug, Default)]
pub(crate) struct MessageInfo {
    pub(crate) has_8bit: bool,
    pub(crate) has_8bit_header: bool,
    pub(crate) message_id: String,
    pub(crate) subject: String,
    pub(crate) tls_required_no: bool,
}

impl MessageInfo {
    pub(crate) fn of(data: &[u8]) -> MessageInfo {
        let header = message::Header::parse(data);
        let header_end = header.body_offset().min(data.len());
        let value =
            |name: &str| header.value(name).map(|v| v.trim().to_string()).unwrap_or_default();
        MessageInfo {
            has_8bit: data.iter().any(|b| *b >= 0x80),
            has_8bit_header: data[..header_end].iter().any(|b| *b >= 0x80),
            message_id: value("message-id"),
            subject: value("subject").chars().take(200).collect(),
            // RFC 8689 §5: "TLS-Required: No" asks to deliver even if TLS policies fail.
            tls_required_no: header
                .get_all("tls-required")
                .any(|f| f.value().trim().eq_ignore_ascii_case("no")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_hints_never_postpone() {
        let mut s = Sched::default();
        s.hint("a", Some(10));
        s.hint("a", Some(20));
        assert_eq!(s.earliest(), Some(10));
        s.hint("a", None);
        assert_eq!(s.earliest(), Some(10));
        s.hint("b", Some(5));
        assert_eq!(s.take_due(4), None);
        assert_eq!(s.take_due(5).as_deref(), Some("b"));
        assert!(s.busy.contains("b"));
        s.hint("b", Some(1)); // busy: ignored, the run sets the truth when done
        assert_eq!(s.earliest(), Some(10));
        s.set("a", None);
        assert_eq!(s.earliest(), None);
    }

    #[test]
    fn one_delivering_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            Queue::builder(dir.path(), Settings::new(dns::Domain::parse("x.example").unwrap()))
                .resolver(Arc::new(dns::MockResolver::new()))
                .open()
        };
        let first = open().unwrap();
        assert!(matches!(open(), Err(Error::Locked { .. })));
        // LMDB allows one environment per path and process (heed refuses a second), so the
        // operator's handle is opened here after the delivering one is gone; beside a running
        // server it is another process (the `mox queue` command tests).
        drop(first);
        let admin = Queue::open_admin(dir.path()).unwrap();
        assert!(admin.is_empty().unwrap());
        drop(admin);
        let _again = open().unwrap();
    }

    #[test]
    fn message_info() {
        let info = MessageInfo::of(
            b"Subject: caf\xc3\xa9\r\nMessage-ID: <a@b>\r\nTLS-Required: no\r\n\r\nbody\r\n",
        );
        assert!(info.has_8bit && info.has_8bit_header && info.tls_required_no);
        assert_eq!(info.message_id, "<a@b>");
        assert_eq!(info.subject, "café");
        let info = MessageInfo::of(b"Subject: x\r\n\r\nb\xc3\xa9\r\n");
        assert!(info.has_8bit && !info.has_8bit_header && !info.tls_required_no);
    }
}
