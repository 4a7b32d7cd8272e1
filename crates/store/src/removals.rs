//! Removing the files of expunged messages after their transaction committed, on a
//! background thread: the expunge is answered without waiting for the file system (on a file
//! system mounted with online discard, an unlink waits for the device to discard the blocks).
//!
//! Safe to lose: a removal is recorded in `pending_removals` in the transaction that expunges,
//! and an entry is deleted only after its file is gone (in a later transaction); opening the
//! account carries out removals still recorded. Message ids are never handed out again once
//! committed, so a late removal never hits a newer message.

use std::path::PathBuf;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};

/// An account's removals in progress and done.
#[derive(Default)]
pub(crate) struct Removals {
    state: Mutex<State>,
    settled: Condvar,
}

#[derive(Default)]
struct State {
    /// Files handed to the background thread, not yet removed.
    queued: usize,
    /// Ids whose files are gone: their `pending_removals` entries can be deleted.
    done: Vec<u64>,
}

struct Job {
    account_dir: PathBuf,
    ids: Vec<u64>,
    removals: Arc<Removals>,
}

/// The one thread of the process that removes files, fed by a channel; `None` if it could not
/// be started (then removals are done by the committing thread, as before).
static REMOVER: LazyLock<Option<Mutex<Sender<Job>>>> = LazyLock::new(|| {
    let (tx, rx) = channel::<Job>();
    std::thread::Builder::new()
        .name("store-remover".into())
        .spawn(move || {
            for job in rx {
                job.run();
            }
        })
        .ok()?;
    Some(Mutex::new(tx))
});

impl Job {
    fn run(self) {
        let mut removed = Vec::with_capacity(self.ids.len());
        for id in &self.ids {
            // A failure leaves the entry in pending_removals: retried at the next open.
            if crate::account::remove_message_file(&self.account_dir, *id).is_ok() {
                removed.push(*id);
            }
        }
        let mut st = self.removals.lock();
        st.done.extend(removed);
        st.queued -= self.ids.len();
        self.removals.settled.notify_all();
    }
}

impl Removals {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the files of committed messages `ids` of the account in `account_dir`, soon.
    pub(crate) fn schedule(self: &Arc<Self>, account_dir: &std::path::Path, ids: Vec<u64>) {
        if ids.is_empty() {
            return;
        }
        self.lock().queued += ids.len();
        let job = Job { account_dir: account_dir.to_path_buf(), ids, removals: self.clone() };
        let job = match &*REMOVER {
            Some(tx) => match tx.lock().unwrap_or_else(PoisonError::into_inner).send(job) {
                Ok(()) => return,
                Err(e) => e.0,
            },
            None => job,
        };
        job.run();
    }

    /// Records ids whose files were removed otherwise (at open).
    pub(crate) fn removed(&self, ids: impl IntoIterator<Item = u64>) {
        self.lock().done.extend(ids);
    }

    /// Takes the ids whose files are gone, for deleting their `pending_removals` entries.
    pub(crate) fn take_done(&self) -> Vec<u64> {
        std::mem::take(&mut self.lock().done)
    }

    /// Waits until every scheduled file is removed.
    pub(crate) fn wait(&self) {
        let mut st = self.lock();
        while st.queued > 0 {
            st = self.settled.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_util::{deliver, file_account};
    use crate::{Account, FlagOp, Flags, SystemFlags, UidSet};

    fn pending(acc: &Account) -> u64 {
        let txn = acc.inner.env.read_txn().unwrap();
        acc.inner.db.pending_removals.len(&txn).unwrap()
    }

    #[test]
    fn expunged_files_go_then_their_pending_entries() {
        let (_d, acc) = file_account();
        let d = deliver(&acc, "Inbox", 1);
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let deleted = Flags::system(SystemFlags::DELETED);
        acc.store_flags(inbox, &UidSet::all(), FlagOp::Add, &deleted, None).unwrap();
        assert_eq!(acc.expunge(inbox, None).unwrap(), [1]);
        acc.inner.removals.wait();
        assert!(!acc.message_file(d.id).exists());
        assert_eq!(pending(&acc), 1, "the entry goes with the next transaction");
        deliver(&acc, "Inbox", 2);
        assert_eq!(pending(&acc), 0);
    }
}
