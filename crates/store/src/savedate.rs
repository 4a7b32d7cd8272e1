//! When messages were saved to their mailbox (IMAP SAVEDATE, RFC 8514), without a field per
//! message: the time of each transaction is recorded under its MODSEQ (only when the second
//! changed since the last record), and a message's save date is the time recorded for the
//! MODSEQ at which it was added to its mailbox (`created_modseq`): the greatest recorded MODSEQ
//! not above it. Records live in the `meta` table under their own key prefix.

use std::ops::Bound;

use crate::account::Tx;
use crate::codec;
use crate::types::Timestamp;
use crate::{Error, Snapshot};

const PREFIX: &[u8] = b"savedate/";

fn key(modseq: u64) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(&modseq.to_be_bytes());
    k
}

/// Records the time of the transaction that got `modseq`, unless the last record has the same
/// second.
pub(crate) fn record(tx: &mut Tx<'_>, modseq: u64) -> Result<(), Error> {
    let now = Timestamp::now().unix;
    let db = tx.inner.db.meta;
    let last = {
        let mut it =
            db.rev_prefix_iter(&tx.txn, PREFIX).map_err(tx.inner.db_err("read save dates"))?;
        match it.next() {
            Some(item) => {
                let (_, v) = item.map_err(tx.inner.db_err("read save dates"))?;
                codec::read_u64_be(v).map(|v| v as i64)
            }
            None => None,
        }
    };
    if last == Some(now) {
        return Ok(());
    }
    db.put(&mut tx.txn, &key(modseq), &(now as u64).to_be_bytes())
        .map_err(tx.inner.db_err("write save date"))
}

impl Snapshot<'_> {
    /// The time of the transaction that got `modseq` (to the second): for a message, its
    /// SAVEDATE is `save_time(message.created_modseq)`. `None` for transactions from before
    /// save dates were recorded.
    pub fn save_time(&self, modseq: u64) -> Result<Option<Timestamp>, Error> {
        let start = key(0);
        let end = key(modseq);
        let range = (Bound::Included(&start[..]), Bound::Included(&end[..]));
        let mut it = self
            .inner
            .db
            .meta
            .rev_range(&self.txn, &range)
            .map_err(self.inner.db_err("read save dates"))?;
        match it.next() {
            Some(item) => {
                let (_, v) = item.map_err(self.inner.db_err("read save dates"))?;
                Ok(codec::read_u64_be(v).map(|v| Timestamp::from_unix(v as i64)))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_util::{account, deliver};

    #[test]
    fn save_time_of_messages() {
        let (_d, acc) = account();
        let before = crate::Timestamp::now().unix;
        let d = deliver(&acc, "Inbox", 1);
        let d2 = deliver(&acc, "Inbox", 2);
        let snap = acc.snapshot().unwrap();
        let t = snap.save_time(d.modseq).unwrap().unwrap().unix;
        assert!(t >= before && t <= crate::Timestamp::now().unix);
        let t2 = snap.save_time(d2.modseq).unwrap().unwrap().unix;
        assert!(t2 >= t);
        assert_eq!(snap.save_time(0).unwrap(), None, "before anything was recorded");
        // Other meta values are untouched.
        assert_eq!(snap.account_modseq().unwrap(), d2.modseq);
    }
}
