//! An account: its LMDB environment, its message files, and the write transaction that keeps
//! the two consistent.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, RwLock, Weak};

use heed::types::Bytes;
use heed::{CommitOrAbort, EnvOpenOptions, RwTxn, WithoutTls};

use crate::changes::{Change, ChangeReceiver, Changes, Watchers};
use crate::codec::{self, MailboxRecord};
use crate::deliver::GroupCommit;
use crate::files;
use crate::ids::MessageIds;
use crate::removals::Removals;
use crate::types::{Keyword, MailboxId, SpecialUse, Timestamp};
use crate::{Error, Snapshot};

pub(crate) type Db = heed::Database<'static, Bytes, Bytes>;
pub(crate) type Env = heed::Env<WithoutTls>;

/// Size of the LMDB memory map: address space only, the file grows as needed. 64 GiB is room
/// for the indexes of tens of millions of messages per account, and for small messages kept in
/// the database up to three quarters of it (then new messages go to files), while leaving room
/// for a thousand accounts and more in a 47-bit address space.
const MAP_SIZE: usize = 64 << 30;

/// An account's mailboxes and messages: one LMDB environment (`data.mdb`) plus message files
/// under `msg/`, with `tmp/` for messages being written.
///
/// Cheap to clone; all clones (and every [`Account::open`] of the same directory within one
/// process) share one environment, one write lock and one set of change watchers. Methods block
/// on disk I/O: call them from a blocking thread (`tokio::task::spawn_blocking`) in async code.
#[derive(Clone, Debug)]
pub struct Account {
    pub(crate) inner: Arc<Inner>,
}

/// How to open an account.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Create the account (directory and database, with an `Inbox`) if it does not exist.
    pub create: bool,
    /// Open for reading only: no lock is taken, no recovery is done, every change fails with
    /// [`Error::ReadOnly`]. For export, backup and verification while a server may be running.
    pub read_only: bool,
}

#[derive(Clone, Copy)]
pub(crate) struct Dbs {
    pub meta: Db,
    pub mailboxes: Db,
    pub mailbox_names: Db,
    pub subscriptions: Db,
    pub keywords: Db,
    pub messages: Db,
    pub uids: Db,
    pub changes: Db,
    pub pending_removals: Db,
}

const DB_NAMES: [&str; 9] = [
    "meta",
    "mailboxes",
    "mailbox_names",
    "subscriptions",
    "keywords",
    "messages",
    "uids",
    "changes",
    "pending_removals",
];

impl Dbs {
    fn from_array(a: [Db; 9]) -> Dbs {
        let [
            meta,
            mailboxes,
            mailbox_names,
            subscriptions,
            keywords,
            messages,
            uids,
            changes,
            pending_removals,
        ] = a;
        Dbs {
            meta,
            mailboxes,
            mailbox_names,
            subscriptions,
            keywords,
            messages,
            uids,
            changes,
            pending_removals,
        }
    }
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub env: Env,
    pub db: Dbs,
    /// The delivery history tables (`history` module); `None` in a read-only account written
    /// before they existed.
    pub history: Option<crate::history::Tables>,
    /// Messages kept in the database (`bodies` module); `None` in a read-only account written
    /// before the table existed.
    pub bodies: Option<Db>,
    /// Largest message kept in `bodies` (see [`Account::set_inline_limit`]).
    pub inline_limit: std::sync::atomic::AtomicU64,
    /// The database's page size.
    page_size: u64,
    pub read_only: bool,
    write: Mutex<WriteState>,
    pub keywords: RwLock<KeywordTable>,
    pub group: Arc<GroupCommit>,
    pub fs_sync: files::FileSystemSync,
    pub(crate) watchers: Mutex<Watchers>,
    quota: Mutex<Option<u64>>,
    pub ids: Arc<MessageIds>,
    /// Subdirectories of `msg/` known to exist (they are never removed): saves a mkdir per
    /// message.
    message_dirs: Mutex<std::collections::HashSet<u64>>,
    /// The subdirectory of `msg/` that new files go to, open: files are created relative to it
    /// (`openat`), sparing the kernel a lookup of every component of their path.
    current_dir: Mutex<Option<(u64, Arc<OwnedFd>)>>,
    /// Files of committed removals, removed in the background; their `pending_removals`
    /// entries are deleted in a later transaction.
    pub(crate) removals: Arc<Removals>,
    _lock: Option<File>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("dir", &self.dir)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// State only the writer touches, behind the write lock. The counters live here rather than only
/// in the database so a value handed out by an aborted transaction is never handed out again:
/// ids may have gaps but are never reused.
pub(crate) struct WriteState {
    /// The message id marks as stored (see the `ids` module); `None` where absent.
    stored_next_message_id: Option<u64>,
    stored_uncommitted_from: Option<u64>,
    pub next_keyword_id: u32,
}

/// Keyword ids to names, shared by readers.
#[derive(Default)]
pub(crate) struct KeywordTable {
    pub by_id: HashMap<u32, Keyword>,
    by_lower: HashMap<String, u32>,
}

impl KeywordTable {
    fn insert(&mut self, id: u32, k: Keyword) {
        self.by_lower.insert(k.lowercase(), id);
        self.by_id.insert(id, k);
    }

    pub(crate) fn id_of(&self, k: &Keyword) -> Option<u32> {
        self.by_lower.get(&k.lowercase()).copied()
    }

