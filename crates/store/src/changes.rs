//! Change notifications: what each committed transaction changed, published to watchers of the
//! account in commit order (IMAP IDLE and the unsolicited responses of other sessions are built
//! on this).

use std::sync::Arc;

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
}

/// Receives the changes of an account, one [`Changes`] per committed transaction, in commit
/// order. Usable from async code (`recv().await`) and from threads (`blocking_recv`). Dropping it
/// unsubscribes.
///
/// The queue is unbounded so a slow watcher never holds up a commit; a watcher that stops
/// reading should be dropped.
#[derive(Debug)]
pub struct ChangeReceiver {
    pub(crate) rx: mpsc::UnboundedReceiver<Arc<Changes>>,
}

impl ChangeReceiver {
    /// Waits for the next committed transaction's changes; `None` once the account is closed.
    pub async fn recv(&mut self) -> Option<Arc<Changes>> {
        self.rx.recv().await
    }

    /// Like [`recv`](Self::recv), blocking the thread. Must not be called from async code.
    pub fn blocking_recv(&mut self) -> Option<Arc<Changes>> {
        self.rx.blocking_recv()
    }

    /// The next changes if there are any queued.
    pub fn try_recv(&mut self) -> Option<Arc<Changes>> {
        self.rx.try_recv().ok()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Watchers {
    senders: Vec<mpsc::UnboundedSender<Arc<Changes>>>,
}

impl Watchers {
    pub(crate) fn add(&mut self) -> ChangeReceiver {
        let (tx, rx) = mpsc::unbounded_channel();
        self.senders.push(tx);
        ChangeReceiver { rx }
    }

    /// Sends to every watcher, forgetting those that were dropped.
    pub(crate) fn publish(&mut self, changes: Changes) {
        if self.senders.is_empty() {
            return;
        }
        let changes = Arc::new(changes);
        self.senders.retain(|s| s.send(changes.clone()).is_ok());
    }
}
