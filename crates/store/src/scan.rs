//! Cheap scans over a mailbox's message states for IMAP: UIDs only, without decoding flags
//! and keywords.

use crate::codec;
use crate::types::{MailboxId, SystemFlags};
use crate::{Error, Snapshot};

impl Snapshot<'_> {
    /// Calls `f` with each UID of a mailbox, ascending, without collecting them.
    pub fn for_each_uid(&self, mailbox: MailboxId, mut f: impl FnMut(u32)) -> Result<(), Error> {
        let prefix = codec::u32_key(mailbox.0);
        for item in self
            .inner
            .db
            .uids
            .prefix_iter(&self.txn, &prefix)
            .map_err(self.inner.db_err("list messages"))?
        {
            let (k, _) = item.map_err(self.inner.db_err("list messages"))?;
            if let Some((_, uid)) = codec::parse_uid_key(k) {
                f(uid);
            }
        }
        Ok(())
    }

    /// The lowest UID of a message without `\Seen` (IMAP4rev1's `UNSEEN` on SELECT).
    pub fn first_unseen_uid(&self, mailbox: MailboxId) -> Result<Option<u32>, Error> {
        let prefix = codec::u32_key(mailbox.0);
        for item in self
            .inner
            .db
            .uids
            .prefix_iter(&self.txn, &prefix)
            .map_err(self.inner.db_err("list messages"))?
        {
            let (k, v) = item.map_err(self.inner.db_err("list messages"))?;
            let (_, _, flags, _) =
                codec::decode_state_parts(v).ok_or_else(|| self.inner.corrupt("uids", k))?;
            if !flags.contains(SystemFlags::SEEN) {
                return Ok(codec::parse_uid_key(k).map(|(_, u)| u));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_util::{account, deliver};
    use crate::{FlagOp, Flags, UidSet};

    #[test]
    fn scans() {
        let (_d, acc) = account();
        for n in 1..=3 {
            deliver(&acc, "Inbox", n);
        }
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        acc.store_flags(
            inbox,
            &UidSet::from_uids([1]),
            FlagOp::Add,
            &Flags::parse(["\\Seen"]).unwrap(),
            None,
        )
        .unwrap();
        let snap = acc.snapshot().unwrap();
        let mut v = Vec::new();
        snap.for_each_uid(inbox, |u| v.push(u)).unwrap();
        assert_eq!(v, [1, 2, 3]);
        assert_eq!(snap.first_unseen_uid(inbox).unwrap(), Some(2));
    }
}
