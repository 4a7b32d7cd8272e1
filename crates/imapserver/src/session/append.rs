//! APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502) and REPLACE (RFC 8508): message data
//! is streamed from the connection into message files as it arrives (never held in memory),
//! and all messages of a command are added in one transaction, durably, before the OK.

use std::io::Write;

use store::{MailboxId, NewMessage, UidSet};

use super::{CmdResult, Failure, InputMode, Session, ok_code};
use crate::command::{AppendMessage, MailboxName};
use crate::framing::Frame;
use crate::parse::{AppendPrefix, AppendStart, parse_append_continuation};
use crate::seqset::{SequenceSet, push_u32};

/// An APPEND or REPLACE whose message data is arriving.
pub(crate) struct Streaming {
    tag: String,
    /// REPLACE: the UID of the message replaced in the selected mailbox.
    replace: Option<u32>,
    mailbox: Option<(MailboxId, u32)>,
    messages: Vec<store::AppendMessage>,
    writer: Option<(store::MessageWriter, Vec<String>, Option<store::Timestamp>)>,
    pub(crate) literal_left: u64,
    after_utf8: bool,
    /// The command failed; its data is read and thrown away, then this is the answer.
    error: Option<Failure>,
}

impl std::fmt::Debug for Streaming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streaming")
            .field("tag", &self.tag)
            .field("left", &self.literal_left)
            .finish()
    }
}

impl Session {
    /// A command line announced the literal of an APPEND or REPLACE message.
    pub(super) fn start_append(&mut self, prefix: AppendPrefix) {
        let mut s = Box::new(Streaming {
            tag: prefix.tag.clone(),
            replace: None,
            mailbox: None,
            messages: Vec::new(),
            writer: None,
            literal_left: 0,
            after_utf8: false,
            error: None,
        });
        if let Err(f) = self.append_target(&prefix, &mut s) {
            s.error = Some(f);
        }
        self.next_append_message(s, prefix.message);
    }

    fn append_target(&mut self, prefix: &AppendPrefix, s: &mut Streaming) -> Result<(), Failure> {
        let account = self.acct()?;
        if let Some((uid_cmd, n)) = prefix.replace {
            if self.enabled.uidonly && !uid_cmd {
                return Err(Failure::bad_code("UIDREQUIRED", "UIDONLY enabled: use UID REPLACE"));
            }
            let sel = self.selected()?;
            if sel.read_only {
                return Err(Failure::no_code("READ-ONLY", "mailbox is read-only"));
            }
            let uid = if uid_cmd { sel.view.seq(n).map(|_| n) } else { sel.view.uid(n) };
            let uid = uid.ok_or_else(|| Failure::bad("no such message to replace"))?;
            s.replace = Some(uid);
        }
        let name = self.store_name(&prefix.mailbox)?;
        let mb = account.snapshot()?.mailbox(&name)?.filter(|m| m.selectable).ok_or_else(|| {
            Failure::no_code("TRYCREATE", format!("mailbox {name:?} does not exist"))
        })?;
        s.mailbox = Some((mb.id, mb.uid_validity));
        Ok(())
    }

    /// Starts receiving the data of the next message (or throwing it away after an error).
    fn next_append_message(&mut self, mut s: Box<Streaming>, m: AppendStart) {
        s.literal_left = m.size;
        s.after_utf8 = m.utf8;
        if s.error.is_none() {
            if s.replace.is_some() && !s.messages.is_empty() {
                s.error = Some(Failure::bad("REPLACE takes one message"));
            } else if let Some(limit) = self.config.append_limit
                && m.size > limit
            {
                s.error =
                    Some(Failure::no_code("TOOBIG", format!("message larger than {limit} bytes")));
            } else {
                match self.acct().and_then(|a| a.message_writer().map_err(Failure::from)) {
                    Ok(w) => s.writer = Some((w, m.flags, m.date)),
                    Err(f) => s.error = Some(f),
                }
            }
        }
        if m.sync {
            if let Some(f) = s.error.take() {
                // The client sends the data only after a continuation request: answer now.
                let tag = s.tag.clone();
                self.tagged(&tag, "APPEND", Err(f));
                self.mode = InputMode::Command;
                return;
            }
            self.out.extend_from_slice(b"+ Ready for literal data\r\n");
        }
        if s.literal_left == 0 {
            self.mode = self.append_literal_done(s);
        } else {
            self.mode = InputMode::Append(s);
        }
    }

