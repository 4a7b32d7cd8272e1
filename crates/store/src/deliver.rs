//! Delivering (and appending) messages durably, with group commit.
//!
//! A message gets its id when its file is created, and the delivering thread writes it in
//! place, `msg/<id / 4096>/<id>`, and flushes it (fdatasync), in parallel with other
//! deliveries (see the `ids` module for how ids handed out ahead of their commit stay
//! recoverable). It is then queued; one of the waiting threads becomes the leader and commits
//! everything queued in one transaction: it fsyncs the directories holding the new files
//! (usually one), then commits the LMDB transaction (which flushes the database). Only then
//! does any of the waiting deliveries return. So each delivery costs its own file flush, made
//! while the previous batch commits, and the directory and database flushes are shared by the
//! whole batch, which grows by itself while a commit is in flight.
//!
//! A message up to the inline limit has no file: its bytes go into the batch's transaction
//! (see the `bodies` module), so its delivery costs no flush of its own.
//!
//! [`Account::deliver_then`] queues a delivery without waiting for it: an async server then
//! needs no thread per delivery blocked until the commit. The account's committer thread
//! (started on first use) commits such deliveries, or a thread in [`Account::deliver`] does
//! when it leads the batch, and calls the delivery's callback with the result. In the SMTP
//! benchmark this took 85 µs of CPU off each message: the hand-offs to and from a blocking
//! thread per message cost more than the message's share of the commit.
//!
//! A crash at any point leaves no half-written message visible: a file without its message
//! record has an id at or past the committed "uncommitted from" mark, and is removed when the
//! account is next opened.
//!
//! Measured alternatives (32 threads delivering 10 KB messages, interleaved runs on the
//! development machine's ext4, which has no journal): the first design (file in `tmp/`,
//! fsynced by its thread; the leader renaming files into `msg/` and fsyncing the directories)
//! was 15-20% slower. Flushing a whole batch with one `syncfs` instead of an fsync per file
//! was another 15% faster on a quiet file system, but `syncfs` also writes back whatever
//! other processes have written to the file system: with one other process writing a large
//! file, deliveries fell to 356/s against 2,550/s with an fsync per file. (Imports, with
//! batches of thousands of files, do flush with `syncfs`.) A pipeline with one thread
//! flushing the next batch while another commits the current one made batches of 3-4
//! messages and halved throughput; waiting for writers still writing before committing made
//! batches no larger.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};

use crate::account::{Inner, Tx};
use crate::changes::Change;
use crate::codec::MessageRecord;
use crate::history::{Origin, SentRecipient};
use crate::ids::MessageIds;
use crate::mailbox::normalize_mailbox_name;
use crate::structure;
use crate::types::{Flags, LineEnding, MailboxId, MessageId, Timestamp};
use crate::{Account, Error};

/// Deliveries committed in one transaction at most.
const MAX_BATCH: usize = 512;

/// What to store with a new message besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// Initial flags and keywords.
    pub flags: Flags,
    /// Received time (IMAP INTERNALDATE); `None` for now.
    pub received: Option<Timestamp>,
    /// Header lines added at delivery (such as `Received:` or `Authentication-Results:`), each
    /// ending in CRLF. Kept in the database and served before the file, so the file is written
    /// once and never rewritten.
    pub prefix: Vec<u8>,
    /// SMTP MAIL FROM, if known.
    pub mail_from: String,
    /// Line endings the message arrived with, for export (see [`LineEnding`]).
    pub line_ending: LineEnding,
    /// Where a message delivered over SMTP came from, for reputation (see [`Origin`]);
    /// `None` for messages without delivery facts (IMAP APPEND, imports).
    pub origin: Option<Origin>,
    /// Addresses the message was sent to, for a message saved to a Sent mailbox or
    /// submitted: a later message from them, their domain or organizational domain counts
    /// as from a known correspondent ([`Snapshot::sent_to`](crate::Snapshot::sent_to)).
    pub sent_to: Vec<SentRecipient>,
}

/// Where a delivered message ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The new message.
    pub id: MessageId,
    /// Its mailbox.
    pub mailbox: MailboxId,
    /// Its UID (for APPENDUID, RFC 4315).
    pub uid: u32,
    /// Its MODSEQ.
    pub modseq: u64,
}

/// Writes a new message: kept in memory up to the account's inline limit (then stored in the
/// database, see [`Account::set_inline_limit`]), and in its file in the account's `msg/`
/// directory beyond. Write the message bytes, then call [`MessageWriter::finish`] to flush
/// them to disk, and pass the result to [`Account::deliver`]. Dropped unfinished, the file
/// (if any) is removed.
#[derive(Debug)]
pub struct MessageWriter {
    sink: Sink,
    new_file: NewFile,
    size: u64,
    /// Write-back error epoch when the writer was made (see `files::FileSystemSync`).
    written_at: u64,
    limit: u64,
    /// The account, for creating the file should the message outgrow the limit. Weak, as a
    /// writer does not keep the account open.
    inner: Weak<Inner>,
}

