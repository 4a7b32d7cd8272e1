//! Which commands are answered on the connection's own thread: those that read only memory
//! and the account's database (no message files beyond a few header sections, no commit, no
//! password hash), with work bounded by the size of the selected mailbox.
//!
//! Everything else runs on a blocking thread, as store calls may wait for the disk. Handing a
//! command to a blocking thread and back costs two thread wake-ups, which under load is most
//! of the latency of a small command (a SEARCH over flags takes about a microsecond of work):
//! Dovecot, one process per connection, answers those with one wake-up.

use std::borrow::Cow;

use super::{InputMode, Session, State};
use crate::command::{CommandBody, FetchAttr, SearchKey, SectionText};
use crate::parse;

/// Longest command line considered (anything longer is not a quick command).
const MAX_LINE: usize = 1024;

/// The most messages a quick command may look at, by what it reads of each.
const MAX_STATES: u32 = 10_000;
const MAX_RECORDS: u32 = 1_000;
const MAX_HEADERS: u32 = 16;

/// What a command reads of each message, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reads {
    /// UID, flags, MODSEQ: the message states.
    States,
    /// Size, dates, MIME structure: the message record.
    Record,
    /// The header section, from the message file.
    Header,
    /// More of the file, or something that changes the mailbox.
    More,
}

impl Session {
    /// Whether `data`, the next input, is exactly one command that is answered quickly (see
    /// the module documentation): the driver then calls [`Session::input`] on its own thread
    /// instead of a blocking one.
    pub fn answers_quickly(&self, data: &[u8]) -> bool {
        if !matches!(self.mode, InputMode::Command)
            || !self.inbuf.is_empty()
            || self.job.is_some()
            || self.after_output.is_some()
            || data.len() > MAX_LINE
            || memchr::memchr(b'\n', data) != Some(data.len() - 1)
            || data.ends_with(b"}\r\n")
        {
            return false;
        }
        let State::Authenticated(a) = &self.state else { return false };
        if a.notify.is_some() {
            // Its events can come with fetch attributes of new messages (RFC 5465 §5.2),
            // message data from their files.
            return false;
        }
        let Ok(cmd) = parse::parse_command(data) else { return false };
        let messages = a.selected.as_ref().map_or(0, |s| s.view.len());
        let within = |reads: Reads| match reads {
            Reads::States => messages <= MAX_STATES,
            Reads::Record => messages <= MAX_RECORDS,
            Reads::Header => messages <= MAX_HEADERS,
            Reads::More => false,
        };
        match &cmd.body {
            CommandBody::Noop | CommandBody::Capability | CommandBody::Check => {
                within(Reads::States)
            }
            CommandBody::Search(s) => within(search_reads(&s.key)),
            CommandBody::Fetch { items, .. } => {
                within(items.iter().map(fetch_reads).max().unwrap_or(Reads::States))
            }
            _ => false,
        }
    }
}

/// The key with the criteria of every AND (and both sides of every OR) ordered cheapest
/// first, so a message that fails on its flags is never read from its file. Borrowed when
/// it is in that order already (a copy costs more than a small search).
pub(super) fn cheapest_first(k: &SearchKey) -> Cow<'_, SearchKey> {
    if in_cost_order(k) { Cow::Borrowed(k) } else { Cow::Owned(reordered(k)) }
}

fn in_cost_order(k: &SearchKey) -> bool {
    match k {
        SearchKey::And(ks) => {
            ks.windows(2).all(|w| search_reads(&w[0]) <= search_reads(&w[1]))
                && ks.iter().all(in_cost_order)
        }
        SearchKey::Or(a, b) => {
            search_reads(a) <= search_reads(b) && in_cost_order(a) && in_cost_order(b)
        }
        SearchKey::Not(k) => in_cost_order(k),
        _ => true,
    }
}

