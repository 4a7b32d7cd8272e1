//! Reading: a consistent snapshot of an account (one LMDB read transaction).

use std::ops::Bound;
use std::sync::PoisonError;

use heed::{RoTxn, WithoutTls};

use crate::account::Inner;
use crate::codec::{self, MailboxCounts, MailboxRecord, MessageRecord};
use crate::files::{self, MessageReader};
use crate::mailbox::normalize_mailbox_name;
use crate::types::{
    Flags, Keyword, LineEnding, MailboxId, MessageId, SpecialUse, Timestamp, UidSet,
};
use crate::{Account, Error};

/// A consistent, read-only view of an account: everything read through one snapshot is as of the
/// moment it was taken, whatever is committed meanwhile. Cheap to take; keep it short-lived.
pub struct Snapshot<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) txn: RoTxn<'a, WithoutTls>,
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("account", &self.inner.dir).finish()
    }
}

/// A mailbox with its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Its id.
    pub id: MailboxId,
    /// Its name, `/`-separated.
    pub name: String,
    /// IMAP UIDVALIDITY.
    pub uid_validity: u32,
    /// IMAP UIDNEXT: the UID the next message will get.
    pub uid_next: u32,
    /// Special-use attributes.
    pub special_use: SpecialUse,
    /// False for a `\Noselect` name that stays because it has children.
    pub selectable: bool,
    /// Whether the name is subscribed.
    pub subscribed: bool,
    /// Message counts and total size.
    pub counts: MailboxCounts,
    /// IMAP HIGHESTMODSEQ: the highest MODSEQ of any message or expunge in the mailbox.
    pub highest_modseq: u64,
}

/// The state of a message in its mailbox: what IMAP lists in bulk (UID FETCH FLAGS MODSEQ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageState {
    /// UID in the mailbox.
    pub uid: u32,
    /// The message.
    pub id: MessageId,
    /// MODSEQ of the last change of the message.
    pub modseq: u64,
    /// Flags and keywords.
    pub flags: Flags,
}

/// What does not change about a message while it stays in its mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message.
    pub id: MessageId,
    /// Its mailbox.
    pub mailbox: MailboxId,
    /// Its UID there.
    pub uid: u32,
    /// Size in bytes of the message as served (prefix plus file): IMAP RFC822.SIZE.
    pub size: u64,
    /// IMAP INTERNALDATE.
    pub received: Timestamp,
    /// MODSEQ at which the message was added to the mailbox (for QRESYNC).
    pub created_modseq: u64,
    /// Line endings the message came with (see [`LineEnding`]).
    pub line_ending: LineEnding,
    /// SMTP MAIL FROM (or mbox `From ` line sender); empty if unknown.
    pub mail_from: String,
    /// Header lines added at delivery, served before the file's bytes.
    pub prefix: Vec<u8>,
    pub(crate) structure: Vec<u8>,
}

impl Message {
    /// The MIME structure, with offsets into the message as served (prefix, then file);
    /// `None` for a message stored without one.
    pub fn structure(&self) -> Option<crate::structure::Part> {
        let mut p: crate::structure::Part = codec::decode(&self.structure)?;
        p.shift(self.prefix.len() as u64);
        Some(p)
    }
}

/// What changed in a mailbox since a MODSEQ (for CONDSTORE `CHANGEDSINCE` and QRESYNC).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailboxChanges {
    /// Messages added or changed since, with their current state, in MODSEQ order.
    pub changed: Vec<MessageState>,
    /// UIDs expunged (or moved away) since, ascending.
    pub vanished: Vec<u32>,
}

