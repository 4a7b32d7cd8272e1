//! Where the queue keeps its entries: an LMDB environment (heed) in `<queue>/index/` beside
//! the message files in `<queue>/msg/<id / 4096>/<id>`.
//!
//! Tables:
//! - `entries`: id (8 bytes big-endian) → [`Entry`] as JSON (fields can be added without
//!   migrating);
//! - `schedule`: `domain NUL next_attempt id` → nothing, for entries that are due some time
//!   (not held, recipients pending), so a domain's due entries are one range scan;
//! - `tlsresults`: TLS outcomes for TLSRPT, see [`crate::tlsresults`];
//! - `meta`: the format version and the next id.
//!
//! # Durability
//!
//! All writes go through one writer thread that commits everything waiting in one LMDB
//! transaction (group commit): a commit costs two flushes, so committing each change alone
//! would cap the queue at a few hundred changes per second. New message files are written by
//! their callers and made durable by the writer, with one `syncfs` for the batch, before the
//! transaction that makes their entries visible commits; the directories holding new names are
//! flushed as part of that. A caller whose change must be durable before it answers (adding a
//! message before the SMTP 250) awaits the commit.
//!
//! After a crash, message files without an entry (written, but their transaction never
//! committed) are removed when the queue is opened; files of removed entries that a crash left
//! behind go the same way.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

use heed::types::Bytes;
use heed::{CommitOrAbort, EnvOpenOptions, RoTxn, RwTxn, WithoutTls};
use tokio::sync::oneshot;

use crate::entry::{Entry, QueueId};
use crate::error::Error;
use crate::tlsresults::TlsResultRecord;

type Table = heed::Database<'static, Bytes, Bytes>;
type Env = heed::Env<WithoutTls>;

const MAP_SIZE: usize = 16 << 30;
const FORMAT_VERSION: u32 = 1;
const META_VERSION: &[u8] = b"version";
const META_NEXT_ID: &[u8] = b"next_id";
const TABLES: [&str; 4] = ["entries", "schedule", "tlsresults", "meta"];

/// Message files per subdirectory of `msg/`.
pub(crate) const FILES_PER_DIR: u64 = 4096;

/// The most jobs the writer commits in one transaction.
const MAX_BATCH: usize = 4096;

/// A change to the queue.
#[derive(Debug)]
pub(crate) enum Op {
    /// A new entry; its message file was written (not yet flushed) at `file`.
    Insert { entry: Box<Entry>, file: PathBuf, written_at: u64 },
    /// A changed entry; skipped when the entry is gone (dropped meanwhile).
    Update(Box<Entry>),
    /// Remove an entry and its message file.
    Delete(QueueId),
    /// TLS results to add to the stored counts.
    TlsResults(Vec<TlsResultRecord>),
}

/// What a commit did, for the scheduler.
#[derive(Debug, Default)]
pub(crate) struct Committed {
    /// For each domain a change touched: its earliest due time now (`None`: nothing due).
    pub(crate) domains: Vec<(String, Option<u64>)>,
    /// Updates skipped because the entry was gone.
    pub(crate) missing: Vec<QueueId>,
}

struct Job {
    ops: Vec<Op>,
    dirs: Vec<PathBuf>,
    done: oneshot::Sender<Result<Committed, String>>,
}

#[derive(Clone, Copy)]
struct Tables {
    entries: Table,
    schedule: Table,
    tls: Table,
    meta: Table,
}

