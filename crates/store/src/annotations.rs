//! Annotations of mailboxes and of the server (IMAP METADATA, RFC 5464): named values such as
//! `/private/comment`, kept in the `meta` table under their own key prefix, with the mailbox
//! id (0 for server annotations) and the entry name lowercased (names are case-insensitive).
//! Changes are published as [`Change::AnnotationsChanged`](crate::Change).

use serde::{Deserialize, Serialize};

use crate::changes::Change;
use crate::codec;
use crate::types::MailboxId;
use crate::{Account, Error, Snapshot};

const PREFIX: &[u8] = b"annotation/";

/// Longest entry name, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// One annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// The entry name as first set (`/private/comment`).
    pub name: String,
    /// The value.
    pub value: Vec<u8>,
}

fn prefix(mailbox: Option<MailboxId>) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(&mailbox.map_or(0, |m| m.0).to_be_bytes());
    k
}

fn key(mailbox: Option<MailboxId>, name: &str) -> Vec<u8> {
    let mut k = prefix(mailbox);
    k.extend_from_slice(name.to_ascii_lowercase().as_bytes());
    k
}

impl Account {
    /// Sets (`Some`) or removes (`None`) annotations of a mailbox (or, with `None`, of the
    /// server), in one transaction. Names must start with `/private/` or `/shared/`.
    pub fn set_annotations(
        &self,
        mailbox: Option<MailboxId>,
        entries: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), Error> {
        for (name, _) in entries {
            if name.len() > MAX_NAME_LEN || !name.is_ascii() {
                return Err(Error::InvalidKeyword {
                    keyword: name.clone(),
                    reason: "annotation name too long or not ASCII",
                });
            }
        }
        self.inner.write(|tx| {
            if let Some(m) = mailbox {
                tx.selectable_mailbox(m)?;
            }
            let db = tx.inner.db.meta;
            for (name, value) in entries {
                let k = key(mailbox, name);
                match value {
                    Some(v) => {
                        let a = Annotation { name: name.clone(), value: v.clone() };
                        db.put(&mut tx.txn, &k, &codec::encode(&a))
                            .map_err(tx.inner.db_err("write annotation"))?;
                    }
                    None => {
                        db.delete(&mut tx.txn, &k).map_err(tx.inner.db_err("delete annotation"))?;
                    }
                }
            }
            tx.changes.push(Change::AnnotationsChanged {
                mailbox,
                names: entries.iter().map(|(n, _)| n.clone()).collect(),
            });
            Ok(())
        })
    }

    /// Removes all annotations of a mailbox (when it is deleted).
    pub fn remove_annotations(&self, mailbox: MailboxId) -> Result<(), Error> {
        let names: Vec<String> =
            self.snapshot()?.annotations(Some(mailbox))?.into_iter().map(|a| a.name).collect();
        if names.is_empty() {
            return Ok(());
        }
        self.inner.write(|tx| {
            let db = tx.inner.db.meta;
            for n in &names {
                db.delete(&mut tx.txn, &key(Some(mailbox), n))
                    .map_err(tx.inner.db_err("delete annotation"))?;
            }
            tx.changes.push(Change::AnnotationsChanged { mailbox: Some(mailbox), names });
            Ok(())
        })
    }
}

impl Snapshot<'_> {
    /// All annotations of a mailbox (`None`: of the server), ordered by lowercased name.
    pub fn annotations(&self, mailbox: Option<MailboxId>) -> Result<Vec<Annotation>, Error> {
        let p = prefix(mailbox);
        let mut out = Vec::new();
        for item in self
            .inner
            .db
            .meta
            .prefix_iter(&self.txn, &p)
            .map_err(self.inner.db_err("read annotations"))?
        {
            let (k, v) = item.map_err(self.inner.db_err("read annotations"))?;
            out.push(codec::decode(v).ok_or_else(|| self.inner.corrupt("annotations", k))?);
        }
        Ok(out)
    }

    /// One annotation, by name (case-insensitive).
    pub fn annotation(
        &self,
        mailbox: Option<MailboxId>,
        name: &str,
    ) -> Result<Option<Annotation>, Error> {
        let k = key(mailbox, name);
        match self.inner.db.meta.get(&self.txn, &k).map_err(self.inner.db_err("read annotation"))? {
            Some(v) => {
                Ok(Some(codec::decode(v).ok_or_else(|| self.inner.corrupt("annotations", name))?))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::account;

    #[test]
    fn set_get_remove() {
        let (_d, acc) = account();
        let inbox = acc.mailbox("Inbox").unwrap().unwrap().id;
        let mut rx = acc.watch();
        acc.set_annotations(
            Some(inbox),
            &[
                ("/private/Comment".into(), Some(b"hi".to_vec())),
                ("/shared/x".into(), Some(vec![0, 1])),
            ],
        )
        .unwrap();
        acc.set_annotations(None, &[("/shared/admin".into(), Some(b"mailto:a@b".to_vec()))])
            .unwrap();
        let snap = acc.snapshot().unwrap();
        let a = snap.annotations(Some(inbox)).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(
            snap.annotation(Some(inbox), "/PRIVATE/comment").unwrap().unwrap().name,
            "/private/Comment"
        );
        assert_eq!(snap.annotations(None).unwrap()[0].value, b"mailto:a@b");
        drop(snap);
        acc.set_annotations(Some(inbox), &[("/private/comment".into(), None)]).unwrap();
        assert_eq!(acc.snapshot().unwrap().annotations(Some(inbox)).unwrap().len(), 1);
        acc.remove_annotations(inbox).unwrap();
        assert!(acc.snapshot().unwrap().annotations(Some(inbox)).unwrap().is_empty());
        assert_eq!(acc.snapshot().unwrap().annotations(None).unwrap().len(), 1, "server kept");
        let n = std::iter::from_fn(|| rx.try_recv())
            .filter(|c| matches!(c.changes[0], Change::AnnotationsChanged { .. }))
            .count();
        assert_eq!(n, 4);
        assert!(acc.set_annotations(Some(MailboxId(999)), &[("/private/x".into(), None)]).is_err());
    }
}
