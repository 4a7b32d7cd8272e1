//! How records and keys are laid out in LMDB.
//!
//! Keys are big-endian so LMDB's byte order is numeric order (a range scan over `(mailbox, uid)`
//! is a UID range). The per-message state that IMAP reads in bulk (UID, flags, MODSEQ) has a
//! fixed little-endian layout decoded without allocation; the larger, rarely-read records
//! (mailboxes, messages) are serde structs in postcard's compact varint encoding.

use serde::{Deserialize, Serialize};

use crate::types::{LineEnding, SystemFlags, Timestamp};

/// Version of the database layout, in `meta` under [`META_VERSION`].
pub(crate) const DB_VERSION: u32 = 1;

pub(crate) const META_VERSION: &[u8] = b"version";
pub(crate) const META_NEXT_MESSAGE_ID: &[u8] = b"next_message_id";
/// The smallest message id possibly not committed (see the `ids` module); absent in accounts
/// written before ids were handed out at file creation, where it equals the next id.
pub(crate) const META_UNCOMMITTED_FROM: &[u8] = b"uncommitted_from";
pub(crate) const META_MODSEQ: &[u8] = b"modseq";
pub(crate) const META_NEXT_MAILBOX_ID: &[u8] = b"next_mailbox_id";
pub(crate) const META_NEXT_UIDVALIDITY: &[u8] = b"next_uidvalidity";
pub(crate) const META_NEXT_KEYWORD_ID: &[u8] = b"next_keyword_id";
pub(crate) const META_SIZE: &[u8] = b"size";

/// Kind byte of a `changes` entry.
pub(crate) const CHANGE_PRESENT: u8 = 0;
pub(crate) const CHANGE_EXPUNGED: u8 = 1;

/// Message counts kept in each mailbox record, updated in the same transaction as the messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxCounts {
    /// Number of messages.
    pub messages: u64,
    /// Messages without `\Seen`.
    pub unseen: u64,
    /// Messages with `\Deleted`.
    pub deleted: u64,
    /// Total size in bytes.
    pub size: u64,
}

impl MailboxCounts {
    pub(crate) fn add(&mut self, flags: SystemFlags, size: u64) {
        self.messages += 1;
        self.size += size;
        if !flags.contains(SystemFlags::SEEN) {
            self.unseen += 1;
        }
        if flags.contains(SystemFlags::DELETED) {
            self.deleted += 1;
        }
    }

    pub(crate) fn sub(&mut self, flags: SystemFlags, size: u64) {
        self.messages = self.messages.saturating_sub(1);
        self.size = self.size.saturating_sub(size);
        if !flags.contains(SystemFlags::SEEN) {
            self.unseen = self.unseen.saturating_sub(1);
        }
        if flags.contains(SystemFlags::DELETED) {
            self.deleted = self.deleted.saturating_sub(1);
        }
    }