fn reordered(k: &SearchKey) -> SearchKey {
    match k {
        SearchKey::And(ks) => {
            let mut ks: Vec<SearchKey> = ks.iter().map(reordered).collect();
            // Stable: equal costs keep the client's order.
            ks.sort_by_key(search_reads);
            SearchKey::And(ks)
        }
        SearchKey::Or(a, b) => {
            let (a, b) = (reordered(a), reordered(b));
            if search_reads(&b) < search_reads(&a) {
                SearchKey::Or(Box::new(b), Box::new(a))
            } else {
                SearchKey::Or(Box::new(a), Box::new(b))
            }
        }
        SearchKey::Not(k) => SearchKey::Not(Box::new(reordered(k))),
        k => k.clone(),
    }
}

fn search_reads(k: &SearchKey) -> Reads {
    use SearchKey as K;
    match k {
        K::All
        | K::SaveDateSupported
        | K::Answered
        | K::Deleted
        | K::Draft
        | K::Flagged
        | K::Seen
        | K::Unanswered
        | K::Undeleted
        | K::Undraft
        | K::Unflagged
        | K::Unseen
        | K::Recent
        | K::New
        | K::Old
        | K::Keyword(_)
        | K::Unkeyword(_)
        | K::Uid(_)
        | K::SeqSet(_)
        | K::ModSeq { .. } => Reads::States,
        K::Larger(_)
        | K::Smaller(_)
        | K::Before(_)
        | K::On(_)
        | K::Since(_)
        | K::Older(_)
        | K::Younger(_)
        | K::SavedBefore(_)
        | K::SavedOn(_)
        | K::SavedSince(_) => Reads::Record,
        K::Bcc(_)
        | K::Cc(_)
        | K::From(_)
        | K::To(_)
        | K::Subject(_)
        | K::Header(..)
        | K::SentBefore(_)
        | K::SentOn(_)
        | K::SentSince(_) => Reads::Header,
        K::Not(k) => search_reads(k),
        K::Or(a, b) => search_reads(a).max(search_reads(b)),
        K::And(ks) => ks.iter().map(search_reads).max().unwrap_or(Reads::States),
        _ => Reads::More,
    }
}