pub(crate) struct Db {
    dir: PathBuf,
    env: Env,
    tables: Tables,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    next_id: AtomicU64,
    known_subdirs: Mutex<HashSet<u64>>,
    file_sync: FileSync,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (creating if needed) the queue in `dir`; with `cleanup` (the delivering process,
    /// holding the queue lock) removes message files without entries.
    pub(crate) fn open(dir: &Path, cleanup: bool) -> Result<Db, Error> {
        let index = dir.join("index");
        for d in [dir.to_path_buf(), index.clone(), dir.join("msg")] {
            fs::create_dir_all(&d).map_err(Error::io(&d, "create directory"))?;
        }
        let env = open_env(&index)?;
        let dberr = |op| Error::db(&index, op);
        let wtxn = env.write_txn().map_err(dberr("begin write transaction"))?;
        let opened = env
            .create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, heed::Error> {
                let mut out = Vec::new();
                for name in TABLES {
                    out.push(dbo.create_database::<Bytes, Bytes>(wtxn, Some(name))?);
                }
                let tables: [_; 4] = out.try_into().map_err(|_| heed::Error::EnvAlreadyOpened)?;
                Ok(CommitOrAbort::<_, ()>::Commit(tables))
            })
            .map_err(dberr("create tables"))?;
        let CommitOrAbort::Commit(t) = opened else {
            return Err(Error::Corrupt { id: 0, reason: "cannot create tables".into() });
        };
        let tables = Tables { entries: t[0], schedule: t[1], tls: t[2], meta: t[3] };

        let mut wtxn = env.write_txn().map_err(dberr("begin write transaction"))?;
        let version = tables.meta.get(&wtxn, META_VERSION).map_err(dberr("read meta"))?;
        match version.and_then(read_u32) {
            None => {
                tables
                    .meta
                    .put(&mut wtxn, META_VERSION, &FORMAT_VERSION.to_be_bytes())
                    .map_err(dberr("write meta"))?;
            }
            Some(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(Error::UnsupportedVersion {
                    path: index,
                    found,
                    supported: FORMAT_VERSION,
                });
            }
        }
        let stored_next = tables
            .meta
            .get(&wtxn, META_NEXT_ID)
            .map_err(dberr("read meta"))?
            .and_then(read_u64)
            .unwrap_or(1);
        let last = tables
            .entries
            .last(&wtxn)
            .map_err(dberr("read entries"))?
            .and_then(|(k, _)| read_u64(k))
            .unwrap_or(0);
        wtxn.commit().map_err(dberr("commit"))?;

        let file_sync = FileSync::open(dir)?;
        let db = Db {
            dir: dir.to_path_buf(),
            env,
            tables,
            writer: Mutex::new(None),
            writer_thread: Mutex::new(None),
            next_id: AtomicU64::new(stored_next.max(last + 1)),
            known_subdirs: Mutex::new(HashSet::new()),
            file_sync,
        };
        if cleanup {
            db.remove_orphan_files()?;
        }
        Ok(db)
    }

