//! Small messages kept inside the database instead of in a file of their own.
//!
//! A message up to the account's inline limit ([`Account::set_inline_limit`], 64 KiB by
//! default) is stored in the `bodies` table under its message id, written by the same
//! transaction as its message record. Its delivery then costs no file creation and no flush
//! of its own: the group commit's database flush makes the whole batch durable at once.
//! Larger messages go to `msg/<id / 4096>/<id>` as before, and readers see no difference
//! ([`Snapshot::open_message`](crate::Snapshot::open_message) serves both).
//!
//! Why: on the development machine (2 cores, ext4 on a virtio disk), creating, writing and
//! flushing one file per 10 KB message cost about 150 µs of CPU per message (inode and
//! directory updates, a flush request and a VM exit per file) and capped 32 concurrent
//! deliveries at 5,300-8,400/s; the same messages committed as database values in batches
//! cost about 35 µs each, at 19,000-21,000/s. Messages above the limit stay files because
//! LMDB keeps a large value in contiguous pages, which a fragmented free list serves slowly.

use heed::{RoTxn, WithoutTls};

use crate::account::{Db, Env, Inner};
use crate::codec;
use crate::{Account, Error};

/// Inline limit of a newly opened account, in bytes.
pub const DEFAULT_INLINE_LIMIT: u64 = 64 * 1024;

const NAME: &str = "bodies";

/// Opens (in a writable account: creates) the bodies table. A read-only account written
/// before it existed has none: all its messages are files.
pub(crate) fn open_table(
    env: &Env,
    dir: &std::path::Path,
    read_only: bool,
) -> Result<Option<Db>, Error> {
    let ops = ("open bodies table", "create bodies table");
    let table = crate::account::open_added_tables(env, dir, read_only, [NAME], ops)?;
    Ok(table.map(|[db]| db))
}

/// Whether the database has grown past three quarters of its memory map (`MAP_SIZE`): new
/// messages then go to files, however small, so that the map never fills with messages and
/// the indexes keep room. (The file never shrinks; pages freed by expunges are reused.)
pub(crate) fn nearly_full(last_page: u64, page_size: u64, map_size: u64) -> bool {
    last_page.saturating_add(1).saturating_mul(page_size) > map_size / 4 * 3
}