impl<'a> Snapshot<'a> {
    fn err(&self, op: &'static str) -> impl FnOnce(heed::Error) -> Error + use<'a> {
        self.inner.db_err(op)
    }

    /// Every mailbox, ordered by name (so parents come before their children).
    pub fn mailboxes(&self) -> Result<Vec<Mailbox>, Error> {
        let mut out = Vec::new();
        for item in
            self.inner.db.mailbox_names.iter(&self.txn).map_err(self.err("list mailboxes"))?
        {
            let (k, v) = item.map_err(self.err("list mailboxes"))?;
            let id = codec::read_u32_be(v).ok_or_else(|| self.inner.corrupt("mailbox_names", k))?;
            if let Some(mb) = self.mailbox_by_id(MailboxId(id))? {
                out.push(mb);
            }
        }
        Ok(out)
    }

    /// The mailbox named `name` (INBOX case-insensitively).
    pub fn mailbox(&self, name: &str) -> Result<Option<Mailbox>, Error> {
        let Ok(name) = normalize_mailbox_name(name) else { return Ok(None) };
        let v = self
            .inner
            .db
            .mailbox_names
            .get(&self.txn, name.as_bytes())
            .map_err(self.err("read mailbox name"))?;
        match v.and_then(codec::read_u32_be) {
            Some(id) => self.mailbox_by_id(MailboxId(id)),
            None => Ok(None),
        }
    }

    /// The mailbox with id `id`.
    pub fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>, Error> {
        let Some(rec) = self.mailbox_record(id.0)? else { return Ok(None) };
        let subscribed = self
            .inner
            .db
            .subscriptions
            .get(&self.txn, rec.name.as_bytes())
            .map_err(self.err("read subscription"))?
            .is_some();
        let highest_modseq = self.highest_modseq_of(id.0, &rec)?;
        Ok(Some(Mailbox {
            id,
            name: rec.name,
            uid_validity: rec.uid_validity,
            uid_next: rec.uid_next,
            special_use: SpecialUse::from_bits(rec.special_use),
            selectable: rec.selectable,
            subscribed,
            counts: rec.counts,
            highest_modseq,
        }))
    }

    /// The first mailbox (by name) with the special-use attribute.
    pub fn mailbox_by_special_use(
        &self,
        special_use: SpecialUse,
    ) -> Result<Option<Mailbox>, Error> {
        Ok(self.mailboxes()?.into_iter().find(|m| m.special_use.contains(special_use)))
    }

    pub(crate) fn mailbox_record(&self, id: u32) -> Result<Option<MailboxRecord>, Error> {
        let v = self
            .inner
            .db
            .mailboxes
            .get(&self.txn, &codec::u32_key(id))
            .map_err(self.err("read mailbox"))?;
        match v {
            None => Ok(None),
            Some(v) => {
                codec::decode(v).map(Some).ok_or_else(|| self.inner.corrupt("mailboxes", id))
            }
        }
    }

    fn highest_modseq_of(&self, id: u32, rec: &MailboxRecord) -> Result<u64, Error> {
        let prefix = codec::u32_key(id);
        let mut iter = self
            .inner
            .db
            .changes
            .rev_prefix_iter(&self.txn, &prefix)
            .map_err(self.err("read changes"))?;
        let last = match iter.next() {
            Some(item) => codec::parse_change_key(item.map_err(self.err("read changes"))?.0)
                .map(|(_, m, _)| m),
            None => None,
        };
        Ok(last.unwrap_or(0).max(rec.created_modseq))
    }

    /// HIGHESTMODSEQ of a mailbox.
    pub fn highest_modseq(&self, mailbox: MailboxId) -> Result<u64, Error> {
        let rec = self
            .mailbox_record(mailbox.0)?
            .ok_or_else(|| Error::MailboxNotFound { name: format!("#{}", mailbox.0) })?;
        self.highest_modseq_of(mailbox.0, &rec)
    }

    /// The highest MODSEQ of the account.
    pub fn account_modseq(&self) -> Result<u64, Error> {
        self.meta(codec::META_MODSEQ)
    }

    /// Total size in bytes of the account's messages (what the quota limits).
    pub fn usage(&self) -> Result<u64, Error> {
        self.meta(codec::META_SIZE)
    }

    pub(crate) fn meta(&self, key: &[u8]) -> Result<u64, Error> {
        let v = self.inner.db.meta.get(&self.txn, key).map_err(self.err("read meta"))?;
        Ok(v.and_then(codec::read_u64_be).unwrap_or(0))
    }

    /// Subscribed names, sorted.
    pub fn subscriptions(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for item in
            self.inner.db.subscriptions.iter(&self.txn).map_err(self.err("list subscriptions"))?
        {
            let (k, _) = item.map_err(self.err("list subscriptions"))?;
            out.push(String::from_utf8_lossy(k).into_owned());
        }
        Ok(out)
    }

    /// Every keyword the account has used, in the spelling first used.
    pub fn keywords(&self) -> Vec<Keyword> {
        let table = self.inner.keywords.read().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<(u32, Keyword)> =
            table.by_id.iter().map(|(id, k)| (*id, k.clone())).collect();
        v.sort_by_key(|(id, _)| *id);
        v.into_iter().map(|(_, k)| k).collect()
    }

    /// Calls `f` with the state of each message of `mailbox` whose UID is in `uids`, in UID
    /// order, without collecting them: one cursor walk over the mailbox's UID range.
    pub fn for_each_state(
        &self,
        mailbox: MailboxId,
        uids: &UidSet,
        mut f: impl FnMut(MessageState),
    ) -> Result<(), Error> {
        let keywords = self.inner.keywords.read().unwrap_or_else(PoisonError::into_inner);
        for r in uids.ranges() {
            let start = codec::uid_key(mailbox.0, *r.start());
            let end = codec::uid_key(mailbox.0, *r.end());
            let range = (Bound::Included(&start[..]), Bound::Included(&end[..]));
            for item in
                self.inner.db.uids.range(&self.txn, &range).map_err(self.err("list messages"))?
            {
                let (k, v) = item.map_err(self.err("list messages"))?;
                let corrupt = || self.inner.corrupt("uids", k);
                let (_, uid) = codec::parse_uid_key(k).ok_or_else(corrupt)?;
                let (id, modseq, system, kw) = codec::decode_state_parts(v).ok_or_else(corrupt)?;
                let keywords = if kw.is_empty() { Vec::new() } else { keywords.decode(kw) };
                f(MessageState {
                    uid,
                    id: MessageId(id),
                    modseq,
                    flags: Flags { system, keywords },
                });
            }
        }
        Ok(())
    }

    /// The states of the messages of `mailbox` whose UID is in `uids`, in UID order.
    pub fn message_states(
        &self,
        mailbox: MailboxId,
        uids: &UidSet,
    ) -> Result<Vec<MessageState>, Error> {
        let mut out = Vec::new();
        self.for_each_state(mailbox, uids, |s| out.push(s))?;
        Ok(out)
    }

    /// Up to `limit` message states of `mailbox` from UID `first_uid` on, in UID order: for
    /// walking a large mailbox in pages.
    pub fn message_states_from(
        &self,
        mailbox: MailboxId,
        first_uid: u32,
        limit: usize,
    ) -> Result<Vec<MessageState>, Error> {
        let keywords = self.inner.keywords.read().unwrap_or_else(PoisonError::into_inner);
        let start = codec::uid_key(mailbox.0, first_uid);
        let end = codec::uid_key(mailbox.0, u32::MAX);
        let range = (Bound::Included(&start[..]), Bound::Included(&end[..]));
        let mut out = Vec::new();
        for item in
            self.inner.db.uids.range(&self.txn, &range).map_err(self.err("list messages"))?
        {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(self.err("list messages"))?;
            let corrupt = || self.inner.corrupt("uids", k);
            let (_, uid) = codec::parse_uid_key(k).ok_or_else(corrupt)?;
            let (id, modseq, system, kw) = codec::decode_state_parts(v).ok_or_else(corrupt)?;
            out.push(MessageState {
                uid,
                id: MessageId(id),
                modseq,
                flags: Flags { system, keywords: keywords.decode(kw) },
            });
        }
        Ok(out)
    }

    /// The state of one message.
    pub fn message_state(
        &self,
        mailbox: MailboxId,
        uid: u32,
    ) -> Result<Option<MessageState>, Error> {
        let v = self
            .inner
            .db
            .uids
            .get(&self.txn, &codec::uid_key(mailbox.0, uid))
            .map_err(self.err("read message"))?;
        let Some(v) = v else { return Ok(None) };
        let (id, modseq, system, kw) = codec::decode_state_parts(v)
            .ok_or_else(|| self.inner.corrupt("uids", (mailbox.0, uid)))?;
        let keywords =
            self.inner.keywords.read().unwrap_or_else(PoisonError::into_inner).decode(kw);
        Ok(Some(MessageState { uid, id: MessageId(id), modseq, flags: Flags { system, keywords } }))
    }

    /// The UIDs of a mailbox, ascending (for mapping IMAP sequence numbers).
    pub fn uids(&self, mailbox: MailboxId) -> Result<Vec<u32>, Error> {
        let mut out = Vec::new();
        let prefix = codec::u32_key(mailbox.0);
        for item in
            self.inner.db.uids.prefix_iter(&self.txn, &prefix).map_err(self.err("list messages"))?
        {
            let (k, _) = item.map_err(self.err("list messages"))?;
            out.extend(codec::parse_uid_key(k).map(|(_, uid)| uid));
        }
        Ok(out)
    }

    /// A message by id.
    pub fn message(&self, id: MessageId) -> Result<Option<Message>, Error> {
        let v = self
            .inner
            .db
            .messages
            .get(&self.txn, &codec::u64_key(id.0))
            .map_err(self.err("read message"))?;
        let Some(v) = v else { return Ok(None) };
        let rec: MessageRecord =
            codec::decode(v).ok_or_else(|| self.inner.corrupt("messages", id.0))?;
        Ok(Some(Message {
            id,
            mailbox: MailboxId(rec.mailbox),
            uid: rec.uid,
            size: rec.size,
            received: rec.received,
            created_modseq: rec.created_modseq,
            line_ending: rec.line_ending,
            mail_from: rec.mail_from,
            prefix: rec.prefix,
            structure: rec.structure,
        }))
    }

    /// A message by mailbox and UID.
    pub fn message_by_uid(&self, mailbox: MailboxId, uid: u32) -> Result<Option<Message>, Error> {
        match self.message_state(mailbox, uid)? {
            Some(s) => self.message(s.id),
            None => Ok(None),
        }
    }

    /// Opens a message for reading: prefix, then the message (from the database or its file).
    pub fn open_message(&self, id: MessageId) -> Result<MessageReader, Error> {
        let m = self.message(id)?.ok_or(Error::MessageNotFound { id: id.0 })?;
        if let Some(body) = self.inner.stored_body(&self.txn, id.0)? {
            return Ok(MessageReader::from_bytes(m.prefix, body.to_vec()));
        }
        MessageReader::new(m.prefix, &self.inner.dir.join(files::message_path(id.0)))
    }

    /// What changed in `mailbox` after `modseq`: messages added or with changed flags (with their
    /// current state), and UIDs expunged. Reads only the changes, not the whole mailbox.
    pub fn changes_since(&self, mailbox: MailboxId, modseq: u64) -> Result<MailboxChanges, Error> {
        let start = codec::change_key(mailbox.0, modseq.saturating_add(1), 0);
        let end = codec::change_key(mailbox.0, u64::MAX, u32::MAX);
        let range = (Bound::Included(&start[..]), Bound::Included(&end[..]));
        let mut out = MailboxChanges::default();
        let mut present = Vec::new();
        for item in
            self.inner.db.changes.range(&self.txn, &range).map_err(self.err("read changes"))?
        {
            let (k, v) = item.map_err(self.err("read changes"))?;
            let (_, _, uid) =
                codec::parse_change_key(k).ok_or_else(|| self.inner.corrupt("changes", k))?;
            match v.first() {
                Some(&codec::CHANGE_EXPUNGED) => out.vanished.push(uid),
                _ => present.push(uid),
            }
        }
        for uid in present {
            if let Some(s) = self.message_state(mailbox, uid)? {
                out.changed.push(s);
            }
        }
        out.vanished.sort_unstable();
        Ok(out)
    }
}

impl Account {
    /// Every mailbox, ordered by name. Shorthand for `snapshot()?.mailboxes()`.
    pub fn mailboxes(&self) -> Result<Vec<Mailbox>, Error> {
        self.snapshot()?.mailboxes()
    }

    /// A mailbox by name. Shorthand for `snapshot()?.mailbox(name)`.
    pub fn mailbox(&self, name: &str) -> Result<Option<Mailbox>, Error> {
        self.snapshot()?.mailbox(name)
    }

    /// Opens a message for reading. Shorthand for `snapshot()?.open_message(id)`.
    pub fn open_message(&self, id: MessageId) -> Result<MessageReader, Error> {
        self.snapshot()?.open_message(id)
    }

    /// Reads a whole message (prefix and file) into memory.
    pub fn read_message(&self, id: MessageId) -> Result<Vec<u8>, Error> {
        let path = self.message_file(id);
        self.open_message(id)?.read_all().map_err(Error::io(path, "read message file"))
    }
}
