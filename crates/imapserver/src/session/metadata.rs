//! METADATA (RFC 5464): GETMETADATA and SETMETADATA on mailboxes and the server, and the
//! METADATA responses of LIST RETURN (METADATA ...) (LIST-METADATA, RFC 9590).

use super::{CmdResult, Failure, Session, ok};
use crate::command::{MailboxName, MetadataDepth};
use crate::response;
use crate::seqset::push_u64;

/// Largest value we store.
const MAX_VALUE: usize = 64 * 1024;
/// Most entries per mailbox (or for the server).
const MAX_ENTRIES: usize = 1000;

/// Checks an entry name (RFC 5464 §3.2): `/private/...` or `/shared/...`, no wildcards, no
/// empty levels, no trailing slash.
fn check_entry(name: &str) -> Result<(), Failure> {
    let lower = name.to_ascii_lowercase();
    let ok = (lower.starts_with("/private/") || lower.starts_with("/shared/"))
        && !name.ends_with('/')
        && !name.contains("//")
        && !name.contains(['*', '%'])
        && name.bytes().all(|c| c > 0x19 && c != 0x7f)
        && name.len() <= store::annotations::MAX_NAME_LEN;
    if ok { Ok(()) } else { Err(Failure::bad(format!("invalid entry name {name:?}"))) }
}

impl Session {
    fn metadata_mailbox(
        &self,
        snap: &store::Snapshot<'_>,
        mailbox: &MailboxName,
    ) -> Result<Option<store::Mailbox>, Failure> {
        if mailbox.0.is_empty() {
            return Ok(None);
        }
        let name = self.store_name(mailbox)?;
        snap.mailbox(&name)?.filter(|m| m.selectable).map(Some).ok_or_else(|| {
            Failure::no_code("NONEXISTENT", format!("mailbox {name:?} does not exist"))
        })
    }

    pub(super) fn cmd_getmetadata(
        &mut self,
        max_size: Option<u32>,
        depth: MetadataDepth,
        mailbox: &MailboxName,
        entries: &[String],
    ) -> CmdResult {
        for e in entries {
            check_entry(e)?;
        }
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let mb = self.metadata_mailbox(&snap, mailbox)?;
        let all = snap.annotations(mb.as_ref().map(|m| m.id))?;
        drop(snap);
        let wanted: Vec<String> = entries.iter().map(|e| e.to_ascii_lowercase()).collect();
        let mut longest: Option<usize> = None;
        let mut found = Vec::new();
        for a in all {
            let key = a.name.to_ascii_lowercase();
            let matched = wanted.iter().any(|w| {
                if key == *w {
                    return true;
                }
                let Some(rest) = key.strip_prefix(w.as_str()).and_then(|r| r.strip_prefix('/'))
                else {
                    return false;
                };
                match depth {
                    MetadataDepth::Zero => false,
                    MetadataDepth::One => !rest.contains('/'),
                    MetadataDepth::Infinity => true,
                }
            });
            if !matched {
                continue;
            }
            if max_size.is_some_and(|m| a.value.len() > m as usize) {
                longest = Some(longest.unwrap_or(0).max(a.value.len()));
                continue;
            }
            found.push(a);
        }
        let utf8 = self.utf8();
        if !found.is_empty() {
            let mut line = b"METADATA ".to_vec();
            match &mb {
                Some(m) => response::mailbox(&mut line, &m.name, utf8),
                None => line.extend_from_slice(b"\"\""),
            }
            line.extend_from_slice(b" (");
            for (i, a) in found.iter().enumerate() {
                if i > 0 {
                    line.push(b' ');
                }
                response::astring(&mut line, a.name.as_bytes(), utf8);
                line.push(b' ');
                response::string(&mut line, &a.value, utf8);
            }
            line.push(b')');
            self.untagged(&line);
        }
        match longest {
            // RFC 5464 §4.2.1: the size of the longest value left out.
            Some(n) => super::ok_code(format!("METADATA LONGENTRIES {n}"), "GETMETADATA completed"),
            None => ok("GETMETADATA completed"),
        }
    }

    pub(super) fn cmd_setmetadata(
        &mut self,
        mailbox: &MailboxName,
        entries: Vec<(String, Option<Vec<u8>>)>,
    ) -> CmdResult {
        for (e, v) in &entries {
            check_entry(e)?;
            if v.as_ref().is_some_and(|v| v.len() > MAX_VALUE) {
                return Err(Failure::no_code(
                    &format!("METADATA MAXSIZE {MAX_VALUE}"),
                    "value too large",
                ));
            }
        }
        let account = self.acct()?;
        let snap = account.snapshot()?;
        let mb = self.metadata_mailbox(&snap, mailbox)?;
        let existing = snap.annotations(mb.as_ref().map(|m| m.id))?;
        drop(snap);
        let adding = entries
            .iter()
            .filter(|(n, v)| {
                v.is_some() && !existing.iter().any(|a| a.name.eq_ignore_ascii_case(n))
            })
            .count();
        if existing.len() + adding > MAX_ENTRIES {
            return Err(Failure::no_code("METADATA TOOMANY", "too many annotations"));
        }
        account.set_annotations(mb.map(|m| m.id), &entries)?;
        ok("SETMETADATA completed")
    }

    /// `METADATA mailbox (entry value ...)` for LIST RETURN (METADATA (...)); absent entries
    /// are NIL.
    pub(crate) fn metadata_line(
        &self,
        snap: &store::Snapshot<'_>,
        mb: Option<&store::Mailbox>,
        names: &[String],
    ) -> Result<Vec<u8>, Failure> {
        let utf8 = self.utf8();
        let mut line = b"METADATA ".to_vec();
        match mb {
            Some(m) => response::mailbox(&mut line, &m.name, utf8),
            None => line.extend_from_slice(b"\"\""),
        }
        line.extend_from_slice(b" (");
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            response::astring(&mut line, n.as_bytes(), utf8);
            line.push(b' ');
            match snap.annotation(mb.map(|m| m.id), n)? {
                Some(a) => response::string(&mut line, &a.value, utf8),
                None => line.extend_from_slice(b"NIL"),
            }
        }
        line.push(b')');
        let _ = push_u64;
        Ok(line)
    }
}