/// Where a [`MessageWriter`] puts the bytes.
#[derive(Debug)]
enum Sink {
    /// Up to the inline limit.
    Memory(Vec<u8>),
    File(File),
}

/// A message written to its file and flushed, or held for the database, ready for
/// [`Account::deliver`]. Dropped undelivered, the file is removed.
#[derive(Debug)]
pub struct PreparedMessage {
    file: Option<NewFile>,
    /// The message bytes, for a message stored in the database.
    inline: Option<Vec<u8>>,
    size: u64,
    structure: Vec<u8>,
    state: FileState,
}

/// How far a message file is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileState {
    /// Written, not flushed, in this write-back error epoch (see `files::FileSystemSync`).
    Unflushed(u64),
    /// Its data flushed (fdatasync), its directory entry not yet.
    DataFlushed,
    /// File and directory entry on disk (or no file: a message stored in the database).
    Durable,
}

/// The id of a message being written and, once it spilled to disk, its file, not committed
/// yet: dropped, the file is removed and the id given up (in that order, see the `ids`
/// module).
#[derive(Debug)]
struct NewFile {
    /// `None` while the message is only in memory.
    path: Option<PathBuf>,
    id: u64,
    ids: Arc<MessageIds>,
    /// Whether dropping removes the file: not once a transaction took it over.
    owned: bool,
}

impl NewFile {
    /// Hands the file over to a transaction, which commits it or removes it.
    fn hand_over(mut self) -> (Option<PathBuf>, u64, Arc<MessageIds>) {
        self.owned = false;
        (self.path.take(), self.id, self.ids.clone())
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if self.owned {
            if let Some(p) = &self.path {
                let _ = fs::remove_file(p);
            }
            self.ids.release(&[self.id]);
        }
    }
}

impl Write for MessageWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.sink {
            Sink::Memory(v) if (v.len() + buf.len()) as u64 <= self.limit => {
                v.extend_from_slice(buf);
                buf.len()
            }
            Sink::Memory(_) => {
                self.spill()?;
                return self.write(buf);
            }
            Sink::File(f) => f.write(buf)?,
        };
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Memory(_) => Ok(()),
            Sink::File(f) => f.flush(),
        }
    }
}

impl MessageWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Moves what was written so far from memory to the message's file: the message outgrew
    /// the inline limit.
    fn spill(&mut self) -> io::Result<()> {
        let inner = self.inner.upgrade().ok_or_else(|| {
            io::Error::other(Error::DeliveryAborted { reason: "the account was closed" })
        })?;
        let (mut file, path) =
            inner.create_message_file(self.new_file.id).map_err(io::Error::other)?;
        // From here on, dropping removes the file.
        self.new_file.path = Some(path);
        if let Sink::Memory(v) = &self.sink {
            file.write_all(v)?;
        }
        self.sink = Sink::File(file);
        Ok(())
    }

    /// The message file's path (where it is or would be), for error messages.
    fn path(&self) -> PathBuf {
        let rel = crate::files::message_path(self.new_file.id);
        match (&self.new_file.path, self.inner.upgrade()) {
            (Some(p), _) => p.clone(),
            (None, Some(inner)) => inner.dir.join(rel),
            (None, None) => rel,
        }
    }

    /// Flushes the message to disk (fdatasync) and hands it over for delivery. Parses its MIME
    /// structure (reading a file back).
    pub fn finish(self) -> Result<PreparedMessage, Error> {
        if let Sink::Memory(v) = &self.sink {
            let structure = structure::encode_structure(v);
            let mut p = self.finish_unparsed();
            p.structure = structure;
            return Ok(p);
        }
        let path = self.path();
        let data = fs::read(&path).map_err(Error::io(&path, "read message file"))?;
        self.finish_with(&data)
    }

    /// Like [`MessageWriter::finish`], for a caller that has the message bytes at hand: `data`
    /// must be what was written. Saves reading the file back.
    pub fn finish_with(self, data: &[u8]) -> Result<PreparedMessage, Error> {
        let structure = structure::encode_structure(data);
        if let Sink::File(f) = &self.sink {
            f.sync_data().map_err(Error::io(self.path(), "fsync message file"))?;
        }
        let in_file = matches!(self.sink, Sink::File(_));
        let mut p = self.finish_unparsed();
        p.structure = structure;
        if in_file {
            p.state = FileState::DataFlushed;
        }
        Ok(p)
    }

    /// Like [`MessageWriter::finish`] without parsing or flushing: for imports, which parse
    /// the data they have and flush a whole batch of files at once.
    pub(crate) fn finish_unparsed(self) -> PreparedMessage {
        let MessageWriter { sink, new_file, size, written_at, .. } = self;
        let (inline, state) = match sink {
            Sink::Memory(v) => (Some(v), FileState::Durable),
            Sink::File(f) => {
                drop(f);
                (None, FileState::Unflushed(written_at))
            }
        };
        PreparedMessage { file: Some(new_file), inline, size, structure: Vec::new(), state }
    }
}

