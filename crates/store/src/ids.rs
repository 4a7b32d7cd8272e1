//! Message ids, handed out when a message file is created, so the file is written where it
//! belongs (`msg/<id / 4096>/<id>`) and never renamed; messages then commit in any order.
//!
//! After a crash, recovery must tell files of messages that never committed from the others.
//! So every commit records, besides the next id, the smallest id handed out and neither
//! committed nor given up yet: "uncommitted from". A file at or above that mark without a
//! message record is from an interrupted write (removed when the account is opened; a leftover
//! to `verifydata`); one below it without a record is a problem. The mark never decreases: ids
//! are handed out in increasing order, an id is only given up once its file is gone, and a
//! transaction gives up its own ids only as it commits them.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug)]
pub(crate) struct MessageIds {
    state: Mutex<IdState>,
}

#[derive(Debug)]
struct IdState {
    next: u64,
    /// Handed out, not yet committed or given up.
    outstanding: BTreeSet<u64>,
}

impl MessageIds {
    pub(crate) fn new(next: u64) -> MessageIds {
        MessageIds { state: Mutex::new(IdState { next, outstanding: BTreeSet::new() }) }
    }

    fn lock(&self) -> MutexGuard<'_, IdState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new id, never handed out before.
    pub(crate) fn allocate(&self) -> u64 {
        let mut st = self.lock();
        let id = st.next;
        st.next += 1;
        st.outstanding.insert(id);
        id
    }

    /// Gives ids up: their files must be gone already.
    pub(crate) fn release(&self, ids: &[u64]) {
        let mut st = self.lock();
        for id in ids {
            st.outstanding.remove(id);
        }
    }

    /// For a transaction about to commit the messages `own`: gives them up and returns the next
    /// id and the "uncommitted from" mark to record with the commit. Call with the write lock
    /// held, so no other transaction commits in between.
    pub(crate) fn commit_marks(&self, own: &[u64]) -> (u64, u64) {
        let mut st = self.lock();
        for id in own {
            st.outstanding.remove(id);
        }
        let mark = st.outstanding.first().copied().unwrap_or(st.next);
        (st.next, mark)
    }

    /// The next id to be handed out.
    #[cfg(test)]
    pub(crate) fn next(&self) -> u64 {
        self.lock().next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_is_the_oldest_outstanding_id_and_never_decreases() {
        let ids = MessageIds::new(10);
        let (a, b, c) = (ids.allocate(), ids.allocate(), ids.allocate());
        assert_eq!((a, b, c), (10, 11, 12));
        // b commits first: a and c are still being written.
        assert_eq!(ids.commit_marks(&[b]), (13, 10));
        ids.release(&[a]); // a was abandoned, its file removed
        assert_eq!(ids.commit_marks(&[]), (13, 12));
        let d = ids.allocate();
        assert_eq!(ids.commit_marks(&[c]), (14, d));
        assert_eq!(ids.commit_marks(&[d]), (14, 14));
        assert_eq!(ids.next(), 14);
    }
}