    /// Takes message data; returns the bytes used.
    pub(super) fn append_data(&mut self, s: &mut Streaming, data: &[u8]) -> usize {
        let n = s.literal_left.min(data.len() as u64) as usize;
        if let Some((w, _, _)) = &mut s.writer
            && let Err(e) = w.write_all(&data[..n])
        {
            tracing::error!(error = %e, "writing appended message");
            s.writer = None;
            s.error = Some(Failure::no_code("SERVERBUG", "writing message failed"));
        }
        s.literal_left -= n as u64;
        n
    }

    /// All data of a message is in: prepare it, then expect the rest of the command line.
    pub(super) fn append_literal_done(&mut self, mut s: Box<Streaming>) -> InputMode {
        if let Some((w, flags, date)) = s.writer.take() {
            match prepare(w, &flags, date) {
                Ok(m) => s.messages.push(m),
                Err(f) => s.error = Some(f),
            }
        }
        InputMode::AppendNext(s)
    }

    /// After a message's data: the end of the command, or the next message (MULTIAPPEND).
    pub(super) fn step_append_next(&mut self, s: Box<Streaming>) -> bool {
        let limits = self.config.limits;
        match self.framer.next(&self.inbuf, &limits) {
            Frame::Incomplete => {
                self.mode = InputMode::AppendNext(s);
                false
            }
            Frame::LineTooLong => {
                self.framer.reset();
                self.inbuf.clear();
                let tag = s.tag.clone();
                self.tagged(&tag, "APPEND", Err(Failure::bad("line too long")));
                self.mode = InputMode::DiscardLine { tag: None };
                true
            }
            Frame::Complete(n) => {
                let line: Vec<u8> = self.inbuf.drain(..n).collect();
                self.framer.reset();
                match parse_append_continuation(&line, s.after_utf8) {
                    Ok(None) => self.finish_append(s),
                    Ok(Some(_)) | Err(_) => {
                        let tag = s.tag.clone();
                        self.tagged(
                            &tag,
                            "APPEND",
                            Err(Failure::bad("syntax error after message")),
                        );
                    }
                }
                true
            }
            Frame::Literal(a) => {
                let line: Vec<u8> = self.inbuf.drain(..a.line_end).collect();
                self.framer.reset();
                match parse_append_continuation(&line, s.after_utf8) {
                    Ok(Some(m)) => self.next_append_message(s, m),
                    Ok(None) | Err(_) => {
                        let tag = s.tag.clone();
                        let reply = "BAD syntax error after message".to_string();
                        if a.sync {
                            self.tagged_line(&tag, &reply);
                        } else {
                            self.mode = InputMode::Skip { remaining: a.size, tag, reply };
                        }
                    }
                }
                true
            }
        }
    }

    fn finish_append(&mut self, s: Box<Streaming>) {
        let tag = s.tag.clone();
        let name = if s.replace.is_some() { "REPLACE" } else { "APPEND" };
        let r = self.commit_append(*s);
        self.finish_command(&tag, name, r, true);
    }