impl PreparedMessage {
    /// Size of the message (without the prefix).
    pub fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn set_structure(&mut self, structure: Vec<u8>) {
        self.structure = structure;
    }

    /// The message's file; `None` for a message stored in the database.
    pub(crate) fn path(&self) -> Option<&PathBuf> {
        self.file.as_ref().and_then(|f| f.path.as_ref())
    }

    /// The write-back error epoch of a file not yet flushed.
    pub(crate) fn written_at(&self) -> Option<u64> {
        match self.state {
            FileState::Unflushed(e) => Some(e),
            _ => None,
        }
    }

    /// Records that the file and its directory entry were flushed to disk.
    pub(crate) fn mark_synced(&mut self) {
        self.state = FileState::Durable;
    }
}

pub(crate) struct PendingDelivery {
    pub mailbox: String,
    pub message: PreparedMessage,
    pub new: NewMessage,
}

impl Account {
    /// Starts writing a new message (see [`MessageWriter`]). It is kept in the database if it
    /// stays within the inline limit, unless the database has grown past three quarters of its
    /// memory map (then it goes to a file).
    pub fn message_writer(&self) -> Result<MessageWriter, Error> {
        if self.inner.read_only {
            return Err(Error::ReadOnly);
        }
        let inner = &self.inner;
        let id = inner.ids.allocate();
        let written_at = inner.fs_sync.epoch();
        // From here on, dropping gives the id up (and removes the file once there is one).
        let new_file = NewFile { path: None, id, ids: inner.ids.clone(), owned: true };
        let limit = inner.inline_limit_in_force();
        let mut w = MessageWriter {
            sink: Sink::Memory(Vec::new()),
            new_file,
            size: 0,
            written_at,
            limit,
            inner: Arc::downgrade(inner),
        };
        if limit == 0 {
            w.spill().map_err(|e| match e.downcast::<Error>() {
                Ok(e) => e,
                Err(e) => Error::io(w.path(), "create message file")(e),
            })?;
        }
        Ok(w)
    }

    /// Delivers a message to a mailbox, durably: when this returns `Ok`, the message file, its
    /// directory entry and its database records are on disk. Used for SMTP delivery and IMAP
    /// APPEND alike. The message must have been written for this account.
    ///
    /// Concurrent calls are committed together (see the module documentation of `deliver`), so
    /// delivering from many threads at once is much faster than one after another.
    #[doc(alias = "append")]
    pub fn deliver(
        &self,
        mailbox: &str,
        message: PreparedMessage,
        new: NewMessage,
    ) -> Result<Delivered, Error> {
        if self.inner.read_only {
            return Err(Error::ReadOnly);
        }
        let pending = PendingDelivery { mailbox: mailbox.to_string(), message, new };
        self.inner.group.submit(&self.inner, pending)
    }

    /// Like [`Account::deliver`], without waiting: queues the delivery for the account's next
    /// group commit and returns at once. `done` gets the result, on the thread that committed
    /// it, once the message is durable (or the delivery failed): a committer thread the account
    /// starts for these, or a thread in [`Account::deliver`] that happened to commit the batch.
    /// For async servers, so that no thread waits per delivery. `done` must not block.
    pub fn deliver_then(
        &self,
        mailbox: &str,
        message: PreparedMessage,
        new: NewMessage,
        done: impl FnOnce(Result<Delivered, Error>) + Send + 'static,
    ) {
        if self.inner.read_only {
            return done(Err(Error::ReadOnly));
        }
        let pending = PendingDelivery { mailbox: mailbox.to_string(), message, new };
        GroupCommit::submit_then(&self.inner, pending, Box::new(done));
    }

    /// Writes `data` as a new message and delivers it: [`Account::message_writer`], write,
    /// [`MessageWriter::finish`] and [`Account::deliver`] in one call.
    pub fn deliver_bytes(
        &self,
        mailbox: &str,
        data: &[u8],
        new: NewMessage,
    ) -> Result<Delivered, Error> {
        let mut w = self.message_writer()?;
        if let Err(e) = w.write_all(data) {
            return Err(Error::io(w.path(), "write message file")(e));
        }
        let prepared = w.finish_with(data)?;
        self.deliver(mailbox, prepared, new)
    }
}

/// Queue of deliveries waiting to be committed; see the module documentation.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<QueueState>,
    done: Condvar,
    /// Wakes the committer thread (for [`Account::deliver_then`]).
    work: Condvar,
}

/// Called with the result of a delivery queued by [`Account::deliver_then`].
type Callback = Box<dyn FnOnce(Result<Delivered, Error>) + Send>;