    pub(crate) fn decode(&self, ids: &[u8]) -> Vec<Keyword> {
        codec::keyword_ids(ids).filter_map(|id| self.by_id.get(&id).cloned()).collect()
    }
}

static REGISTRY: LazyLock<Mutex<HashMap<PathBuf, Weak<Inner>>>> = LazyLock::new(Default::default);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Account {
    /// Opens (or with [`OpenOptions::create`], creates) the account in `dir`.
    ///
    /// A read-write open takes an exclusive lock on the account (other processes get
    /// [`Error::AccountLocked`]) and cleans up after a crash: files of deliveries that never
    /// committed are removed, and removals that were committed but not yet done are finished.
    pub fn open(dir: &Path, opts: OpenOptions) -> Result<Account, Error> {
        if opts.create && !opts.read_only {
            fs::create_dir_all(dir).map_err(Error::io(dir, "create account directory"))?;
        }
        let dir = match dir.canonicalize() {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::AccountNotFound { path: dir.to_path_buf() });
            }
            Err(e) => return Err(Error::io(dir, "resolve account directory")(e)),
        };
        let mut registry = lock(&REGISTRY);
        if let Some(inner) = registry.get(&dir).and_then(Weak::upgrade) {
            if inner.read_only && !opts.read_only {
                return Err(Error::AccountLocked { path: dir });
            }
            return Ok(Account { inner });
        }
        let account = Account { inner: Arc::new(Inner::open(dir.clone(), opts)?) };
        // Recover before anyone else in this process can get the account: recovery removes
        // files of uncommitted deliveries, which must not include new ones.
        if !account.inner.read_only {
            account.recover()?;
        }
        registry.retain(|_, w| w.strong_count() > 0);
        registry.insert(dir, Arc::downgrade(&account.inner));
        Ok(account)
    }

    /// Opens an existing account for reading and writing.
    pub fn open_existing(dir: &Path) -> Result<Account, Error> {
        Account::open(dir, OpenOptions::default())
    }

    /// Opens the account, creating it if needed.
    pub fn open_or_create(dir: &Path) -> Result<Account, Error> {
        Account::open(dir, OpenOptions { create: true, read_only: false })
    }

    /// Opens an existing account for reading only.
    pub fn open_read_only(dir: &Path) -> Result<Account, Error> {
        Account::open(dir, OpenOptions { create: false, read_only: true })
    }

    /// The account directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// A consistent read-only view of the account as of now. Keep it short-lived: LMDB cannot
    /// reuse pages freed after the snapshot was taken while it is open.
    pub fn snapshot(&self) -> Result<Snapshot<'_>, Error> {
        let txn = self.inner.env.read_txn().map_err(self.inner.db_err("begin read transaction"))?;
        Ok(Snapshot { inner: &self.inner, txn })
    }

    /// Subscribes to the account's changes: every transaction committed from now on.
    pub fn watch(&self) -> ChangeReceiver {
        lock(&self.inner.watchers).add()
    }

    /// Sets the most bytes the account's messages may take in total (`None`: no limit).
    /// Deliveries, appends, copies and imports that would exceed it fail with
    /// [`Error::QuotaExceeded`]; existing messages are never removed.
    pub fn set_quota(&self, quota: Option<u64>) {
        *lock(&self.inner.quota) = quota;
    }

    /// The quota set with [`Account::set_quota`].
    pub fn quota(&self) -> Option<u64> {
        *lock(&self.inner.quota)
    }

    /// The path of a message file, for tools that work on files (backup, verification).
    pub fn message_file(&self, id: crate::MessageId) -> PathBuf {
        self.inner.dir.join(files::message_path(id.0))
    }

    /// Clean up after a crash (see [`Account::open`]).
    fn recover(&self) -> Result<(), Error> {
        let inner = &self.inner;
        // Files an older version was writing (messages are now written in place).
        let tmp = inner.dir.join("tmp");
        if let Ok(entries) = fs::read_dir(&tmp) {
            for e in entries.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
        // Files of messages that never committed: without a message record, at or above the
        // committed "uncommitted from" mark (see the `ids` module).
        let from = {
            let st = lock(&inner.write);
            let next = st.stored_next_message_id.unwrap_or(1);
            st.stored_uncommitted_from.unwrap_or(next).min(next)
        };
        let candidates = leftover_message_files(&inner.dir, from);
        if !candidates.is_empty() {
            let txn = inner.env.read_txn().map_err(inner.db_err("begin read transaction"))?;
            for id in candidates {
                let key = codec::u64_key(id);
                if inner
                    .db
                    .messages
                    .get(&txn, &key)
                    .map_err(inner.db_err("read message"))?
                    .is_none()
                {
                    let p = inner.dir.join(files::message_path(id));
                    fs::remove_file(&p)
                        .map_err(Error::io(&p, "remove uncommitted message file"))?;
                }
            }
        }
        // Removals committed but not carried out.
        let pending: Vec<u64> = {
            let txn = inner.env.read_txn().map_err(inner.db_err("begin read transaction"))?;
            let iter = inner
                .db
                .pending_removals
                .iter(&txn)
                .map_err(inner.db_err("list pending removals"))?;
            let mut v = Vec::new();
            for item in iter {
                let (k, _) = item.map_err(inner.db_err("list pending removals"))?;
                v.extend(codec::read_u64_be(k));
            }
            v
        };
        if !pending.is_empty() {
            for id in &pending {
                remove_message_file(&inner.dir, *id)?;
            }
            inner.removals.removed(pending);
            inner.write(|_| Ok(()))?;
        }
        Ok(())
    }
}