    pub(crate) fn change_flags(&mut self, old: SystemFlags, new: SystemFlags) {
        self.sub(old, 0);
        self.add(new, 0);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MailboxRecord {
    pub name: String,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub special_use: u8,
    /// False for a `\Noselect` name kept only because it has children.
    pub selectable: bool,
    /// MODSEQ at creation (or at becoming selectable again): the mailbox's HIGHESTMODSEQ while it
    /// has no changes.
    pub created_modseq: u64,
    pub counts: MailboxCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MessageRecord {
    pub mailbox: u32,
    pub uid: u32,
    /// MODSEQ of the transaction that added the message to its mailbox.
    pub created_modseq: u64,
    /// Size of prefix plus file.
    pub size: u64,
    pub received: Timestamp,
    pub line_ending: LineEnding,
    /// SMTP MAIL FROM, or the mbox `From ` line sender; empty if unknown.
    pub mail_from: String,
    /// Header lines added at delivery, served before the file's bytes.
    #[serde(with = "byte_string")]
    pub prefix: Vec<u8>,
    /// Serialized MIME structure (see `structure.rs`); empty if not parsed.
    #[serde(with = "byte_string")]
    pub structure: Vec<u8>,
}

/// A `Vec<u8>` field as one byte string rather than a sequence of `u8`, which serde writes
/// and reads a byte at a time (in the SMTP benchmark, encoding message records that way took
/// a tenth of the committing thread's time). postcard encodes both the same way (a varint
/// length, then the bytes), so records written either way read either way.
mod byte_string {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }

            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }

            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(b) = seq.next_element()? {
                    v.push(b);
                }
                Ok(v)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing our own plain structs to a Vec cannot fail.
    postcard::to_allocvec(v).unwrap_or_default()
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(b: &'a [u8]) -> Option<T> {
    postcard::from_bytes(b).ok()
}

pub(crate) fn u32_key(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

pub(crate) fn u64_key(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

pub(crate) fn read_u32_be(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

pub(crate) fn read_u64_be(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

pub(crate) fn uid_key(mailbox: u32, uid: u32) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&mailbox.to_be_bytes());
    k[4..].copy_from_slice(&uid.to_be_bytes());
    k
}

pub(crate) fn parse_uid_key(k: &[u8]) -> Option<(u32, u32)> {
    if k.len() != 8 {
        return None;
    }
    Some((read_u32_be(k)?, read_u32_be(&k[4..])?))
}

pub(crate) fn change_key(mailbox: u32, modseq: u64, uid: u32) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&mailbox.to_be_bytes());
    k[4..12].copy_from_slice(&modseq.to_be_bytes());
    k[12..].copy_from_slice(&uid.to_be_bytes());
    k
}

pub(crate) fn parse_change_key(k: &[u8]) -> Option<(u32, u64, u32)> {
    if k.len() != 16 {
        return None;
    }
    Some((read_u32_be(k)?, read_u64_be(&k[4..])?, read_u32_be(&k[12..])?))
}

/// The mutable per-message state, value of the `uids` table:
/// message id (u64 LE), modseq (u64 LE), system flags (u8), keyword ids (u32 LE each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawState {
    pub message_id: u64,
    pub modseq: u64,
    pub flags: SystemFlags,
    pub keywords: Vec<u32>,
}

pub(crate) fn encode_state(
    message_id: u64,
    modseq: u64,
    flags: SystemFlags,
    keywords: &[u32],
) -> Vec<u8> {
    let mut v = Vec::with_capacity(17 + 4 * keywords.len());
    v.extend_from_slice(&message_id.to_le_bytes());
    v.extend_from_slice(&modseq.to_le_bytes());
    v.push(flags.bits());
    for k in keywords {
        v.extend_from_slice(&k.to_le_bytes());
    }
    v
}

/// Decodes the fixed part of a state without allocating: (message id, modseq, flags, keyword
/// bytes).
pub(crate) fn decode_state_parts(b: &[u8]) -> Option<(u64, u64, SystemFlags, &[u8])> {
    if b.len() < 17 || !(b.len() - 17).is_multiple_of(4) {
        return None;
    }
    let id = u64::from_le_bytes(b[..8].try_into().ok()?);
    let modseq = u64::from_le_bytes(b[8..16].try_into().ok()?);
    Some((id, modseq, SystemFlags::from_bits(b[16]), &b[17..]))
}

pub(crate) fn keyword_ids(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

pub(crate) fn decode_state(b: &[u8]) -> Option<RawState> {
    let (message_id, modseq, flags, kw) = decode_state_parts(b)?;
    Some(RawState { message_id, modseq, flags, keywords: keyword_ids(kw).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip() {
        let b = encode_state(7, 1 << 40, SystemFlags::SEEN | SystemFlags::DRAFT, &[3, 9]);
        let s = decode_state(&b).unwrap();
        assert_eq!(
            s,
            RawState {
                message_id: 7,
                modseq: 1 << 40,
                flags: SystemFlags::SEEN | SystemFlags::DRAFT,
                keywords: vec![3, 9]
            }
        );
        assert!(decode_state(&b[..18]).is_none());
    }

    #[test]
    fn keys_sort_numerically() {
        assert!(uid_key(1, 255) < uid_key(1, 256));
        assert!(uid_key(1, u32::MAX) < uid_key(2, 0));
        assert!(change_key(1, 255, 9) < change_key(1, 256, 1));
        assert_eq!(parse_change_key(&change_key(3, 4, 5)), Some((3, 4, 5)));
        assert_eq!(parse_uid_key(&uid_key(3, 4)), Some((3, 4)));
    }

    #[test]
    fn byte_strings_encode_as_the_sequences_they_replace() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Seq {
            v: Vec<u8>,
            after: u32,
        }
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Bytes {
            #[serde(with = "byte_string")]
            v: Vec<u8>,
            after: u32,
        }
        // Around the varint length's byte boundaries.
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384] {
            let v: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let old = encode(&Seq { v: v.clone(), after: 9 });
            let new = encode(&Bytes { v: v.clone(), after: 9 });
            assert_eq!(old, new, "length {len}");
            assert_eq!(decode::<Bytes>(&old), Some(Bytes { v: v.clone(), after: 9 }));
            assert_eq!(decode::<Seq>(&new), Some(Seq { v, after: 9 }));
        }
        assert_eq!(decode::<Bytes>(&[5, 1, 2]), None, "truncated");
    }
}