    /// Starts the writer thread (done once, by [`crate::Queue`] after wrapping the `Db` in an
    /// `Arc`).
    pub(crate) fn start_writer(self: &std::sync::Arc<Db>) -> Result<(), Error> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let db = std::sync::Arc::downgrade(self);
        let thread = std::thread::Builder::new()
            .name("queue-writer".into())
            .spawn(move || writer_loop(db, receiver))
            .map_err(Error::io(&self.dir, "start writer thread"))?;
        *lock(&self.writer) = Some(sender);
        *lock(&self.writer_thread) = Some(thread);
        Ok(())
    }

    /// Stops the writer after the changes already handed to it; waits for it.
    pub(crate) fn stop_writer(&self) {
        lock(&self.writer).take();
        if let Some(thread) = lock(&self.writer_thread).take() {
            // The last reference may be dropped by the writer itself, after a commit.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh entry id.
    pub(crate) fn allocate_id(&self) -> QueueId {
        QueueId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Where the message of entry `id` is.
    pub(crate) fn message_path(&self, id: QueueId) -> PathBuf {
        self.dir.join("msg").join((id.0 / FILES_PER_DIR).to_string()).join(id.0.to_string())
    }

    /// Writes the message file of a new entry (not flushed: the writer does that before the
    /// entry commits). Returns the write-back epoch to hand to [`Op::Insert`] and the
    /// directories whose entries must be flushed.
    pub(crate) fn write_message(
        &self,
        id: QueueId,
        data: &[u8],
    ) -> Result<(u64, Vec<PathBuf>), Error> {
        let epoch = self.file_sync.epoch();
        let dirs = self.ensure_subdir(id)?;
        let path = self.message_path(id);
        let mut file = File::create(&path).map_err(Error::io(&path, "create message file"))?;
        file.write_all(data).map_err(Error::io(&path, "write message file"))?;
        Ok((epoch, dirs))
    }

    /// Gives entry `to` the message file of entry `from` (a hard link; a copy where links do
    /// not work).
    pub(crate) fn link_message(
        &self,
        from: QueueId,
        to: QueueId,
    ) -> Result<(u64, Vec<PathBuf>), Error> {
        let epoch = self.file_sync.epoch();
        let dirs = self.ensure_subdir(to)?;
        let (src, dst) = (self.message_path(from), self.message_path(to));
        if fs::hard_link(&src, &dst).is_err() {
            fs::copy(&src, &dst).map_err(Error::io(&dst, "copy message file"))?;
        }
        Ok((epoch, dirs))
    }

    fn ensure_subdir(&self, id: QueueId) -> Result<Vec<PathBuf>, Error> {
        let n = id.0 / FILES_PER_DIR;
        let msg = self.dir.join("msg");
        let sub = msg.join(n.to_string());
        if lock(&self.known_subdirs).contains(&n) {
            return Ok(vec![sub]);
        }
        let created = match fs::create_dir(&sub) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::io(&sub, "create directory")(e)),
        };
        lock(&self.known_subdirs).insert(n);
        // A new directory's own name must be flushed too, in its parent.
        Ok(if created { vec![sub, msg] } else { vec![sub] })
    }

    /// Hands changes to the writer; the returned receiver says when they are committed.
    pub(crate) fn submit(
        &self,
        ops: Vec<Op>,
        dirs: Vec<PathBuf>,
    ) -> oneshot::Receiver<Result<Committed, String>> {
        let (done, receiver) = oneshot::channel();
        let job = Job { ops, dirs, done };
        if let Some(writer) = lock(&self.writer).as_ref() {
            // A failed send drops the job and its sender: the receiver reports it.
            let _ = writer.send(job);
        }
        receiver
    }

    /// Commits changes and waits until they are durable.
    pub(crate) async fn commit(
        &self,
        ops: Vec<Op>,
        dirs: Vec<PathBuf>,
    ) -> Result<Committed, Error> {
        match self.submit(ops, dirs).await {
            Ok(Ok(committed)) => Ok(committed),
            Ok(Err(message)) => Err(Error::Io {
                path: self.dir.clone(),
                op: "commit",
                source: io::Error::other(message),
            }),
            Err(_) => Err(Error::WriterStopped),
        }
    }

    fn read(&self) -> Result<RoTxn<'_, WithoutTls>, Error> {
        self.env.read_txn().map_err(Error::db(&self.dir, "begin read transaction"))
    }

    /// The entry with this id.
    pub(crate) fn get(&self, id: QueueId) -> Result<Option<Entry>, Error> {
        let rtxn = self.read()?;
        let value = self
            .tables
            .entries
            .get(&rtxn, &id.0.to_be_bytes())
            .map_err(Error::db(&self.dir, "read entry"))?;
        value.map(|v| Entry::decode(id.0, v)).transpose()
    }

    /// Entries of `domain` due at `now_ms`, earliest first, at most `limit`.
    pub(crate) fn due(&self, domain: &str, now_ms: u64, limit: usize) -> Result<Vec<Entry>, Error> {
        let rtxn = self.read()?;
        let prefix = domain_prefix(domain);
        let iter = self
            .tables
            .schedule
            .prefix_iter(&rtxn, &prefix)
            .map_err(Error::db(&self.dir, "read schedule"))?;
        let mut out = Vec::new();
        for item in iter {
            let (key, _) = item.map_err(Error::db(&self.dir, "read schedule"))?;
            let Some((next, id)) = parse_schedule_key(&key[prefix.len()..]) else { continue };
            if next > now_ms || out.len() >= limit {
                break;
            }
            let value = self
                .tables
                .entries
                .get(&rtxn, &id.to_be_bytes())
                .map_err(Error::db(&self.dir, "read entry"))?;
            if let Some(value) = value {
                out.push(Entry::decode(id, value)?);
            }
        }
        Ok(out)
    }

    /// When the earliest entry of `domain` is due, if any is scheduled.
    pub(crate) fn earliest(&self, domain: &str) -> Result<Option<u64>, Error> {
        let rtxn = self.read()?;
        earliest_in(&self.tables, &rtxn, domain).map_err(Error::db(&self.dir, "read schedule"))
    }

    /// Every domain with scheduled entries and its earliest due time.
    pub(crate) fn domain_schedule(&self) -> Result<BTreeMap<String, u64>, Error> {
        let rtxn = self.read()?;
        let mut out = BTreeMap::new();
        let iter =
            self.tables.schedule.iter(&rtxn).map_err(Error::db(&self.dir, "read schedule"))?;
        let mut last_domain: Option<Vec<u8>> = None;
        for item in iter {
            let (key, _) = item.map_err(Error::db(&self.dir, "read schedule"))?;
            let Some(nul) = key.iter().position(|&b| b == 0) else { continue };
            let domain = &key[..nul];
            if last_domain.as_deref() == Some(domain) {
                continue;
            }
            last_domain = Some(domain.to_vec());
            if let Some((next, _)) = parse_schedule_key(&key[nul + 1..]) {
                out.insert(String::from_utf8_lossy(domain).into_owned(), next);
            }
        }
        Ok(out)
    }

    /// Calls `f` for every entry, in id order, until it returns false.
    pub(crate) fn for_each(&self, mut f: impl FnMut(Entry) -> bool) -> Result<(), Error> {
        let rtxn = self.read()?;
        let iter = self.tables.entries.iter(&rtxn).map_err(Error::db(&self.dir, "read entries"))?;
        for item in iter {
            let (key, value) = item.map_err(Error::db(&self.dir, "read entries"))?;
            let id = read_u64(key).unwrap_or(0);
            if !f(Entry::decode(id, value)?) {
                break;
            }
        }
        Ok(())
    }

    /// How many entries there are.
    pub(crate) fn count(&self) -> Result<u64, Error> {
        let rtxn = self.read()?;
        self.tables.entries.len(&rtxn).map_err(Error::db(&self.dir, "count entries"))
    }

    /// The stored TLS results.
    pub(crate) fn tls_results(&self) -> Result<Vec<TlsResultRecord>, Error> {
        let rtxn = self.read()?;
        let mut out = Vec::new();
        let iter = self.tables.tls.iter(&rtxn).map_err(Error::db(&self.dir, "read tls results"))?;
        for item in iter {
            let (_, value) = item.map_err(Error::db(&self.dir, "read tls results"))?;
            if let Ok(record) = serde_json::from_slice(value) {
                out.push(record);
            }
        }
        Ok(out)
    }

    fn remove_orphan_files(&self) -> Result<(), Error> {
        let msg = self.dir.join("msg");
        let rtxn = self.read()?;
        let subdirs = fs::read_dir(&msg).map_err(Error::io(&msg, "list directory"))?;
        let mut removed = 0;
        for sub in subdirs.flatten() {
            let Some(n) = sub.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            lock(&self.known_subdirs).insert(n);
            let Ok(files) = fs::read_dir(sub.path()) else { continue };
            for file in files.flatten() {
                let id = file.file_name().to_str().and_then(|s| s.parse::<u64>().ok());
                let exists = match id {
                    Some(id) => self
                        .tables
                        .entries
                        .get(&rtxn, &id.to_be_bytes())
                        .map_err(Error::db(&self.dir, "read entry"))?
                        .is_some(),
                    None => true, // Not ours to remove.
                };
                if !exists {
                    let _ = fs::remove_file(file.path());
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "queue: removed message files without entry (left by an interrupted add or removal)"
            );
        }
        Ok(())
    }

    fn apply(
        &self,
        wtxn: &mut RwTxn<'_>,
        op: Op,
        effects: &mut Effects,
    ) -> Result<(), heed::Error> {
        let t = &self.tables;
        match op {
            Op::Insert { entry, .. } => {
                let key = entry.id.0.to_be_bytes();
                if let Some(old) = t.entries.get(wtxn, &key)?
                    && let Ok(old) = Entry::decode(entry.id.0, old)
                {
                    unschedule(t, wtxn, &old, effects)?;
                }
                t.entries.put(wtxn, &key, &entry.encode())?;
                schedule(t, wtxn, &entry, effects)?;
                effects.max_id = effects.max_id.max(entry.id.0);
            }
            Op::Update(entry) => {
                let key = entry.id.0.to_be_bytes();
                let Some(old) = t.entries.get(wtxn, &key)? else {
                    effects.missing.push(entry.id);
                    return Ok(());
                };
                if let Ok(old) = Entry::decode(entry.id.0, old) {
                    unschedule(t, wtxn, &old, effects)?;
                }
                t.entries.put(wtxn, &key, &entry.encode())?;
                schedule(t, wtxn, &entry, effects)?;
            }
            Op::Delete(id) => {
                let key = id.0.to_be_bytes();
                if let Some(old) = t.entries.get(wtxn, &key)? {
                    if let Ok(old) = Entry::decode(id.0, old) {
                        unschedule(t, wtxn, &old, effects)?;
                    }
                    t.entries.delete(wtxn, &key)?;
                    effects.remove_files.push(self.message_path(id));
                }
            }
            Op::TlsResults(records) => {
                for record in records {
                    let key = record.key();
                    let merged = match t.tls.get(wtxn, key.as_bytes())? {
                        Some(old) => match serde_json::from_slice::<TlsResultRecord>(old) {
                            Ok(mut old) => {
                                old.merge(&record);
                                old
                            }
                            Err(_) => record,
                        },
                        None => record,
                    };
                    let value = serde_json::to_vec(&merged).unwrap_or_default();
                    t.tls.put(wtxn, key.as_bytes(), &value)?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.stop_writer();
    }
}

#[derive(Default)]
struct Effects {
    domains: BTreeSet<String>,
    missing: Vec<QueueId>,
    remove_files: Vec<PathBuf>,
    max_id: u64,
}

fn schedule_key(entry: &Entry) -> Vec<u8> {
    let mut key = domain_prefix(&entry.domain);
    key.extend_from_slice(&entry.next_attempt.to_be_bytes());
    key.extend_from_slice(&entry.id.0.to_be_bytes());
    key
}

fn domain_prefix(domain: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(domain.len() + 17);
    key.extend_from_slice(domain.as_bytes());
    key.push(0);
    key
}

fn parse_schedule_key(rest: &[u8]) -> Option<(u64, u64)> {
    Some((read_u64(rest.get(..8)?)?, read_u64(rest.get(8..16)?)?))
}

fn schedule(
    t: &Tables,
    wtxn: &mut RwTxn<'_>,
    entry: &Entry,
    fx: &mut Effects,
) -> Result<(), heed::Error> {
    fx.domains.insert(entry.domain.clone());
    if entry.is_schedulable() {
        t.schedule.put(wtxn, &schedule_key(entry), &[])?;
    }
    Ok(())
}

fn unschedule(
    t: &Tables,
    wtxn: &mut RwTxn<'_>,
    entry: &Entry,
    fx: &mut Effects,
) -> Result<(), heed::Error> {
    fx.domains.insert(entry.domain.clone());
    t.schedule.delete(wtxn, &schedule_key(entry))?;
    Ok(())
}

fn earliest_in(t: &Tables, rtxn: &RoTxn<'_>, domain: &str) -> Result<Option<u64>, heed::Error> {
    let prefix = domain_prefix(domain);
    let mut iter = t.schedule.prefix_iter(rtxn, &prefix)?;
    match iter.next() {
        Some(item) => {
            let (key, _) = item?;
            Ok(parse_schedule_key(&key[prefix.len()..]).map(|(next, _)| next))
        }
        None => Ok(None),
    }
}

fn writer_loop(db: std::sync::Weak<Db>, receiver: mpsc::Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let Some(db) = db.upgrade() else {
            for job in jobs {
                let _ = job.done.send(Err("queue closed".into()));
            }
            return;
        };
        let result = db.commit_batch(&mut jobs);
        tracing::trace!(
            jobs = jobs.len(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "queue: committed"
        );
        for (job, outcome) in jobs.into_iter().zip(result) {
            let _ = job.done.send(outcome);
        }
    }
}

impl Db {
    /// Flushes the new files and directories of `jobs`, applies all their changes in one
    /// transaction and commits it. Returns one outcome per job.
    fn commit_batch(&self, jobs: &mut [Job]) -> Vec<Result<Committed, String>> {
        let count = jobs.len();
        let fail = |message: String| (0..count).map(|_| Err(message.clone())).collect();
        let mut files = Vec::new();
        let mut dirs = BTreeSet::new();
        let mut epoch = u64::MAX;
        for job in jobs.iter() {
            dirs.extend(job.dirs.iter().cloned());
            for op in &job.ops {
                if let Op::Insert { file, written_at, .. } = op {
                    files.push(file.clone());
                    epoch = epoch.min(*written_at);
                }
            }
        }
        if (!files.is_empty() || !dirs.is_empty())
            && let Err(e) =
                self.file_sync.sync(&files, &dirs.into_iter().collect::<Vec<_>>(), epoch)
        {
            return fail(e.to_string());
        }

        let mut effects = Effects::default();
        let mut per_job_domains: Vec<BTreeSet<String>> = Vec::with_capacity(jobs.len());
        let mut per_job_missing: Vec<Vec<QueueId>> = Vec::with_capacity(jobs.len());
        let mut wtxn = match self.env.write_txn() {
            Ok(t) => t,
            Err(e) => return fail(format!("begin write transaction: {e}")),
        };
        for job in jobs.iter_mut() {
            let mut fx = Effects::default();
            for op in std::mem::take(&mut job.ops) {
                if let Err(e) = self.apply(&mut wtxn, op, &mut fx) {
                    return fail(format!("write: {e}"));
                }
            }
            per_job_domains.push(fx.domains.clone());
            per_job_missing.push(std::mem::take(&mut fx.missing));
            effects.domains.extend(fx.domains);
            effects.remove_files.extend(fx.remove_files);
            effects.max_id = effects.max_id.max(fx.max_id);
        }
        if effects.max_id > 0 {
            let next = self.next_id.load(Ordering::Relaxed).max(effects.max_id + 1);
            if let Err(e) = self.tables.meta.put(&mut wtxn, META_NEXT_ID, &next.to_be_bytes()) {
                return fail(format!("write meta: {e}"));
            }
        }
        let mut earliest = BTreeMap::new();
        for domain in &effects.domains {
            match earliest_in(&self.tables, &wtxn, domain) {
                Ok(next) => {
                    earliest.insert(domain.clone(), next);
                }
                Err(e) => return fail(format!("read schedule: {e}")),
            }
        }
        if let Err(e) = wtxn.commit() {
            return fail(format!("commit: {e}"));
        }
        for path in effects.remove_files {
            // Not flushed: a file that comes back after a crash has no entry and is removed
            // at the next open.
            let _ = fs::remove_file(path);
        }
        per_job_domains
            .into_iter()
            .zip(per_job_missing)
            .map(|(domains, missing)| {
                Ok(Committed {
                    domains: domains
                        .into_iter()
                        .map(|d| {
                            let next = earliest.get(&d).copied().flatten();
                            (d, next)
                        })
                        .collect(),
                    missing,
                })
            })
            .collect()
    }
}

/// Makes new files durable: one `syncfs` on Linux (see `store::files` for the measurements
/// and the write-back error bookkeeping this copies), an fsync each elsewhere.
#[derive(Debug)]
struct FileSync {
    dir: PathBuf,
    fd: File,
    errors: Mutex<u64>,
}

impl FileSync {
    fn open(dir: &Path) -> Result<FileSync, Error> {
        let fd = File::open(dir).map_err(Error::io(dir, "open directory"))?;
        Ok(FileSync { dir: dir.to_path_buf(), fd, errors: Mutex::new(0) })
    }

    fn epoch(&self) -> u64 {
        *self.errors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sync(&self, files: &[PathBuf], dirs: &[PathBuf], written_at: u64) -> Result<(), Error> {
        if !cfg!(target_os = "linux") {
            for f in files {
                File::open(f).and_then(|f| f.sync_all()).map_err(Error::io(f, "fsync file"))?;
            }
            for d in dirs {
                File::open(d)
                    .and_then(|d| d.sync_all())
                    .map_err(Error::io(d, "fsync directory"))?;
            }
            return Ok(());
        }
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = syncfs(&self.fd) {
            *errors += 1;
            return Err(Error::io(&self.dir, "syncfs")(e));
        }
        if *errors > written_at {
            let e = io::Error::other("a write-back error was reported after the file was written");
            return Err(Error::io(&self.dir, "syncfs")(e));
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn syncfs(fd: &File) -> io::Result<()> {
    rustix::fs::syncfs(fd).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn syncfs(_: &File) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[allow(unsafe_code)]
fn open_env(dir: &Path) -> Result<Env, Error> {
    // SAFETY: heed marks opening unsafe because the memory map must not be modified except
    // through LMDB. The environment lives in the queue's own `index` directory that only this
    // crate writes; LMDB's lock file coordinates processes (a `mox queue` command may open it
    // while the server runs). No unsafe flags (no NO_LOCK, NO_SYNC, WRITE_MAP): a commit is
    // on disk when it returns, which the SMTP 250 for a queued message relies on.
    unsafe {
        EnvOpenOptions::new()
            .read_txn_without_tls()
            .map_size(MAP_SIZE)
            .max_dbs(8)
            .max_readers(256)
            .open(dir)
    }
    .map_err(Error::db(dir, "open database"))
}

fn read_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn read_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