/// Message files in `msg/` whose id is `from` or more: those without a message record were
/// written for a transaction that did not commit. Only the last subdirectories can hold them.
pub(crate) fn leftover_message_files(account_dir: &Path, from: u64) -> Vec<u64> {
    let next_id = from;
    let mut out = Vec::new();
    let msg = account_dir.join("msg");
    let Ok(subdirs) = fs::read_dir(&msg) else { return out };
    for sd in subdirs.flatten() {
        let name = sd.file_name();
        let Some(n) = name.to_str().and_then(|s| s.parse::<u64>().ok()) else { continue };
        if (n + 1) * files::FILES_PER_DIR <= next_id {
            continue;
        }
        let Ok(entries) = fs::read_dir(sd.path()) else { continue };
        for e in entries.flatten() {
            let id =
                e.file_name().to_str().and_then(|f| files::parse_message_rel(&n.to_string(), f));
            if let Some(id) = id.filter(|id| *id >= next_id) {
                out.push(id);
            }
        }
    }
    out.sort_unstable();
    out
}

pub(crate) fn remove_message_file(dir: &Path, id: u64) -> Result<(), Error> {
    let p = dir.join(files::message_path(id));
    match fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&p, "remove message file")(e)),
    }
}

/// Opens tables added to the account format after it was first written (the history, the
/// stored messages): in a writable account they are created where missing; a read-only account
/// written before they existed has none of them (`None`).
pub(crate) fn open_added_tables<const N: usize>(
    env: &Env,
    dir: &Path,
    read_only: bool,
    names: [&str; N],
    (open_op, create_op): (&'static str, &'static str),
) -> Result<Option<[Db; N]>, Error> {
    let err = |op| Error::db(dir, op);
    // (The conversions to an array never fail: as many tables as names.)
    let r = if read_only {
        let rtxn = env.read_txn().map_err(err("begin read transaction"))?;
        env.open_databases_and_commit(rtxn, |dbo, rtxn| -> Result<_, heed::Error> {
            let mut out = Vec::with_capacity(N);
            for name in names {
                match dbo.open_database::<Bytes, Bytes>(rtxn, Some(name))? {
                    Some(d) => out.push(d),
                    None => return Ok(CommitOrAbort::Abort(())),
                }
            }
            let tables: [_; N] = out.try_into().map_err(|_| heed::Error::EnvAlreadyOpened)?;
            Ok(CommitOrAbort::Commit(tables))
        })
        .map_err(err(open_op))?
    } else {
        let wtxn = env.write_txn().map_err(err("begin write transaction"))?;
        env.create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, heed::Error> {
            let mut out = Vec::with_capacity(N);
            for name in names {
                out.push(dbo.create_database::<Bytes, Bytes>(wtxn, Some(name))?);
            }
            let tables: [_; N] = out.try_into().map_err(|_| heed::Error::EnvAlreadyOpened)?;
            Ok(CommitOrAbort::Commit(tables))
        })
        .map_err(err(create_op))?
    };
    Ok(match r {
        CommitOrAbort::Commit(tables) => Some(tables),
        CommitOrAbort::Abort(()) => None,
    })
}

impl Drop for Inner {
    /// Removals still in progress finish first, so a program that expunges and exits leaves
    /// no files behind (they would be removed at the next open otherwise).
    fn drop(&mut self) {
        self.group.close();
        self.removals.wait();
    }
}