#[derive(Default)]
struct QueueState {
    queue: VecDeque<(u64, PendingDelivery)>,
    /// Whether a thread is committing a batch right now.
    leader: bool,
    results: HashMap<u64, Result<Delivered, Error>>,
    /// Deliveries nobody waits for: their results go to these.
    callbacks: HashMap<u64, Callback>,
    next_ticket: u64,
    /// Whether the committer thread was started.
    committer: bool,
    /// Set when the account closes: the committer thread ends.
    closing: bool,
}

fn lock(m: &Mutex<QueueState>) -> MutexGuard<'_, QueueState> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GroupCommit {
    pub(crate) fn submit(
        &self,
        inner: &Inner,
        delivery: PendingDelivery,
    ) -> Result<Delivered, Error> {
        let mut st = lock(&self.state);
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.queue.push_back((ticket, delivery));
        loop {
            if let Some(r) = st.results.remove(&ticket) {
                return r;
            }
            if !st.leader && !st.queue.is_empty() {
                // Nobody is committing: this thread commits everything queued so far (which
                // includes its own delivery unless the queue is longer than a batch).
                st = self.lead(inner, st);
                continue;
            }
            st = self.done.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Queues a delivery whose result goes to `done`; the committer thread (started on first
    /// use) commits it unless a thread in [`GroupCommit::submit`] does first.
    fn submit_then(inner: &Arc<Inner>, delivery: PendingDelivery, done: Callback) {
        let gc = &inner.group;
        let mut st = lock(&gc.state);
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.queue.push_back((ticket, delivery));
        st.callbacks.insert(ticket, done);
        if !st.committer {
            st.committer = true;
            let (group, weak) = (inner.group.clone(), Arc::downgrade(inner));
            let spawned = std::thread::Builder::new()
                .name("store-commit".into())
                .spawn(move || committer(group, weak));
            if let Err(e) = spawned {
                // Fail what is queued for it rather than leave it waiting for ever.
                st.committer = false;
                let failed: Vec<_> = st.callbacks.drain().collect();
                st.queue.retain(|(t, _)| !failed.iter().any(|(f, _)| f == t));
                drop(st);
                let e = Arc::new(Error::io(&inner.dir, "start the commit thread")(e));
                for (_, cb) in failed {
                    cb(Err(Error::GroupCommitFailed { source: e.clone() }));
                }
                return;
            }
        }
        if !st.leader {
            gc.work.notify_one();
        }
    }

    /// Commits a batch from the queue as its leader, hands out the results, and returns the
    /// lock again.
    fn lead<'a>(
        &'a self,
        inner: &Inner,
        mut st: MutexGuard<'a, QueueState>,
    ) -> MutexGuard<'a, QueueState> {
        st.leader = true;
        let n = st.queue.len().min(MAX_BATCH);
        let batch: Vec<_> = st.queue.drain(..n).collect();
        drop(st);
        let mut guard = LeaderGuard {
            gc: self,
            tickets: batch.iter().map(|(t, _)| *t).collect(),
            results: None,
        };
        guard.results = Some(commit_batch(inner, batch));
        drop(guard);
        lock(&self.state)
    }
}

/// The committer thread of an account: commits what [`Account::deliver_then`] queued, until
/// the account closes or it has been idle for [`COMMITTER_IDLE`]. Holds the account only
/// while committing, so it can close meanwhile.
fn committer(gc: Arc<GroupCommit>, inner: Weak<Inner>) {
    let mut st = lock(&gc.state);
    loop {
        if st.closing {
            return;
        }
        if !st.leader && !st.queue.is_empty() && !st.callbacks.is_empty() {
            drop(st);
            let Some(inner) = inner.upgrade() else { return };
            // A commit that panics fails its batch (see `LeaderGuard`); the thread goes on, so
            // later deliveries are not left waiting.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let st = lock(&gc.state);
                if !st.leader && !st.queue.is_empty() {
                    drop(gc.lead(&inner, st));
                }
            }));
            // The last reference may go here, closing the account: not under the lock.
            drop(inner);
            st = lock(&gc.state);
            continue;
        }
        let (guard, wait) =
            gc.work.wait_timeout(st, COMMITTER_IDLE).unwrap_or_else(PoisonError::into_inner);
        st = guard;
        if wait.timed_out() && st.callbacks.is_empty() && !st.closing {
            // Idle: an account that gets no mail for a while holds no thread. The next
            // `deliver_then` starts another (under this lock, so none is missed).
            st.committer = false;
            return;
        }
    }
}

/// How long the committer thread waits for work before it ends.
#[cfg(not(test))]
const COMMITTER_IDLE: std::time::Duration = std::time::Duration::from_secs(10);
#[cfg(test)]
const COMMITTER_IDLE: std::time::Duration = std::time::Duration::from_millis(200);