fn fetch_reads(a: &FetchAttr) -> Reads {
    match a {
        FetchAttr::Flags | FetchAttr::Uid | FetchAttr::ModSeq => Reads::States,
        FetchAttr::InternalDate
        | FetchAttr::Rfc822Size
        | FetchAttr::BodyStructure
        | FetchAttr::Body
        | FetchAttr::SaveDate => Reads::Record,
        FetchAttr::Envelope | FetchAttr::Rfc822Header => Reads::Header,
        FetchAttr::BodySection { peek: true, section, partial: _ } => match section.text {
            Some(SectionText::Header | SectionText::HeaderFields { .. } | SectionText::Mime) => {
                Reads::Header
            }
            _ => Reads::More,
        },
        _ => Reads::More,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SearchKey {
        let cmd = parse::parse_command(format!("t SEARCH {s}\r\n").as_bytes()).unwrap();
        match cmd.body {
            CommandBody::Search(s) => s.key,
            other => panic!("{other:?}"),
        }
    }

    fn fetch(s: &str) -> Reads {
        let cmd = parse::parse_command(format!("t FETCH 1:* {s}\r\n").as_bytes()).unwrap();
        match cmd.body {
            CommandBody::Fetch { items, .. } => {
                items.iter().map(fetch_reads).max().unwrap_or(Reads::States)
            }
            other => panic!("{other:?}"),
        }
    }

    fn session(dir: &std::path::Path) -> Session {
        use super::super::{Config, ConnectionInfo, MemoryAuthenticator, SimpleLoginLimiter};
        let auth = MemoryAuthenticator::new(dir.join("accounts"));
        let cheap = sasl::DeriveParams {
            scram_iterations: std::num::NonZeroU32::MIN,
            argon2_memory_kib: 8,
            argon2_passes: 1,
        };
        auth.add_user("u", "u", "p", &cheap).unwrap();
        let config = std::sync::Arc::new(Config {
            hostname: "test".into(),
            authenticator: std::sync::Arc::new(auth),
            login_limiter: std::sync::Arc::new(SimpleLoginLimiter::default()),
            limits: Default::default(),
            append_limit: None,
            allow_plaintext_auth: true,
        });
        let conn = ConnectionInfo {
            remote_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            tls: true,
            starttls_available: false,
            channel_bindings: vec![],
        };
        Session::new(config, conn)
    }

    #[test]
    fn only_reading_commands_are_quick() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = session(dir.path());
        assert!(!s.answers_quickly(b"a NOOP\r\n"), "not before login");
        assert_eq!(s.input(b"a LOGIN u p\r\n"), crate::Action::Read);
        assert!(!s.answers_quickly(b"b SELECT INBOX\r\n"));
        assert_eq!(s.input(b"b SELECT INBOX\r\n"), crate::Action::Read);
        for quick in [
            &b"c NOOP\r\n"[..],
            b"c SEARCH UNSEEN SUBJECT load\r\n",
            b"c UID SEARCH RETURN (COUNT) LARGER 5\r\n",
            b"c FETCH 1:* (FLAGS)\r\n",
            b"c FETCH 1 (BODY.PEEK[HEADER] BODYSTRUCTURE)\r\n",
        ] {
            assert!(s.answers_quickly(quick), "{}", String::from_utf8_lossy(quick));
        }
        for slow in [
            &b"c STORE 1 +FLAGS (\\Seen)\r\n"[..],
            b"c EXPUNGE\r\n",
            b"c APPEND INBOX {3+}\r\n",
            b"c SEARCH BODY x\r\n",
            b"c FETCH 1 (BODY[])\r\n",
            b"c NOOP\r\nd NOOP\r\n",
            b"c NOOP",
        ] {
            assert!(!s.answers_quickly(slow), "{}", String::from_utf8_lossy(slow));
        }
        // A partial command waiting for more input: the next bytes belong to it.
        assert_eq!(s.input(b"e SEARCH"), crate::Action::Read);
        assert!(!s.answers_quickly(b" SEEN\r\n"));
    }

    #[test]
    fn what_searches_read() {
        assert_eq!(search_reads(&key("UNSEEN UID 1:5 KEYWORD $Junk")), Reads::States);
        assert_eq!(search_reads(&key("NOT LARGER 100")), Reads::Record);
        assert_eq!(search_reads(&key("UNSEEN SUBJECT load")), Reads::Header);
        assert_eq!(search_reads(&key("OR SEEN BODY x")), Reads::More);
        assert_eq!(search_reads(&key("TEXT x")), Reads::More);
    }

    #[test]
    fn cheap_criteria_go_first() {
        assert_eq!(
            *cheapest_first(&key("SUBJECT x LARGER 5 UNSEEN OR BODY y DELETED")),
            key("UNSEEN LARGER 5 SUBJECT x OR DELETED BODY y")
        );
        assert_eq!(*cheapest_first(&key("NOT (FROM a SEEN)")), key("NOT (SEEN FROM a)"));
        let ordered = key("UNSEEN SUBJECT load");
        assert!(matches!(cheapest_first(&ordered), Cow::Borrowed(_)));
    }

    #[test]
    fn what_fetches_read() {
        assert_eq!(fetch("(FLAGS UID MODSEQ)"), Reads::States);
        assert_eq!(fetch("(FLAGS BODYSTRUCTURE RFC822.SIZE)"), Reads::Record);
        assert_eq!(fetch("(BODY.PEEK[HEADER] BODYSTRUCTURE)"), Reads::Header);
        // Sets \Seen: a commit.
        assert_eq!(fetch("(BODY[HEADER])"), Reads::More);
        assert_eq!(fetch("(BODY.PEEK[TEXT])"), Reads::More);
        assert_eq!(fetch("(RFC822)"), Reads::More);
    }
}