impl Inner {
    fn open(dir: PathBuf, opts: OpenOptions) -> Result<Inner, Error> {
        let data = dir.join("data.mdb");
        let exists = data.exists();
        if !exists && (!opts.create || opts.read_only) {
            return Err(Error::AccountNotFound { path: dir });
        }
        let lock_file = if opts.read_only {
            None
        } else {
            let p = dir.join("account.lock");
            let f = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p)
                .map_err(Error::io(&p, "open lock file"))?;
            match f.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::AccountLocked { path: dir });
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(&p, "lock")(e)),
            }
            Some(f)
        };
        if !opts.read_only {
            for sub in ["msg", "tmp"] {
                let p = dir.join(sub);
                fs::create_dir_all(&p).map_err(Error::io(&p, "create directory"))?;
            }
        }

        let env = open_env(&dir)?;
        let dberr = |op| Error::db(&dir, op);
        let db = if opts.read_only {
            let rtxn = env.read_txn().map_err(dberr("begin read transaction"))?;
            let dbs = env
                .open_databases_and_commit(rtxn, |dbo, rtxn| -> Result<_, heed::Error> {
                    let mut out = Vec::new();
                    for name in DB_NAMES {
                        match dbo.open_database::<Bytes, Bytes>(rtxn, Some(name))? {
                            Some(d) => out.push(d),
                            None => return Ok(CommitOrAbort::Abort(name)),
                        }
                    }
                    let arr: [_; 9] = out.try_into().map_err(|_| heed::Error::EnvAlreadyOpened)?;
                    Ok(CommitOrAbort::Commit(arr))
                })
                .map_err(dberr("open tables"))?;
            match dbs {
                CommitOrAbort::Commit(a) => Dbs::from_array(a),
                CommitOrAbort::Abort(_) => return Err(Error::AccountNotFound { path: dir }),
            }
        } else {
            let wtxn = env.write_txn().map_err(dberr("begin write transaction"))?;
            let dbs = env
                .create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, heed::Error> {
                    let mut out = Vec::new();
                    for name in DB_NAMES {
                        out.push(dbo.create_database::<Bytes, Bytes>(wtxn, Some(name))?);
                    }
                    let arr: [_; 9] = out.try_into().map_err(|_| heed::Error::EnvAlreadyOpened)?;
                    Ok(CommitOrAbort::<_, ()>::Commit(arr))
                })
                .map_err(dberr("create tables"))?;
            match dbs {
                CommitOrAbort::Commit(a) => Dbs::from_array(a),
                CommitOrAbort::Abort(()) => return Err(Error::AccountNotFound { path: dir }),
            }
        };

        let rtxn = env.read_txn().map_err(dberr("begin read transaction"))?;
        let meta_u64 = |key: &[u8]| -> Result<Option<u64>, Error> {
            Ok(db.meta.get(&rtxn, key).map_err(dberr("read meta"))?.and_then(codec::read_u64_be))
        };
        let version = meta_u64(codec::META_VERSION)?;
        let (next_message_id, uncommitted_from, next_keyword_id) = match version {
            None => (None, None, 1),
            Some(v) if v == u64::from(codec::DB_VERSION) => (
                meta_u64(codec::META_NEXT_MESSAGE_ID)?,
                meta_u64(codec::META_UNCOMMITTED_FROM)?,
                meta_u64(codec::META_NEXT_KEYWORD_ID)?.unwrap_or(1) as u32,
            ),
            Some(v) => {
                return Err(Error::UnsupportedVersion {
                    path: dir,
                    found: v as u32,
                    supported: codec::DB_VERSION,
                });
            }
        };
        let mut keywords = KeywordTable::default();
        for item in db.keywords.iter(&rtxn).map_err(dberr("read keywords"))? {
            let (k, v) = item.map_err(dberr("read keywords"))?;
            let corrupt =
                || Error::Corrupt { path: dir.clone(), table: "keywords", key: format!("{k:?}") };
            let id = codec::read_u32_be(k).ok_or_else(corrupt)?;
            let name = std::str::from_utf8(v)
                .ok()
                .and_then(|s| Keyword::new(s).ok())
                .ok_or_else(corrupt)?;
            keywords.insert(id, name);
        }
        drop(rtxn);

        let history = crate::history::open_tables(&env, &dir, opts.read_only)?;
        let bodies = crate::bodies::open_table(&env, &dir, opts.read_only)?;
        let page_size = u64::from(env.unnamed_database_stat().page_size);
        let fs_sync = files::FileSystemSync::open(&dir)?;
        let inner = Inner {
            dir,
            env,
            db,
            history,
            bodies,
            inline_limit: crate::bodies::DEFAULT_INLINE_LIMIT.into(),
            page_size,
            read_only: opts.read_only,
            write: Mutex::new(WriteState {
                stored_next_message_id: next_message_id,
                stored_uncommitted_from: uncommitted_from,
                next_keyword_id,
            }),
            keywords: RwLock::new(keywords),
            group: Arc::default(),
            fs_sync,
            watchers: Mutex::new(Watchers::default()),
            quota: Mutex::new(None),
            ids: Arc::new(MessageIds::new(next_message_id.unwrap_or(1))),
            message_dirs: Mutex::new(Default::default()),
            current_dir: Mutex::new(None),
            removals: Arc::default(),
            _lock: lock_file,
        };
        if version.is_none() {
            inner.initialize()?;
        }
        Ok(inner)
    }

    /// Writes the meta record of a new account and creates its Inbox.
    fn initialize(&self) -> Result<(), Error> {
        self.write(|tx| {
            let put = |tx: &mut Tx<'_>, k: &[u8], v: u64| tx.put_meta(k, v);
            put(tx, codec::META_VERSION, u64::from(codec::DB_VERSION))?;
            put(tx, codec::META_NEXT_MAILBOX_ID, 1)?;
            // UIDVALIDITY starts at the current time so a re-created account does not repeat
            // the values a client may have cached.
            let now = Timestamp::now().unix.clamp(1, i64::from(u32::MAX / 2)) as u64;
            put(tx, codec::META_NEXT_UIDVALIDITY, now)?;
            put(tx, codec::META_SIZE, 0)?;
            tx.create_mailbox_record("Inbox", SpecialUse::NONE)?;
            Ok(())
        })?;
        for d in [self.dir.clone(), self.dir.join("msg"), self.dir.join("tmp")] {
            files::sync_dir(&d)?;
        }
        if let Some(parent) = self.dir.parent() {
            files::sync_dir(parent)?;
        }
        Ok(())
    }

    /// See `bodies::nearly_full`.
    pub(crate) fn database_nearly_full(&self) -> bool {
        let info = self.env.info();
        crate::bodies::nearly_full(
            info.last_page_number as u64,
            self.page_size,
            info.map_size as u64,
        )
    }

    pub(crate) fn db_err(&self, op: &'static str) -> impl FnOnce(heed::Error) -> Error + use<'_> {
        move |source| Error::Db { path: self.dir.clone(), op, source }
    }

    pub(crate) fn corrupt(&self, table: &'static str, key: impl std::fmt::Debug) -> Error {
        Error::Corrupt { path: self.dir.clone(), table, key: format!("{key:?}") }
    }

    #[cfg(test)]
    pub(crate) fn next_message_id(&self) -> u64 {
        self.ids.next()
    }

    /// Creates the file for message `id` (which must not exist), for writing; returns it and
    /// its path.
    pub(crate) fn create_message_file(&self, id: u64) -> Result<(File, PathBuf), Error> {
        use rustix::fs::{Mode, OFlags};
        let (dir, _) = self.message_dir(id)?;
        let n = id / files::FILES_PER_DIR;
        let dir_fd = {
            let mut current = lock(&self.current_dir);
            match &*current {
                Some((m, fd)) if *m == n => fd.clone(),
                _ => {
                    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                    let fd = rustix::fs::open(&dir, flags, Mode::empty())
                        .map_err(|e| Error::io(&dir, "open directory")(e.into()))?;
                    let fd = Arc::new(fd);
                    *current = Some((n, fd.clone()));
                    fd
                }
            }
        };
        let name = id.to_string();
        let path = dir.join(&name);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&*dir_fd, name.as_str(), flags, Mode::from_raw_mode(0o666))
            .map_err(|e| Error::io(&path, "create message file")(e.into()))?;
        Ok((File::from(fd), path))
    }

    /// Makes sure the directory for message `id` exists, durably; returns it, and whether it
    /// had to be created.
    pub(crate) fn message_dir(&self, id: u64) -> Result<(PathBuf, bool), Error> {
        let n = id / files::FILES_PER_DIR;
        let dir = self.dir.join(files::message_subdir(id));
        // Held while creating, so nobody puts a file in the directory before it is durable.
        let mut known = lock(&self.message_dirs);
        if known.contains(&n) {
            return Ok((dir, false));
        }
        let created = files::ensure_dir(&dir)?;
        // Flushed right away (once per FILES_PER_DIR messages), so commits of the files in it
        // only flush the subdirectory itself. Also when it existed: it may be from before a
        // crash that lost its entry.
        files::sync_dir(&self.dir.join("msg"))?;
        known.insert(n);
        Ok((dir, created))
    }

    pub(crate) fn quota(&self) -> Option<u64> {
        *lock(&self.quota)
    }

    /// Runs `f` in a write transaction and commits it: the one path by which the account
    /// changes. On success the changes `f` recorded are published (in commit order: the write
    /// lock is held until they are sent) and message files it scheduled for removal are
    /// removed. On any failure the transaction is aborted and files it linked are removed.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        let state = lock(&self.write);
        let txn = self.env.write_txn().map_err(self.db_err("begin write transaction"))?;
        let start_keyword_id = state.next_keyword_id;
        let mut tx = Tx {
            inner: self,
            txn,
            state,
            modseq: None,
            mailboxes: BTreeMap::new(),
            size_delta: 0,
            changes: Vec::new(),
            remove_after_commit: Vec::new(),
            remove_on_abort: Vec::new(),
            sync_dirs: BTreeSet::new(),
            unsynced_files: Vec::new(),
            written_at: u64::MAX,
            own_ids: Vec::new(),
            marks: None,
            start_keyword_id,
        };
        let result = tx.clear_removed().and_then(|()| f(&mut tx));
        match result {
            Ok(v) => tx.commit().map(|()| v),
            Err(e) => {
                tx.abort();
                Err(e)
            }
        }
    }

    pub(crate) fn publish(&self, changes: Changes) {
        lock(&self.watchers).publish(changes);
    }
}