impl Inner {
    /// The bytes of message `id` if it is kept in the database (in a write transaction too:
    /// it dereferences to a read transaction).
    pub(crate) fn stored_body<'t>(
        &self,
        txn: &'t RoTxn<'_, WithoutTls>,
        id: u64,
    ) -> Result<Option<&'t [u8]>, Error> {
        let Some(db) = self.bodies else { return Ok(None) };
        db.get(txn, &codec::u64_key(id)).map_err(self.db_err("read message"))
    }

    /// The largest message kept in the database if written now: the account's inline limit,
    /// or 0 (files only) once the database is nearly full.
    pub(crate) fn inline_limit_in_force(&self) -> u64 {
        if self.database_nearly_full() {
            return 0;
        }
        self.inline_limit.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Account {
    /// Sets the largest message, in bytes, kept inside the database rather than in a file of
    /// its own (see the `bodies` module); 0 writes every message to a file. Applies to
    /// messages written from now on; stored messages stay where they are.
    pub fn set_inline_limit(&self, bytes: u64) {
        self.inner.inline_limit.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The limit set with [`Account::set_inline_limit`] (the limit in force is 0 while the
    /// database is nearly full, see [`Account::message_writer`]).
    pub fn inline_limit(&self) -> u64 {
        self.inner.inline_limit.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a message of `size` bytes written now would be kept in the database: no file,
    /// and no flush of its own, so writing it does no disk I/O (an async server may then
    /// prepare it without a blocking thread).
    pub fn keeps_in_database(&self, size: u64) -> bool {
        let limit = self.inner.inline_limit_in_force();
        limit > 0 && size <= limit
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crate::test_util::{account, deliver, msg};
    use crate::verify::{VerifyReport, verify_account};
    use crate::{Account, Flags, NewMessage, SpecialUse, SystemFlags, UidSet};

    fn message_files(acc: &Account) -> usize {
        walk(&acc.dir().join("msg"))
    }

    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum()
            })
            .unwrap_or(0)
    }

    fn verify(acc: &Account) -> VerifyReport {
        let mut r = VerifyReport::default();
        verify_account(acc.dir(), "acc", None, false, &mut r).unwrap();
        r
    }

    #[test]
    fn a_nearly_full_database_takes_no_more_messages() {
        let gib = 1u64 << 30;
        assert!(!super::nearly_full(0, 4096, 64 * gib));
        assert!(!super::nearly_full(48 * gib / 4096 - 1, 4096, 64 * gib));
        assert!(super::nearly_full(48 * gib / 4096, 4096, 64 * gib));
        assert!(super::nearly_full(u64::MAX, 4096, 64 * gib));
        // An account's own figures: a fresh database is far from full.
        let (_d, acc) = account();
        assert!(!acc.inner.database_nearly_full());
    }

    #[test]
    fn small_messages_are_kept_in_the_database_and_read_back_with_their_prefix() {
        let (_d, acc) = account();
        assert_eq!(acc.inline_limit(), super::DEFAULT_INLINE_LIMIT);
        let new = NewMessage { prefix: b"Received: by us\r\n".to_vec(), ..Default::default() };
        let d = acc.deliver_bytes("Inbox", &msg(1), new).unwrap();
        assert_eq!(message_files(&acc), 0, "no file written");
        let mut want = b"Received: by us\r\n".to_vec();
        want.extend_from_slice(&msg(1));
        assert_eq!(acc.read_message(d.id).unwrap(), want);
        let m = acc.snapshot().unwrap().message(d.id).unwrap().unwrap();
        assert_eq!(m.size, want.len() as u64);
        // Partial reads seek across the prefix into the stored bytes.
        let mut r = acc.open_message(d.id).unwrap();
        use std::io::{Read, Seek, SeekFrom};
        r.seek(SeekFrom::Start(15)).unwrap();
        let mut b = [0u8; 8];
        r.read_exact(&mut b).unwrap();
        assert_eq!(&b, &want[15..23]);
        assert!(verify(&acc).is_ok());
        // Still there after the account is closed and opened again.
        let dir = acc.dir().to_path_buf();
        drop(acc);
        let acc = Account::open_existing(&dir).unwrap();
        assert_eq!(acc.read_message(d.id).unwrap(), want);
    }

    #[test]
    fn a_writer_moves_to_a_file_when_the_message_outgrows_the_limit() {
        let (_d, acc) = account();
        acc.set_inline_limit(100);
        assert!(acc.keeps_in_database(100) && !acc.keeps_in_database(101));
        let line = b"0123456789012345678901234567890123456789\r\n"; // 42 bytes
        // At the limit: kept in the database.
        let mut w = acc.message_writer().unwrap();
        w.write_all(&line[..]).unwrap();
        w.write_all(&line[..]).unwrap();
        w.write_all(&line[..16]).unwrap();
        assert_eq!(w.size(), 100);
        let small = acc.deliver("Inbox", w.finish().unwrap(), NewMessage::default()).unwrap();
        assert_eq!(message_files(&acc), 0);
        // One byte more: a file, holding everything written before and after the move.
        let mut w = acc.message_writer().unwrap();
        let mut big = Vec::new();
        for _ in 0..3 {
            w.write_all(&line[..]).unwrap();
            big.extend_from_slice(line);
        }
        assert_eq!(message_files(&acc), 1, "written to its file once past the limit");
        let d = acc.deliver("Inbox", w.finish().unwrap(), NewMessage::default()).unwrap();
        assert!(acc.message_file(d.id).exists());
        assert!(!acc.message_file(small.id).exists());
        assert_eq!(acc.read_message(d.id).unwrap(), big);
        assert_eq!(acc.read_message(small.id).unwrap().len(), 100);
        // A writer dropped after its move removes its file.
        let mut w = acc.message_writer().unwrap();
        w.write_all(&big).unwrap();
        assert_eq!(message_files(&acc), 2);
        drop(w);
        assert_eq!(message_files(&acc), 1);
        assert!(verify(&acc).is_ok());
        // Limit 0: every message is a file, even an empty one.
        acc.set_inline_limit(0);
        assert!(!acc.keeps_in_database(0));
    }

    #[test]
    fn copies_and_expunges_of_messages_in_the_database() {
        let (_d, acc) = account();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let other = acc.create_mailbox("Other", SpecialUse::NONE).unwrap();
        let d = deliver(&acc, "Inbox", 1);
        let pairs = acc.copy_messages(inbox, &UidSet::single(d.uid), other).unwrap();
        assert_eq!(pairs, [(1, 1)]);
        let copy = acc.snapshot().unwrap().message_by_uid(other, 1).unwrap().unwrap();
        assert_ne!(copy.id, d.id);
        acc.store_flags(
            inbox,
            &UidSet::single(d.uid),
            crate::FlagOp::Add,
            &Flags::system(SystemFlags::DELETED),
            None,
        )
        .unwrap();
        acc.expunge(inbox, None).unwrap();
        // The original's bytes went with it, in the same transaction; the copy has its own.
        assert_eq!(acc.read_message(copy.id).unwrap(), msg(1));
        assert!(acc.read_message(d.id).is_err());
        let txn = acc.inner.env.read_txn().unwrap();
        let bodies = acc.inner.bodies.unwrap();
        assert_eq!(bodies.len(&txn).unwrap(), 1);
        assert_eq!(acc.inner.db.pending_removals.len(&txn).unwrap(), 0, "no file to remove");
        drop(txn);
        assert!(verify(&acc).is_ok());
        assert_eq!(message_files(&acc), 0);
    }

    #[test]
    fn verify_finds_wrong_sizes_and_bytes_without_a_message() {
        let (_d, acc) = account();
        let d = deliver(&acc, "Inbox", 1);
        acc.inner
            .write(|tx| {
                tx.put_body(d.id.0, b"shorter")?;
                tx.put_body(999_999, b"orphan")
            })
            .unwrap();
        let r = verify(&acc);
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
        assert!(r.problems.iter().any(|p| p.contains(&format!("message {}: size", d.id.0))));
        assert!(r.problems.iter().any(|p| p.contains("stored message 999999 without")));
    }
}