    fn commit_append(&mut self, s: Streaming) -> CmdResult {
        if let Some(f) = s.error {
            return Err(f);
        }
        let (mailbox, uid_validity) = s.mailbox.ok_or_else(|| Failure::no("no mailbox"))?;
        let account = self.acct()?;
        let selected = self.selected().ok().map(|sel| sel.id);
        if let Some(old_uid) = s.replace {
            let old_mailbox = selected.ok_or_else(|| Failure::bad("no mailbox selected"))?;
            let mut message =
                s.messages.into_iter().next().ok_or_else(|| Failure::bad("no message"))?;
            self.arrival_flags(&account, mailbox, std::slice::from_mut(&mut message))?;
            self.train(|junk| junk.forget_uids(&account, old_mailbox, &UidSet::single(old_uid)));
            let d = account.replace_message(old_mailbox, old_uid, mailbox, message)?;
            self.train(|junk| junk.sync_uids(&account, mailbox, &UidSet::single(d.uid)));
            // RFC 8508 §3.4: APPENDUID in an untagged OK, then the expunge, then the OK.
            self.out.extend_from_slice(b"* OK [APPENDUID ");
            push_u32(&mut self.out, uid_validity);
            self.out.push(b' ');
            push_u32(&mut self.out, d.uid);
            self.out.extend_from_slice(b"] replacement message\r\n");
            if let Ok(sel) = self.selected_mut() {
                if let Err(i) = sel.pending_expunges.binary_search(&old_uid) {
                    sel.pending_expunges.insert(i, old_uid);
                }
                sel.dirty = true;
            }
            return super::ok("REPLACE completed");
        }
        if s.messages.is_empty() {
            return Err(Failure::bad("no message"));
        }
        let mut messages = s.messages;
        self.arrival_flags(&account, mailbox, &mut messages)?;
        let delivered = account.deliver_all(mailbox, messages)?;
        let new_uids = UidSet::from_uids(delivered.iter().map(|d| d.uid));
        self.train(|junk| junk.sync_uids(&account, mailbox, &new_uids));
        if selected == Some(mailbox) {
            self.own_change(None);
        }
        let uids = SequenceSet::from_numbers(delivered.iter().map(|d| d.uid))
            .map(|s| s.to_string())
            .unwrap_or_default();
        ok_code(format!("APPENDUID {uid_validity} {uids}"), "APPEND completed")
    }

    /// mox's AutomaticJunkFlags for appended messages: the mailbox sets `$Junk`/`$NotJunk`.
    fn arrival_flags(
        &self,
        account: &store::Account,
        mailbox: store::MailboxId,
        messages: &mut [store::AppendMessage],
    ) -> Result<(), Failure> {
        let Some(junk) = self.junk() else { return Ok(()) };
        let Some(mb) = account.snapshot()?.mailbox_by_id(mailbox)? else { return Ok(()) };
        for m in messages {
            junk.arrival_flags(Some(&mb), &mb.name, &mut m.new.flags);
        }
        Ok(())
    }

    /// APPEND parsed as a whole command (its literals were small and taken into the command).
    pub(super) fn cmd_append_inline(
        &mut self,
        mailbox: &MailboxName,
        messages: Vec<AppendMessage>,
    ) -> CmdResult {
        self.inline_append(mailbox, messages, None)
    }

    pub(super) fn cmd_replace_inline(
        &mut self,
        uid_cmd: bool,
        number: u32,
        mailbox: &MailboxName,
        message: AppendMessage,
    ) -> CmdResult {
        self.inline_append(mailbox, vec![message], Some((uid_cmd, number)))
    }

    fn inline_append(
        &mut self,
        mailbox: &MailboxName,
        messages: Vec<AppendMessage>,
        replace: Option<(bool, u32)>,
    ) -> CmdResult {
        let prefix = AppendPrefix {
            tag: String::new(),
            replace,
            mailbox: mailbox.clone(),
            message: AppendStart { flags: vec![], date: None, size: 0, sync: false, utf8: false },
        };
        let mut s = Streaming {
            tag: String::new(),
            replace: None,
            mailbox: None,
            messages: Vec::new(),
            writer: None,
            literal_left: 0,
            after_utf8: false,
            error: None,
        };
        self.append_target(&prefix, &mut s)?;
        let account = self.acct()?;
        for m in messages {
            if let Some(limit) = self.config.append_limit
                && m.data.len() as u64 > limit
            {
                return Err(Failure::no_code(
                    "TOOBIG",
                    format!("message larger than {limit} bytes"),
                ));
            }
            let mut w = account.message_writer()?;
            w.write_all(&m.data)
                .map_err(|_| Failure::no_code("SERVERBUG", "writing message failed"))?;
            s.messages.push(prepare(w, &m.flags, m.date)?);
        }
        self.commit_append(s)
    }
}

fn prepare(
    w: store::MessageWriter,
    flags: &[String],
    date: Option<store::Timestamp>,
) -> Result<store::AppendMessage, Failure> {
    let names: Vec<&str> =
        flags.iter().map(String::as_str).filter(|f| !f.eq_ignore_ascii_case("\\Recent")).collect();
    let flags = store::Flags::parse(names).map_err(|e| Failure::bad(e.to_string()))?;
    let message = w.finish()?;
    Ok(store::AppendMessage {
        message,
        new: NewMessage { flags, received: date, ..Default::default() },
    })
}
