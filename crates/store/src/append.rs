//! Adding several messages at once (IMAP MULTIAPPEND, RFC 3502: all or none) and replacing a
//! message by a new one (IMAP REPLACE, RFC 8508: the append and the expunge in one
//! transaction).

use crate::account::Tx;
use crate::deliver::{Delivered, NewMessage, PreparedMessage, insert_message};
use crate::types::{MailboxId, UidSet};
use crate::{Account, Error};

/// A message for [`Account::deliver_all`] or [`Account::replace_message`].
#[derive(Debug)]
pub struct AppendMessage {
    /// The message, written with [`Account::message_writer`].
    pub message: PreparedMessage,
    /// Its flags, received time, ...
    pub new: NewMessage,
}

fn insert(tx: &mut Tx<'_>, mailbox: MailboxId, m: &mut AppendMessage) -> Result<Delivered, Error> {
    let new = std::mem::take(&mut m.new);
    insert_message(tx, mailbox, &mut m.message, new)?
}

impl Account {
    /// Adds messages to a mailbox in one transaction, durably: either all are added (in
    /// order, with ascending UIDs) or, on error, none.
    pub fn deliver_all(
        &self,
        mailbox: MailboxId,
        mut messages: Vec<AppendMessage>,
    ) -> Result<Vec<Delivered>, Error> {
        if self.inner.read_only {
            return Err(Error::ReadOnly);
        }
        self.inner.write(|tx| messages.iter_mut().map(|m| insert(tx, mailbox, m)).collect())
    }

    /// Adds a message to `mailbox` and expunges message `uid` of `old_mailbox`, in one
    /// transaction. Fails with [`Error::MessageNotFound`] (id 0) if the old message is gone.
    pub fn replace_message(
        &self,
        old_mailbox: MailboxId,
        uid: u32,
        mailbox: MailboxId,
        mut message: AppendMessage,
    ) -> Result<Delivered, Error> {
        if self.inner.read_only {
            return Err(Error::ReadOnly);
        }
        self.inner.write(|tx| {
            tx.selectable_mailbox(old_mailbox)?;
            let states = tx.states(old_mailbox, &UidSet::single(uid))?;
            if states.is_empty() {
                return Err(Error::MessageNotFound { id: 0 });
            }
            let d = insert(tx, mailbox, &mut message)?;
            tx.expunge_states(old_mailbox, states)?;
            Ok(d)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::test_util::{account, deliver, file_account, msg};
    use crate::{Change, SpecialUse};

    fn prepared(acc: &Account, n: u32) -> AppendMessage {
        let mut w = acc.message_writer().unwrap();
        w.write_all(&msg(n)).unwrap();
        AppendMessage { message: w.finish_with(&msg(n)).unwrap(), new: NewMessage::default() }
    }

    #[test]
    fn all_or_nothing() {
        let (_d, acc) = file_account();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let ds = acc.deliver_all(inbox, vec![prepared(&acc, 1), prepared(&acc, 2)]).unwrap();
        assert_eq!(ds.iter().map(|d| d.uid).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(ds[0].modseq, ds[1].modseq, "one transaction");
        assert_eq!(acc.read_message(ds[1].id).unwrap(), msg(2));
        // Over quota with the second message: neither is added, no file stays behind.
        acc.set_quota(Some(acc.snapshot().unwrap().usage().unwrap() + msg(3).len() as u64));
        let files_before = std::fs::read_dir(acc.dir().join("msg/0")).unwrap().count();
        let e = acc.deliver_all(inbox, vec![prepared(&acc, 3), prepared(&acc, 4)]).unwrap_err();
        assert!(matches!(e, Error::QuotaExceeded { .. }), "{e}");
        assert_eq!(acc.snapshot().unwrap().uids(inbox).unwrap(), [1, 2]);
        assert_eq!(std::fs::read_dir(acc.dir().join("msg/0")).unwrap().count(), files_before);
    }

    #[test]
    fn replace_appends_and_expunges_together() {
        let (_d, acc) = account();
        let drafts = acc.create_mailbox("Drafts", SpecialUse::DRAFTS).unwrap();
        deliver(&acc, "Drafts", 1);
        let mut rx = acc.watch();
        let d = acc.replace_message(drafts, 1, drafts, prepared(&acc, 2)).unwrap();
        assert_eq!(d.uid, 2);
        assert_eq!(acc.snapshot().unwrap().uids(drafts).unwrap(), [2]);
        let c = rx.try_recv().unwrap();
        assert_eq!(c.changes.len(), 2);
        assert!(matches!(&c.changes[1], Change::Expunged { uids, .. } if uids == &[1]));
        assert!(matches!(
            acc.replace_message(drafts, 1, drafts, prepared(&acc, 3)),
            Err(Error::MessageNotFound { .. })
        ));
        assert_eq!(acc.snapshot().unwrap().uids(drafts).unwrap(), [2]);
    }
}
