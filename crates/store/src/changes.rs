//! Change notifications: what each committed transaction changed, published to watchers of the
//! account in commit order (IMAP IDLE and the unsolicited responses of other sessions are built
//! on this).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::types::{Flags, MailboxId, MessageId, SpecialUse};

/// Everything one transaction changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The MODSEQ the transaction assigned to the messages it changed, if it changed messages.
    pub modseq: Option<u64>,
    /// The changes, in the order they were made.
    pub changes: Vec<Change>,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A message was delivered, appended, copied or moved into a mailbox.
    MessageAdded {
        /// The mailbox.
        mailbox: MailboxId,
        /// Its UID there.
        uid: u32,
        /// The message.
        message: MessageId,
        /// Its MODSEQ.
        modseq: u64,
        /// Its flags.
        flags: Flags,
    },
    /// The flags of a message changed.
    FlagsChanged {
        /// The mailbox.
        mailbox: MailboxId,
        /// The message's UID.
        uid: u32,
        /// Its new MODSEQ.
        modseq: u64,
        /// Its new flags.
        flags: Flags,
    },
    /// Messages were expunged from a mailbox (or moved out of it).
    Expunged {
        /// The mailbox.
        mailbox: MailboxId,
        /// UIDs, ascending.
        uids: Vec<u32>,
        /// MODSEQ of the expunge (of the tombstones).
        modseq: u64,
    },
    /// A mailbox was created (or a `\Noselect` name made selectable again).
    MailboxCreated {
        /// The mailbox.
        mailbox: MailboxId,
        /// Its name.
        name: String,
    },
    /// A mailbox was renamed.
    MailboxRenamed {
        /// The mailbox.
        mailbox: MailboxId,
        /// The old name.
        old_name: String,
        /// The new name.
        new_name: String,
    },
    /// A mailbox was deleted. If it had children, its name is kept as `\Noselect`.
    MailboxDeleted {
        /// The mailbox.
        mailbox: MailboxId,
        /// Its name.
        name: String,
        /// Whether the name stays, as `\Noselect`, because it has children.
        kept_as_noselect: bool,
    },
    /// The special-use attributes of a mailbox were set.
    SpecialUseChanged {
        /// The mailbox.
        mailbox: MailboxId,
        /// The new attributes.
        special_use: SpecialUse,
    },
    /// A name was subscribed to.
    Subscribed {
        /// The mailbox name.
        name: String,
    },
    /// A name was unsubscribed from.
    Unsubscribed {
        /// The mailbox name.
        name: String,
    },
    /// Annotations (IMAP METADATA, RFC 5464) of a mailbox or of the server were set or
    /// removed.
    AnnotationsChanged {
        /// The mailbox; `None` for server annotations.
        mailbox: Option<MailboxId>,
        /// The entry names, as given.
        names: Vec<String>,
    },
    /// Not a change: the receiver fell too far behind and the changes queued for it were
    /// dropped ([`MAX_QUEUED_CHANGES`]); read the current state from the database. Only ever
    /// the one change of its [`Changes`].
    Overflow,
}

/// Changes queued for one watcher at most (counting each message of a change once): past
/// this, the watcher's queue is emptied and it receives [`Change::Overflow`] instead, so a
/// watcher that stops reading (a stuck IMAP connection) costs bounded memory and never holds
/// up a commit.
pub const MAX_QUEUED_CHANGES: usize = 10_000;

/// Receives the changes of an account, one [`Changes`] per committed transaction, in commit
/// order. Usable from async code (`recv().await`) and from threads (`blocking_recv`). Dropping it
/// unsubscribes.
///
/// The queue is bounded ([`MAX_QUEUED_CHANGES`]): a watcher that falls that far behind loses
/// the queued changes and gets one `Changes` holding only [`Change::Overflow`], after which it
/// must read the current state from the database (an IMAP session resynchronizes its view from
/// MODSEQs). Changes committed after the overflow are delivered normally again.
#[derive(Debug)]
pub struct ChangeReceiver {
    pub(crate) rx: mpsc::UnboundedReceiver<Arc<Changes>>,
    queue: Arc<Mutex<QueueState>>,
}

impl crate::Account {
    /// Like [`Account::watch`](crate::Account::watch), with a smaller bound than
    /// [`MAX_QUEUED_CHANGES`] (tests of overflow handling use a handful).
    pub fn watch_with_limit(&self, limit: usize) -> ChangeReceiver {
        self.inner
            .watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add_with_limit(limit)
    }
}

/// How much one watcher has queued, shared by its sender and receiver.
#[derive(Debug, Default)]
struct QueueState {
    /// Weight of the queued changes (see [`weight`]).
    queued: usize,
    /// The queue overflowed: nothing more is queued until the receiver takes the marker.
    overflowed: bool,
    /// The bound (see [`MAX_QUEUED_CHANGES`]).
    limit: usize,
}