#[allow(unsafe_code)]
fn open_env(dir: &Path) -> Result<Env, Error> {
    // SAFETY: heed marks opening unsafe because the memory map must not be modified except
    // through LMDB. The environment lives in the account directory that only this store writes;
    // LMDB's own lock file coordinates processes, and our registry opens each environment once
    // per process. We use no unsafe flags (no NO_LOCK, NO_SYNC, WRITE_MAP).
    //
    // Not NO_META_SYNC either, though it would save one of a commit's two flushes (the meta
    // page would reach the disk with the next commit's data flush, or our next flush): LMDB
    // makes a commit visible to readers as soon as the meta page is written, so an IMAP
    // session could see a message (and its UID) that a crash then takes back, and the UID
    // would be handed out again. A commit must be on disk before anyone can see it.
    unsafe {
        EnvOpenOptions::new()
            .read_txn_without_tls()
            .map_size(MAP_SIZE)
            .max_dbs(16)
            .max_readers(1024)
            .open(dir)
    }
    .map_err(Error::db(dir, "open database"))
}

/// A write transaction in progress, with the bookkeeping that goes with it.
pub(crate) struct Tx<'a> {
    pub inner: &'a Inner,
    pub txn: RwTxn<'a>,
    pub state: MutexGuard<'a, WriteState>,
    modseq: Option<u64>,
    /// Mailbox records read and changed in this transaction, written at commit.
    mailboxes: BTreeMap<u32, MailboxRecord>,
    /// Change of the account's total message size.
    pub size_delta: i64,
    pub changes: Vec<Change>,
    /// Messages whose files are removed once the transaction commits.
    remove_after_commit: Vec<u64>,
    /// Files created for this transaction, removed if it does not commit.
    remove_on_abort: Vec<PathBuf>,
    /// Directories to fsync before committing.
    sync_dirs: BTreeSet<PathBuf>,
    /// Files of this transaction not yet flushed to disk: flushed before committing.
    unsynced_files: Vec<PathBuf>,
    /// The oldest write-back error count of those files (see `files::FileSystemSync`).
    written_at: u64,
    /// Message ids this transaction commits (or gives up if it fails).
    own_ids: Vec<u64>,
    /// The message id marks this transaction records (next id, uncommitted from).
    marks: Option<(u64, u64)>,
    start_keyword_id: u32,
}