impl GroupCommit {
    /// Ends the committer thread (the account is closing). Deliveries still queued for it
    /// cannot be: their owners hold the account.
    pub(crate) fn close(&self) {
        lock(&self.state).closing = true;
        self.work.notify_all();
    }
}

/// Hands a batch's results to the waiting threads and callbacks and gives up leadership, also
/// if the commit panicked (then every delivery of the batch fails instead of waiting forever).
struct LeaderGuard<'a> {
    gc: &'a GroupCommit,
    tickets: Vec<u64>,
    results: Option<Vec<(u64, Result<Delivered, Error>)>>,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        let results = self.results.take().unwrap_or_else(|| {
            self.tickets
                .iter()
                .map(|t| (*t, Err(Error::DeliveryAborted { reason: "the group commit panicked" })))
                .collect()
        });
        let mut st = lock(&self.gc.state);
        st.leader = false;
        let mut calls = Vec::new();
        for (ticket, r) in results {
            match st.callbacks.remove(&ticket) {
                Some(cb) => calls.push((cb, r)),
                None => {
                    st.results.insert(ticket, r);
                }
            }
        }
        if !st.queue.is_empty() && !st.callbacks.is_empty() {
            self.gc.work.notify_one();
        }
        drop(st);
        self.gc.done.notify_all();
        for (cb, r) in calls {
            cb(r);
        }
    }
}

fn commit_batch(
    inner: &Inner,
    batch: Vec<(u64, PendingDelivery)>,
) -> Vec<(u64, Result<Delivered, Error>)> {
    let tickets: Vec<u64> = batch.iter().map(|(t, _)| *t).collect();
    let mut results = Vec::with_capacity(batch.len());
    let r = inner.write(|tx| {
        for (ticket, d) in batch {
            results.push((ticket, deliver_one(tx, d)?));
        }
        Ok(())
    });
    match r {
        Ok(()) => results,
        Err(e) => {
            let e = Arc::new(e);
            tickets
                .into_iter()
                .map(|t| (t, Err(Error::GroupCommitFailed { source: e.clone() })))
                .collect()
        }
    }
}

/// Adds one delivery to the batch's transaction. The outer error fails the whole batch (the
/// transaction may be partly written); the inner one rejects only this delivery, and is only
/// returned before anything was written for it.
fn deliver_one(tx: &mut Tx<'_>, mut d: PendingDelivery) -> Result<Result<Delivered, Error>, Error> {
    let name = match normalize_mailbox_name(&d.mailbox) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let Some(mailbox) = tx.mailbox_id_by_name(&name)?.map(MailboxId) else {
        return Ok(Err(Error::MailboxNotFound { name }));
    };
    insert_message(tx, mailbox, &mut d.message, d.new)
}