impl ChangeReceiver {
    /// Waits for the next committed transaction's changes; `None` once the account is closed.
    pub async fn recv(&mut self) -> Option<Arc<Changes>> {
        let c = self.rx.recv().await?;
        Some(self.received(c))
    }

    /// Like [`recv`](Self::recv), blocking the thread. Must not be called from async code.
    pub fn blocking_recv(&mut self) -> Option<Arc<Changes>> {
        let c = self.rx.blocking_recv()?;
        Some(self.received(c))
    }

    /// The next changes if there are any queued.
    pub fn try_recv(&mut self) -> Option<Arc<Changes>> {
        let c = self.rx.try_recv().ok()?;
        Some(self.received(c))
    }

    fn received(&mut self, c: Arc<Changes>) -> Arc<Changes> {
        let mut q = lock(&self.queue);
        if q.overflowed {
            // Everything still queued was sent before the overflow: superseded by it.
            while self.rx.try_recv().is_ok() {}
            q.overflowed = false;
            q.queued = 0;
            return overflow_marker();
        }
        q.queued = q.queued.saturating_sub(weight(&c));
        c
    }
}

fn lock(m: &Mutex<QueueState>) -> std::sync::MutexGuard<'_, QueueState> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a change costs in a queue: one per change, plus one per UID of an expunge.
fn weight(c: &Changes) -> usize {
    c.changes
        .iter()
        .map(|c| match c {
            Change::Expunged { uids, .. } => 1 + uids.len(),
            _ => 1,
        })
        .sum::<usize>()
        .max(1)
}

fn overflow_marker() -> Arc<Changes> {
    Arc::new(Changes { modseq: None, changes: vec![Change::Overflow] })
}

struct Watcher {
    tx: mpsc::UnboundedSender<Arc<Changes>>,
    queue: Arc<Mutex<QueueState>>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Watchers {
    senders: Vec<Watcher>,
}

impl Watchers {
    pub(crate) fn add(&mut self) -> ChangeReceiver {
        self.add_with_limit(MAX_QUEUED_CHANGES)
    }

    pub(crate) fn add_with_limit(&mut self, limit: usize) -> ChangeReceiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(QueueState { limit, ..QueueState::default() }));
        self.senders.push(Watcher { tx, queue: queue.clone() });
        ChangeReceiver { rx, queue }
    }

    /// Sends to every watcher, forgetting those that were dropped.
    pub(crate) fn publish(&mut self, changes: Changes) {
        if self.senders.is_empty() {
            return;
        }
        let w = weight(&changes);
        let changes = Arc::new(changes);
        self.senders.retain(|s| {
            let mut q = lock(&s.queue);
            if q.overflowed {
                // The receiver resynchronizes from the database anyway; wake it if it went
                // away meanwhile.
                return !s.tx.is_closed();
            }
            if q.queued + w > q.limit {
                q.overflowed = true;
                // The marker wakes the receiver; it drops what is queued when it sees the flag.
                return s.tx.send(overflow_marker()).is_ok();
            }
            q.queued += w;
            s.tx.send(changes.clone()).is_ok()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(uid: u32) -> Changes {
        Changes {
            modseq: Some(u64::from(uid)),
            changes: vec![Change::MessageAdded {
                mailbox: MailboxId(1),
                uid,
                message: MessageId(u64::from(uid)),
                modseq: u64::from(uid),
                flags: Flags::default(),
            }],
        }
    }

    #[test]
    fn queue_is_bounded_and_overflow_is_reported_once() {
        let mut w = Watchers::default();
        let mut rx = w.add();
        for uid in 1..=MAX_QUEUED_CHANGES as u32 + 5 {
            w.publish(added(uid));
        }
        // Memory stays bounded: the channel holds at most the limit plus the marker.
        assert!(rx.rx.len() <= MAX_QUEUED_CHANGES + 1);
        let first = rx.try_recv().unwrap();
        assert_eq!(first.changes, [Change::Overflow], "overflow reported first");
        assert!(rx.try_recv().is_none(), "superseded changes dropped");
        // After the overflow was taken, changes flow again.
        w.publish(added(99_999));
        assert_eq!(rx.try_recv().unwrap().modseq, Some(99_999));
        assert!(rx.try_recv().is_none());
    }

    #[test]
    fn one_big_transaction_overflows_alone() {
        let mut w = Watchers::default();
        let mut rx = w.add();
        w.publish(Changes {
            modseq: Some(1),
            changes: vec![Change::Expunged {
                mailbox: MailboxId(1),
                uids: (1..=MAX_QUEUED_CHANGES as u32 + 1).collect(),
                modseq: 1,
            }],
        });
        assert_eq!(rx.try_recv().unwrap().changes, [Change::Overflow]);
        // A reader that keeps up never sees an overflow.
        for uid in 1..100 {
            w.publish(added(uid));
            assert_eq!(rx.try_recv().unwrap().modseq, Some(u64::from(uid)));
        }
        drop(rx);
        w.publish(added(1));
        assert!(w.senders.is_empty(), "dropped receivers are forgotten");
    }
}