impl<'a> Tx<'a> {
    pub(crate) fn db(&self) -> Dbs {
        self.inner.db
    }

    pub(crate) fn err(&self, op: &'static str) -> impl FnOnce(heed::Error) -> Error + use<'a> {
        self.inner.db_err(op)
    }

    pub(crate) fn put_meta(&mut self, key: &[u8], v: u64) -> Result<(), Error> {
        self.inner
            .db
            .meta
            .put(&mut self.txn, key, &codec::u64_key(v))
            .map_err(self.inner.db_err("write meta"))
    }

    pub(crate) fn meta(&self, key: &[u8]) -> Result<u64, Error> {
        let v = self.inner.db.meta.get(&self.txn, key).map_err(self.inner.db_err("read meta"))?;
        Ok(v.and_then(codec::read_u64_be).unwrap_or(0))
    }

    /// The MODSEQ of this transaction, allocated on first use: one per transaction, strictly
    /// increasing per account.
    pub(crate) fn modseq(&mut self) -> Result<u64, Error> {
        if let Some(m) = self.modseq {
            return Ok(m);
        }
        let m = self.meta(codec::META_MODSEQ)? + 1;
        self.put_meta(codec::META_MODSEQ, m)?;
        self.modseq = Some(m);
        crate::savedate::record(self, m)?;
        Ok(m)
    }

    /// A new message id, never handed out before, for a file this transaction creates.
    pub(crate) fn new_message_id(&mut self) -> u64 {
        let id = self.inner.ids.allocate();
        self.own_ids.push(id);
        id
    }

    /// Takes over an id handed out earlier (with a message file written for it): committed
    /// by this transaction, or given up with the file if it fails.
    pub(crate) fn take_message_id(&mut self, id: u64) {
        self.own_ids.push(id);
    }

    /// The record of mailbox `id` (cached for the rest of the transaction).
    pub(crate) fn mailbox(&mut self, id: u32) -> Result<Option<&mut MailboxRecord>, Error> {
        if !self.mailboxes.contains_key(&id) {
            let v = self
                .inner
                .db
                .mailboxes
                .get(&self.txn, &codec::u32_key(id))
                .map_err(self.inner.db_err("read mailbox"))?;
            let Some(v) = v else { return Ok(None) };
            let rec: MailboxRecord =
                codec::decode(v).ok_or_else(|| self.inner.corrupt("mailboxes", id))?;
            self.mailboxes.insert(id, rec);
        }
        Ok(self.mailboxes.get_mut(&id))
    }

    /// Like [`Tx::mailbox`], for a mailbox whose id came from the database itself.
    pub(crate) fn existing_mailbox(&mut self, id: u32) -> Result<&mut MailboxRecord, Error> {
        let inner = self.inner;
        self.mailbox(id)?.ok_or_else(|| inner.corrupt("mailboxes", id))
    }

    /// Like [`Tx::mailbox`], for a mailbox that must exist and be selectable.
    pub(crate) fn selectable_mailbox(
        &mut self,
        id: MailboxId,
    ) -> Result<&mut MailboxRecord, Error> {
        match self.mailbox(id.0)? {
            None => Err(Error::MailboxNotFound { name: format!("#{}", id.0) }),
            Some(m) if !m.selectable => Err(Error::MailboxNotSelectable { name: m.name.clone() }),
            Some(m) => Ok(m),
        }
    }

    pub(crate) fn set_mailbox(&mut self, id: u32, rec: MailboxRecord) {
        self.mailboxes.insert(id, rec);
    }

    pub(crate) fn forget_mailbox(&mut self, id: u32) {
        self.mailboxes.remove(&id);
    }

    pub(crate) fn mailbox_id_by_name(&self, name: &str) -> Result<Option<u32>, Error> {
        let v = self
            .inner
            .db
            .mailbox_names
            .get(&self.txn, name.as_bytes())
            .map_err(self.inner.db_err("read mailbox name"))?;
        Ok(v.and_then(codec::read_u32_be))
    }

    /// Keyword ids for keywords, adding keywords new to the account.
    pub(crate) fn keyword_ids(&mut self, keywords: &[Keyword]) -> Result<Vec<u32>, Error> {
        let mut ids = Vec::with_capacity(keywords.len());
        for k in keywords {
            let lower = k.lowercase();
            let known = self
                .inner
                .keywords
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .by_lower
                .get(&lower)
                .copied();
            let id = match known {
                Some(id) => id,
                None => {
                    let id = self.state.next_keyword_id;
                    self.state.next_keyword_id += 1;
                    self.inner
                        .db
                        .keywords
                        .put(&mut self.txn, &codec::u32_key(id), k.as_str().as_bytes())
                        .map_err(self.inner.db_err("write keyword"))?;
                    // Readers may see the id as soon as this commits, so the table learns it
                    // first. If the transaction aborts, the id is simply never used.
                    self.inner
                        .keywords
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(id, k.clone());
                    id
                }
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Stores message `id`'s bytes in the database (see the `bodies` module).
    pub(crate) fn put_body(&mut self, id: u64, body: &[u8]) -> Result<(), Error> {
        let db = self.inner.bodies.ok_or(Error::ReadOnly)?;
        db.put(&mut self.txn, &codec::u64_key(id), body).map_err(self.inner.db_err("write message"))
    }

    /// The bytes of message `id` if it is kept in the database, copied out.
    pub(crate) fn body(&self, id: u64) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.inner.stored_body(&self.txn, id)?.map(<[u8]>::to_vec))
    }

    /// Removes a message's bytes: from the database in this transaction if it is kept there,
    /// else its file after commit.
    pub(crate) fn remove_message_bytes(&mut self, id: u64) -> Result<(), Error> {
        if let Some(db) = self.inner.bodies
            && db
                .delete(&mut self.txn, &codec::u64_key(id))
                .map_err(self.inner.db_err("delete message"))?
        {
            return Ok(());
        }
        self.inner
            .db
            .pending_removals
            .put(&mut self.txn, &codec::u64_key(id), &[])
            .map_err(self.inner.db_err("write pending removal"))?;
        self.remove_after_commit.push(id);
        Ok(())
    }

    /// Registers a file created for this transaction: removed if the transaction fails.
    pub(crate) fn created_file(&mut self, path: PathBuf) {
        self.remove_on_abort.push(path);
    }

    /// Makes sure the directory for message `id` exists, durably; returns it.
    pub(crate) fn message_dir(&mut self, id: u64) -> Result<PathBuf, Error> {
        Ok(self.inner.message_dir(id)?.0)
    }

    /// Registers a file written without a flush (in the write-back error epoch `written_at`):
    /// flushed, together with the others, before commit.
    pub(crate) fn unsynced_file(&mut self, path: PathBuf, written_at: u64) {
        self.unsynced_files.push(path);
        self.written_at = self.written_at.min(written_at);
    }

    /// Registers a directory whose entries changed: fsynced before commit.
    pub(crate) fn sync_dir_before_commit(&mut self, dir: PathBuf) {
        self.sync_dirs.insert(dir);
    }

    fn clear_removed(&mut self) -> Result<(), Error> {
        let removed = self.inner.removals.take_done();
        for id in removed {
            self.inner
                .db
                .pending_removals
                .delete(&mut self.txn, &codec::u64_key(id))
                .map_err(self.inner.db_err("delete pending removal"))?;
        }
        Ok(())
    }

    fn commit(mut self) -> Result<(), Error> {
        let r = self.prepare_commit();
        if let Err(e) = r {
            self.abort();
            return Err(e);
        }
        let Tx {
            inner,
            txn,
            mut state,
            modseq,
            changes,
            remove_after_commit,
            remove_on_abort,
            own_ids,
            marks,
            ..
        } = self;
        if let Err(e) = txn.commit() {
            for p in &remove_on_abort {
                let _ = fs::remove_file(p);
            }
            inner.ids.release(&own_ids);
            return Err(inner.db_err("commit")(e));
        }
        if let Some((next, from)) = marks {
            state.stored_next_message_id = Some(next);
            state.stored_uncommitted_from = Some(from);
        }
        if !changes.is_empty() {
            inner.publish(Changes { modseq, changes });
        }
        inner.removals.schedule(&inner.dir, remove_after_commit);
        Ok(())
    }

    fn prepare_commit(&mut self) -> Result<(), Error> {
        for (id, rec) in std::mem::take(&mut self.mailboxes) {
            self.inner
                .db
                .mailboxes
                .put(&mut self.txn, &codec::u32_key(id), &codec::encode(&rec))
                .map_err(self.inner.db_err("write mailbox"))?;
        }
        if self.size_delta != 0 {
            let size = self.meta(codec::META_SIZE)?.saturating_add_signed(self.size_delta);
            self.put_meta(codec::META_SIZE, size)?;
        }
        // The files and their directory entries are on disk before the commit refers to them.
        let dirs: Vec<PathBuf> = std::mem::take(&mut self.sync_dirs).into_iter().collect();
        if self.unsynced_files.is_empty() {
            for d in &dirs {
                files::sync_dir(d)?;
            }
        } else {
            // One flush for the files and the directory entries naming them.
            self.inner.fs_sync.sync(&self.unsynced_files, &dirs, self.written_at)?;
        }
        let (next, from) = self.inner.ids.commit_marks(&self.own_ids);
        if Some(next) != self.state.stored_next_message_id {
            self.put_meta(codec::META_NEXT_MESSAGE_ID, next)?;
        }
        if Some(from) != self.state.stored_uncommitted_from {
            self.put_meta(codec::META_UNCOMMITTED_FROM, from)?;
        }
        self.marks = Some((next, from));
        if self.state.next_keyword_id != self.start_keyword_id {
            let v = u64::from(self.state.next_keyword_id);
            self.put_meta(codec::META_NEXT_KEYWORD_ID, v)?;
        }
        Ok(())
    }

    fn abort(self) {
        for p in &self.remove_on_abort {
            let _ = fs::remove_file(p);
        }
        // Only now that the files are gone (see the `ids` module).
        self.inner.ids.release(&self.own_ids);
        self.txn.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{deliver, msg};
    use crate::{FlagOp, Flags, NewMessage, UidSet};

    #[test]
    fn added_tables_are_created_when_writable_and_absent_when_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let env = open_env(dir.path()).unwrap();
        let ops = ("open", "create");
        let names = ["one", "two"];
        assert!(open_added_tables(&env, dir.path(), true, names, ops).unwrap().is_none());
        let [one, _] = open_added_tables(&env, dir.path(), false, names, ops).unwrap().unwrap();
        let mut wtxn = env.write_txn().unwrap();
        one.put(&mut wtxn, b"k", b"v").unwrap();
        wtxn.commit().unwrap();
        // Opened again, read-only: the same tables, with what was written.
        let [one, _] = open_added_tables(&env, dir.path(), true, names, ops).unwrap().unwrap();
        let rtxn = env.read_txn().unwrap();
        assert_eq!(one.get(&rtxn, b"k").unwrap(), Some(&b"v"[..]));
        // One of them missing is as good as none.
        drop(rtxn);
        assert!(
            open_added_tables(&env, dir.path(), true, ["one", "three"], ops).unwrap().is_none()
        );
    }

    #[test]
    fn state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acc");
        let (id, modseq, validity) = {
            let acc = Account::open_or_create(&path).unwrap();
            let d = deliver(&acc, "Inbox", 1);
            let inbox = acc.mailbox("Inbox").unwrap().unwrap();
            acc.store_flags(
                inbox.id,
                &UidSet::all(),
                FlagOp::Add,
                &Flags::parse(["$Label1"]).unwrap(),
                None,
            )
            .unwrap();
            (d.id, acc.snapshot().unwrap().account_modseq().unwrap(), inbox.uid_validity)
        };
        assert!(matches!(
            Account::open_existing(&dir.path().join("other")),
            Err(Error::AccountNotFound { .. })
        ));
        let acc = Account::open_existing(&path).unwrap();
        let snap = acc.snapshot().unwrap();
        assert_eq!(snap.account_modseq().unwrap(), modseq);
        let inbox = snap.mailbox("Inbox").unwrap().unwrap();
        assert_eq!(inbox.uid_validity, validity);
        assert_eq!(
            snap.message_state(inbox.id, 1).unwrap().unwrap().flags.keywords[0].as_str(),
            "$Label1"
        );
        drop(snap);
        assert_eq!(acc.read_message(id).unwrap(), msg(1));
        // Ids continue where they were.
        let d2 = deliver(&acc, "Inbox", 2);
        assert!(d2.id.0 > id.0 && d2.uid == 2 && d2.modseq > modseq);
    }

    #[test]
    fn one_environment_per_process_and_exclusive_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acc");
        let a = Account::open_or_create(&path).unwrap();
        let b = Account::open_existing(&path).unwrap();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        let ro = Account::open_read_only(&path).unwrap();
        assert!(Arc::ptr_eq(&a.inner, &ro.inner), "read-only opens share the open environment");
        // Another process (another open file description) cannot take the lock.
        let f = File::open(path.join("account.lock")).unwrap();
        assert!(matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock)));
        drop((a, b, ro));
        f.try_lock().unwrap();
        drop(f);
        // Closed, it can be opened read-only, which refuses changes.
        let ro = Account::open_read_only(&path).unwrap();
        assert!(matches!(ro.create_mailbox("x", SpecialUse::NONE), Err(Error::ReadOnly)));
        assert!(matches!(
            ro.deliver_bytes("Inbox", b"x", NewMessage::default()),
            Err(Error::ReadOnly)
        ));
        assert_eq!(ro.mailboxes().unwrap().len(), 1);
    }

    #[test]
    fn open_cleans_up_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acc");
        let (kept, next) = {
            let acc = Account::open_or_create(&path).unwrap();
            acc.set_inline_limit(0);
            let d = deliver(&acc, "Inbox", 1);
            let gone = deliver(&acc, "Inbox", 2);
            let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
            acc.store_flags(
                inbox,
                &UidSet::single(2),
                FlagOp::Add,
                &Flags::system(crate::SystemFlags::DELETED),
                None,
            )
            .unwrap();
            acc.expunge(inbox, None).unwrap();
            // Simulate the states a crash can leave: a removal committed but not carried out
            // (file still there, pending entry written), a file renamed into msg/ for a
            // transaction that never committed, and a half-written tmp file.
            fs::write(acc.message_file(gone.id), b"left").unwrap();
            acc.inner.write(|tx| tx.remove_message_bytes(gone.id.0).map(|_| ())).unwrap();
            acc.inner.removals.wait();
            fs::write(acc.message_file(gone.id), b"left").unwrap();
            let next = acc.inner.next_message_id();
            (d.id, next)
        };
        let uncommitted = path.join(files::message_path(next));
        fs::write(&uncommitted, b"uncommitted").unwrap();
        fs::write(path.join("tmp/123.4"), b"partial").unwrap();
        assert_eq!(leftover_message_files(&path, next), [next]);

        let acc = Account::open_existing(&path).unwrap();
        assert!(!uncommitted.exists());
        assert!(!acc.message_file(crate::MessageId(kept.0 + 1)).exists());
        assert_eq!(fs::read_dir(path.join("tmp")).unwrap().count(), 0);
        assert_eq!(acc.read_message(kept).unwrap(), msg(1));
        let txn = acc.inner.env.read_txn().unwrap();
        assert_eq!(acc.inner.db.pending_removals.len(&txn).unwrap(), 0);
        drop(txn);
        // The id of the uncommitted file is handed out again, cleanly.
        let d = deliver(&acc, "Inbox", 3);
        assert_eq!(d.id.0, next);
        assert_eq!(acc.read_message(d.id).unwrap(), msg(3));
    }

    #[test]
    fn newer_database_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acc");
        {
            let acc = Account::open_or_create(&path).unwrap();
            acc.inner.write(|tx| tx.put_meta(codec::META_VERSION, 99)).unwrap();
        }
        assert!(matches!(
            Account::open_existing(&path),
            Err(Error::UnsupportedVersion { found: 99, .. })
        ));
    }
}