/// Adds a prepared message to a mailbox in a transaction. Errors as for `deliver_one`.
pub(crate) fn insert_message(
    tx: &mut Tx<'_>,
    mailbox: MailboxId,
    message: &mut PreparedMessage,
    new: NewMessage,
) -> Result<Result<Delivered, Error>, Error> {
    match tx.mailbox(mailbox.0)? {
        Some(rec) if !rec.selectable => {
            return Ok(Err(Error::MailboxNotSelectable { name: rec.name.clone() }));
        }
        Some(rec) if rec.uid_next == u32::MAX => {
            return Ok(Err(Error::UidsExhausted { name: rec.name.clone() }));
        }
        Some(_) => {}
        None => return Ok(Err(Error::MailboxNotFound { name: format!("#{}", mailbox.0) })),
    }
    let size = new.prefix.len() as u64 + message.size;
    if let Err(e) = tx.check_quota(size) {
        return Ok(Err(e));
    }
    let id = match place_file(tx, message) {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(body) = message.inline.take() {
        tx.put_body(id, &body)?;
    }

    let uid = tx.allocate_uid(mailbox)?;
    let modseq = tx.modseq()?;
    let mut flags = new.flags;
    flags.dedup_keywords();
    let keywords = tx.keyword_ids(&flags.keywords)?;
    let received = new.received.unwrap_or_else(Timestamp::now);
    tx.history_on_insert(id, mailbox, received.unix, size, &flags, new.origin, new.sent_to)?;
    let rec = MessageRecord {
        mailbox: mailbox.0,
        uid,
        created_modseq: modseq,
        size,
        received,
        line_ending: new.line_ending,
        mail_from: new.mail_from,
        prefix: new.prefix,
        structure: std::mem::take(&mut message.structure),
    };
    tx.put_message_record(id, &rec)?;
    tx.put_state(mailbox, uid, id, modseq, flags.system, &keywords)?;
    tx.existing_mailbox(mailbox.0)?.counts.add(flags.system, size);
    tx.size_delta += size as i64;
    tx.changes.push(Change::MessageAdded { mailbox, uid, message: MessageId(id), modseq, flags });
    Ok(Ok(Delivered { id: MessageId(id), mailbox, uid, modseq }))
}

/// Hands a prepared message's file (written in place under its id) over to the transaction:
/// removed should the transaction fail, and with its directory entries flushed before commit
/// unless that was done already. Returns the message id.
pub(crate) fn place_file(tx: &mut Tx<'_>, message: &mut PreparedMessage) -> Result<u64, Error> {
    let Some(file) = message.file.take() else {
        return Err(Error::DeliveryAborted { reason: "message file was already delivered" });
    };
    if !Arc::ptr_eq(&file.ids, &tx.inner.ids) {
        message.file = Some(file);
        return Err(Error::DeliveryAborted { reason: "message was written for another account" });
    }
    let (path, id, _) = file.hand_over();
    tx.take_message_id(id);
    // A message kept in the database has no file (its bytes are put by the caller).
    let Some(path) = path else { return Ok(id) };
    if let FileState::Unflushed(written_at) = message.state {
        tx.unsynced_file(path.clone(), written_at);
    }
    // (A new subdirectory was made durable when it was created.)
    if message.state != FileState::Durable
        && let Some(dir) = path.parent()
    {
        tx.sync_dir_before_commit(dir.to_path_buf());
    }
    tx.created_file(path);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::test_util::{account, file_account, msg};
    use crate::{Change, SpecialUse, SystemFlags, UidSet};

    #[test]
    fn deliver_stores_prefix_flags_and_received() {
        let (_d, acc) = file_account();
        let new = NewMessage {
            flags: Flags::parse(["\\Seen", "$Forwarded"]).unwrap(),
            received: Some(Timestamp { unix: 1_700_000_000, offset_minutes: 120 }),
            prefix: b"Received: by test\r\n".to_vec(),
            mail_from: "sender@example.org".into(),
            line_ending: LineEnding::Crlf,
            ..Default::default()
        };
        let d = acc.deliver_bytes("inbox", &msg(1), new).unwrap();
        assert_eq!(d.uid, 1);
        let snap = acc.snapshot().unwrap();
        let m = snap.message(d.id).unwrap().unwrap();
        assert_eq!(m.received, Timestamp { unix: 1_700_000_000, offset_minutes: 120 });
        assert_eq!(m.mail_from, "sender@example.org");
        assert_eq!(m.size, (19 + msg(1).len()) as u64);
        assert_eq!(m.created_modseq, d.modseq);
        let s = snap.message_state(d.mailbox, 1).unwrap().unwrap();
        assert!(s.flags.system.contains(SystemFlags::SEEN));
        assert!(s.flags.has_keyword("$forwarded"));
        drop(snap);
        assert_eq!(
            acc.read_message(d.id).unwrap(),
            [&b"Received: by test\r\n"[..], &msg(1)].concat()
        );
        // The structure's offsets are into the message as served, prefix included.
        let st = acc.snapshot().unwrap().message(d.id).unwrap().unwrap().structure().unwrap();
        let served = acc.read_message(d.id).unwrap();
        assert_eq!(st.header_offset, 0);
        assert_eq!(&served[st.body_offset as usize..st.body_end as usize], b"Body 1\r\n");
        assert_eq!((st.media_type.as_str(), st.subtype.as_str(), st.lines), ("text", "plain", 1));
        // The file holds the message as given; the prefix lives in the database.
        assert_eq!(std::fs::read(acc.message_file(d.id)).unwrap(), msg(1));
        assert!(matches!(
            acc.deliver_bytes("Nope", b"x", NewMessage::default()),
            Err(Error::MailboxNotFound { .. })
        ));
    }

    #[test]
    fn writer_streams_and_cleans_up() {
        let (_d, acc) = file_account();
        let mut w = acc.message_writer().unwrap();
        w.write_all(b"Subject: streamed\r\n\r\n").unwrap();
        w.write_all(b"body\r\n").unwrap();
        assert_eq!(w.size(), 27);
        let p = w.finish().unwrap();
        let d = acc.deliver("Inbox", p, NewMessage::default()).unwrap();
        assert_eq!(acc.read_message(d.id).unwrap(), b"Subject: streamed\r\n\r\nbody\r\n");
        let st = acc.snapshot().unwrap().message(d.id).unwrap().unwrap().structure().unwrap();
        assert_eq!(st.body_offset, 21, "structure parsed from the file read back");
        // Abandoned writers and failed deliveries leave no file behind.
        let mut w = acc.message_writer().unwrap();
        w.write_all(b"x").unwrap();
        drop(w);
        let w = acc.message_writer().unwrap();
        assert!(acc.deliver("Missing", w.finish().unwrap(), NewMessage::default()).is_err());
        assert_eq!(message_files(&acc), [d.id.0]);
        assert_eq!(std::fs::read_dir(acc.dir().join("tmp")).unwrap().count(), 0);
        // A message written for one account is not delivered into another.
        let (_d2, other) = account();
        let p = other.message_writer().unwrap().finish_with(b"").unwrap();
        let e = acc.deliver("Inbox", p, NewMessage::default()).unwrap_err();
        assert!(matches!(e, Error::DeliveryAborted { .. }), "{e}");
        assert_eq!(message_files(&acc), [d.id.0]);
        assert!(message_files(&other).is_empty());
    }

    /// Ids of the files in an account's `msg/`.
    fn message_files(acc: &Account) -> Vec<u64> {
        let mut ids: Vec<u64> = std::fs::read_dir(acc.dir().join("msg"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .map(|f| f.unwrap().file_name().to_str().unwrap().parse().unwrap())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn messages_commit_out_of_id_order_and_a_crash_leaves_only_leftovers() {
        use crate::verify::{VerifyReport, verify_account};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acc");
        let verify = || {
            let mut r = VerifyReport::default();
            verify_account(&path, "acc", None, false, &mut r).unwrap();
            r
        };
        let (slow_id, fast) = {
            let acc = Account::open_or_create(&path).unwrap();
            acc.set_inline_limit(0);
            // A slow delivery gets its id first, then a quick one overtakes it and commits.
            let mut slow = acc.message_writer().unwrap();
            slow.write_all(b"Subject: slow\r\n\r\n").unwrap();
            let slow_id = slow.new_file.id;
            let fast = acc.deliver_bytes("Inbox", &msg(1), NewMessage::default()).unwrap();
            assert!(fast.id.0 > slow_id);
            // The slow file, below the committed next id, is still known to be uncommitted.
            let r = verify();
            assert!(r.is_ok(), "{:?}", r.problems);
            assert_eq!(r.leftovers.len(), 1, "{:?}", r.leftovers);
            assert!(r.leftovers[0].contains(&format!("message file {slow_id}:")));
            // Crash: the process dies with the slow delivery unfinished.
            std::mem::forget(slow);
            (slow_id, fast)
        };
        let r = verify();
        assert!(r.is_ok() && r.leftovers.len() == 1, "{r:?}");
        let acc = Account::open_existing(&path).unwrap();
        assert!(!acc.message_file(MessageId(slow_id)).exists(), "removed at open");
        assert_eq!(acc.read_message(fast.id).unwrap(), msg(1));
        drop(acc);
        let r = verify();
        assert!(r.is_ok() && r.leftovers.is_empty(), "{r:?}");
        // Ids go on from where they were, and the mark moves along.
        let acc = Account::open_existing(&path).unwrap();
        let d = acc.deliver_bytes("Inbox", &msg(2), NewMessage::default()).unwrap();
        assert!(d.id.0 > fast.id.0);
        drop(acc);
        let r = verify();
        assert!(r.is_ok() && r.leftovers.is_empty(), "{r:?}");
    }

    #[test]
    fn concurrent_deliveries_are_group_committed() {
        let (_d, acc) = account();
        acc.create_mailbox("Other", SpecialUse::NONE).unwrap();
        let mut rx = acc.watch();
        let threads = 32;
        let per = 20;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let acc = acc.clone();
                std::thread::spawn(move || {
                    (0..per)
                        .map(|i| {
                            let mb = if i % 4 == 0 { "Other" } else { "Inbox" };
                            acc.deliver_bytes(mb, &msg(t * 1000 + i), NewMessage::default())
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let delivered: Vec<Delivered> =
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        assert_eq!(delivered.len(), (threads * per) as usize);
        let ids: BTreeSet<_> = delivered.iter().map(|d| d.id).collect();
        assert_eq!(ids.len(), delivered.len(), "message ids are unique");
        let snap = acc.snapshot().unwrap();
        for name in ["Inbox", "Other"] {
            let mb = snap.mailbox(name).unwrap().unwrap();
            let uids = snap.uids(mb.id).unwrap();
            // UIDs are 1..=n without gaps or duplicates, and UIDNEXT follows.
            assert_eq!(uids, (1..=uids.len() as u32).collect::<Vec<_>>());
            assert_eq!(mb.uid_next, uids.len() as u32 + 1);
            assert_eq!(mb.counts.messages, uids.len() as u64);
        }
        // Every delivery is readable with its own content.
        for d in &delivered {
            let m = snap.message(d.id).unwrap().unwrap();
            assert_eq!((m.mailbox, m.uid), (d.mailbox, d.uid));
        }
        drop(snap);
        // Commits were batched: fewer transactions than deliveries, each with one MODSEQ, in
        // increasing order; together they announce every delivery once.
        let mut batches = 0;
        let mut last = 0;
        let mut announced = BTreeSet::new();
        while let Some(c) = rx.try_recv() {
            batches += 1;
            let m = c.modseq.unwrap();
            assert!(m > last);
            last = m;
            for ch in &c.changes {
                let Change::MessageAdded { message, modseq, .. } = ch else { panic!("{ch:?}") };
                assert_eq!(*modseq, m);
                assert!(announced.insert(*message));
            }
        }
        assert_eq!(announced, ids);
        assert!(
            batches < delivered.len(),
            "{batches} transactions for {} deliveries",
            delivered.len()
        );
    }

    #[test]
    fn watchers_see_commits_in_order_across_threads() {
        let (_d, acc) = account();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        for n in 0..10 {
            crate::test_util::deliver(&acc, "Inbox", n);
        }
        let mut rx = acc.watch();
        let acc2 = acc.clone();
        let flagger = std::thread::spawn(move || {
            for i in 0..50u32 {
                let op = if i % 2 == 0 { crate::FlagOp::Add } else { crate::FlagOp::Remove };
                acc2.store_flags(
                    inbox,
                    &UidSet::all(),
                    op,
                    &Flags::system(SystemFlags::FLAGGED),
                    None,
                )
                .unwrap();
            }
        });
        for n in 0..50 {
            crate::test_util::deliver(&acc, "Inbox", n);
        }
        flagger.join().unwrap();
        let mut last = 0;
        let mut n = 0;
        while let Some(c) = rx.try_recv() {
            let m = c.modseq.unwrap();
            assert!(m > last, "published out of commit order: {m} after {last}");
            last = m;
            n += 1;
        }
        assert!(n >= 51);
        assert_eq!(acc.snapshot().unwrap().account_modseq().unwrap(), last);
        let _ = Arc::new(());
    }

    #[test]
    fn deliver_then_commits_on_the_committer_thread_alongside_waiting_deliveries() {
        let (_d, acc) = account();
        let (tx, rx) = std::sync::mpsc::channel();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (acc, tx) = (acc.clone(), tx.clone());
                std::thread::spawn(move || {
                    for n in 0..25 {
                        let mut w = acc.message_writer().unwrap();
                        w.write_all(&msg(t * 100 + n)).unwrap();
                        let prepared = w.finish().unwrap();
                        if n % 5 == 0 {
                            // Some wait, and may commit others' deliveries.
                            let d = acc.deliver("Inbox", prepared, NewMessage::default());
                            tx.send((t * 100 + n, d, "waited")).unwrap();
                        } else {
                            let tx = tx.clone();
                            let id = t * 100 + n;
                            acc.deliver_then("Inbox", prepared, NewMessage::default(), move |d| {
                                tx.send((id, d, "callback")).unwrap();
                            });
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(tx);
        let results: Vec<_> = rx.iter().collect();
        assert_eq!(results.len(), 100);
        assert_eq!(results.iter().filter(|r| r.2 == "callback").count(), 80);
        let mut uids = BTreeSet::new();
        for (n, d, _) in results {
            let d = d.unwrap();
            assert!(uids.insert(d.uid));
            assert_eq!(acc.read_message(d.id).unwrap(), msg(n));
        }
        assert_eq!(acc.mailbox("Inbox").unwrap().unwrap().counts.messages, 100);
        // A failing delivery fails only itself, through its callback.
        let w = acc.message_writer().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        acc.deliver_then("Nope", w.finish().unwrap(), NewMessage::default(), move |d| {
            tx.send(d).unwrap();
        });
        assert!(matches!(rx.recv().unwrap(), Err(Error::MailboxNotFound { .. })));
    }

    #[test]
    fn the_committer_thread_does_not_keep_the_account_open() {
        let (_d, acc) = account();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut w = acc.message_writer().unwrap();
        w.write_all(&msg(1)).unwrap();
        acc.deliver_then("Inbox", w.finish().unwrap(), NewMessage::default(), move |d| {
            tx.send(d).unwrap();
        });
        rx.recv().unwrap().unwrap();
        let weak = Arc::downgrade(&acc.inner);
        drop(acc);
        // The committer holds the account only while committing.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while weak.upgrade().is_some() {
            assert!(std::time::Instant::now() < deadline, "the account stayed open");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn an_idle_committer_thread_ends_and_a_new_one_starts_on_demand() {
        let (_d, acc) = account();
        let deliver = |n| {
            let (tx, rx) = std::sync::mpsc::channel();
            let mut w = acc.message_writer().unwrap();
            w.write_all(&msg(n)).unwrap();
            acc.deliver_then("Inbox", w.finish().unwrap(), NewMessage::default(), move |d| {
                tx.send(d).unwrap();
            });
            rx.recv().unwrap().unwrap()
        };
        let committer = || lock(&acc.inner.group.state).committer;
        let d = deliver(1);
        assert!(committer());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while committer() {
            assert!(std::time::Instant::now() < deadline, "the idle committer did not end");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let d2 = deliver(2);
        assert_eq!((d.uid, d2.uid), (1, 2));
        assert_eq!(acc.read_message(d2.id).unwrap(), msg(2));
    }
}
