//! Encoding commands as a client sends them: the inverse of [`crate::parse`], used by tests
//! to talk to the server and by the `imap_roundtrip` fuzz target (parse → encode → parse must
//! give the same command). Literals are synchronizing-free (`{n+}`, LITERAL+), so the output
//! can be sent in one write.
//!
//! ```
//! use imapserver::command::{Command, CommandBody, MailboxName};
//! let c = Command { tag: "a1".into(), body: CommandBody::Delete(MailboxName("Old mail".into())) };
//! let bytes = imapserver::encode::encode_command(&c);
//! assert_eq!(bytes, b"a1 DELETE \"Old mail\"\r\n");
//! assert_eq!(imapserver::parse::parse_command(&bytes).unwrap(), c);
//! ```

use base64::Engine as _;

use crate::command::*;
use crate::parse::is_astring_char;
use crate::seqset::{push_u32, push_u64};

/// Encodes a command, CRLF included.
pub fn encode_command(c: &Command) -> Vec<u8> {
    let mut o = Vec::new();
    o.extend_from_slice(c.tag.as_bytes());
    o.push(b' ');
    body(&mut o, &c.body);
    o.extend_from_slice(b"\r\n");
    o
}

fn string(o: &mut Vec<u8>, b: &[u8]) {
    let quotable = b.len() < 1000 && !b.iter().any(|&c| c == 0 || c == b'\r' || c == b'\n');
    if quotable && std::str::from_utf8(b).is_ok() {
        o.push(b'"');
        for &c in b {
            if c == b'"' || c == b'\\' {
                o.push(b'\\');
            }
            o.push(c);
        }
        o.push(b'"');
    } else {
        literal(o, b);
    }
}

fn literal(o: &mut Vec<u8>, b: &[u8]) {
    if b.contains(&0) {
        o.push(b'~');
        o.push(b'{');
        push_u64(o, b.len() as u64);
        o.extend_from_slice(b"}\r\n");
    } else {
        o.push(b'{');
        push_u64(o, b.len() as u64);
        o.extend_from_slice(b"+}\r\n");
    }
    o.extend_from_slice(b);
}

fn astring(o: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if !b.is_empty() && b.iter().all(|&c| is_astring_char(c)) {
        o.extend_from_slice(b);
    } else {
        string(o, b);
    }
}

fn list_mailbox(o: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if !b.is_empty() && b.iter().all(|&c| is_astring_char(c) || c == b'%' || c == b'*') {
        o.extend_from_slice(b);
    } else {
        string(o, b);
    }
}

fn mailbox(o: &mut Vec<u8>, m: &MailboxName) {
    astring(o, &m.0);
}

fn atom_list(o: &mut Vec<u8>, items: &[String]) {
    o.push(b'(');
    for (i, f) in items.iter().enumerate() {
        if i > 0 {
            o.push(b' ');
        }
        o.extend_from_slice(f.as_bytes());
    }
    o.push(b')');
}

fn date(o: &mut Vec<u8>, d: &Date) {
    const M: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    o.extend_from_slice(
        format!("{}-{}-{:04}", d.day, M[(d.month as usize).saturating_sub(1) % 12], d.year)
            .as_bytes(),
    );
}

fn kw(o: &mut Vec<u8>, s: &str) {
    o.extend_from_slice(s.as_bytes());
}

fn seq(o: &mut Vec<u8>, s: &crate::seqset::SequenceSet) {
    o.extend_from_slice(s.to_string().as_bytes());
}

fn status_items(o: &mut Vec<u8>, items: &[StatusItem]) {
    o.push(b'(');
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            o.push(b' ');
        }
        kw(o, it.name());
    }
    o.push(b')');
}

fn body(o: &mut Vec<u8>, b: &CommandBody) {
    use CommandBody as C;
    match b {
        C::Capability => kw(o, "CAPABILITY"),
        C::Noop => kw(o, "NOOP"),
        C::Logout => kw(o, "LOGOUT"),
        C::StartTls => kw(o, "STARTTLS"),
        C::Namespace => kw(o, "NAMESPACE"),
        C::Idle => kw(o, "IDLE"),
        C::Check => kw(o, "CHECK"),
        C::Close => kw(o, "CLOSE"),
        C::Unselect => kw(o, "UNSELECT"),
        C::Id(p) => {
            kw(o, "ID ");
            match p {
                None => kw(o, "NIL"),
                Some(p) => {
                    o.push(b'(');
                    for (i, (k, v)) in p.iter().enumerate() {
                        if i > 0 {
                            o.push(b' ');
                        }
                        string(o, k.as_bytes());
                        o.push(b' ');
                        match v {
                            Some(v) => string(o, v.as_bytes()),
                            None => kw(o, "NIL"),
                        }
                    }
                    o.push(b')');
                }
            }
        }
        C::Authenticate { mechanism, initial_response } => {
            kw(o, "AUTHENTICATE ");
            kw(o, mechanism);
            if let Some(r) = initial_response {
                o.push(b' ');
                if r.expose().is_empty() {
                    o.push(b'=');
                } else {
                    kw(o, &base64::engine::general_purpose::STANDARD.encode(r.expose()));
                }
            }
        }
        C::Login { username, password } => {
            kw(o, "LOGIN ");
            astring(o, username);
            o.push(b' ');
            astring(o, password.expose());
        }
        C::Enable(caps) => {
            kw(o, "ENABLE");
            for c in caps {
                o.push(b' ');
                kw(o, c);
            }
        }
        C::Select { mailbox: m, read_only, condstore, qresync } => {
            kw(o, if *read_only { "EXAMINE " } else { "SELECT " });
            mailbox(o, m);
            if *condstore || qresync.is_some() {
                o.extend_from_slice(b" (");
                let mut first = true;
                if *condstore {
                    kw(o, "CONDSTORE");
                    first = false;
                }
                if let Some(q) = qresync {
                    if !first {
                        o.push(b' ');
                    }
                    kw(o, "QRESYNC (");
                    push_u32(o, q.uid_validity);
                    o.push(b' ');
                    push_u64(o, q.modseq);
                    if let Some(k) = &q.known_uids {
                        o.push(b' ');
                        seq(o, k);
                    }
                    if let Some((s, u)) = &q.seq_match {
                        o.extend_from_slice(b" (");
                        seq(o, s);
                        o.push(b' ');
                        seq(o, u);
                        o.push(b')');
                    }
                    o.push(b')');
                }
                o.push(b')');
            }
        }
        C::Create { mailbox: m, special_use } => {
            kw(o, "CREATE ");
            mailbox(o, m);
            if !special_use.is_empty() {
                o.extend_from_slice(b" (USE ");
                atom_list(o, special_use);
                o.push(b')');
            }
        }
        C::Delete(m) => {
            kw(o, "DELETE ");
            mailbox(o, m);
        }
        C::Rename { from, to } => {
            kw(o, "RENAME ");
            mailbox(o, from);
            o.push(b' ');
            mailbox(o, to);
        }
        C::Subscribe(m) => {
            kw(o, "SUBSCRIBE ");
            mailbox(o, m);
        }
        C::Unsubscribe(m) => {
            kw(o, "UNSUBSCRIBE ");
            mailbox(o, m);
        }
        C::List(l) => list(o, l),
        C::Lsub { reference, pattern } => {
            kw(o, "LSUB ");
            mailbox(o, reference);
            o.push(b' ');
            list_mailbox(o, &pattern.0);
        }
        C::Status { mailbox: m, items } => {
            kw(o, "STATUS ");
            mailbox(o, m);
            o.push(b' ');
            status_items(o, items);
        }
        C::Append { mailbox: m, messages } => {
            kw(o, "APPEND ");
            mailbox(o, m);
            for msg in messages {
                o.push(b' ');
                append_message(o, msg);
            }
        }
        C::Expunge { uids: None } => kw(o, "EXPUNGE"),
        C::Expunge { uids: Some(s) } => {
            kw(o, "UID EXPUNGE ");
            seq(o, s);
        }
        C::Search(s) => {
            kw(o, if s.uid { "UID SEARCH" } else { "SEARCH" });
            search(o, s, true);
        }
        C::Esearch { source, search: s } => {
            kw(o, "ESEARCH");
            if let Some(src) = source {
                o.extend_from_slice(b" IN (");
                for (i, f) in src.iter().enumerate() {
                    if i > 0 {
                        o.push(b' ');
                    }
                    filter(o, f);
                }
                o.push(b')');
            }
            search(o, s, true);
        }
        C::Fetch { uid, set, items, changed_since, vanished } => {
            kw(o, if *uid { "UID FETCH " } else { "FETCH " });
            seq(o, set);
            o.push(b' ');
            fetch_items(o, items);
            if changed_since.is_some() || *vanished {
                o.extend_from_slice(b" (");
                if let Some(c) = changed_since {
                    kw(o, "CHANGEDSINCE ");
                    push_u64(o, *c);
                    if *vanished {
                        o.push(b' ');
                    }
                }
                if *vanished {
                    kw(o, "VANISHED");
                }
                o.push(b')');
            }
        }
        C::Store { uid, set, unchanged_since, op, silent, flags } => {
            kw(o, if *uid { "UID STORE " } else { "STORE " });
            seq(o, set);
            o.push(b' ');
            if let Some(u) = unchanged_since {
                kw(o, "(UNCHANGEDSINCE ");
                push_u64(o, *u);
                kw(o, ") ");
            }
            kw(
                o,
                match op {
                    StoreOp::Add => "+FLAGS",
                    StoreOp::Remove => "-FLAGS",
                    StoreOp::Replace => "FLAGS",
                },
            );
            if *silent {
                kw(o, ".SILENT");
            }
            o.push(b' ');
            atom_list(o, flags);
        }
        C::Copy { uid, set, mailbox: m } | C::Move { uid, set, mailbox: m } => {
            let name = if matches!(b, C::Copy { .. }) { "COPY " } else { "MOVE " };
            if *uid {
                kw(o, "UID ");
            }
            kw(o, name);
            seq(o, set);
            o.push(b' ');
            mailbox(o, m);
        }
        C::Replace { uid, number, mailbox: m, message } => {
            kw(o, if *uid { "UID REPLACE " } else { "REPLACE " });
            push_u32(o, *number);
            o.push(b' ');
            mailbox(o, m);
            o.push(b' ');
            append_message(o, message);
        }
        C::Sort { criteria, search: s } => {
            kw(o, if s.uid { "UID SORT" } else { "SORT" });
            if let Some(r) = &s.returns {
                o.push(b' ');
                returns(o, r);
            }
            o.extend_from_slice(b" (");
            for (i, c) in criteria.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                if c.reverse {
                    kw(o, "REVERSE ");
                }
                kw(o, SortKey::ALL.iter().find(|(k, _)| *k == c.key).map_or("ARRIVAL", |(_, n)| n));
            }
            o.extend_from_slice(b") ");
            astring(o, s.charset.as_deref().unwrap_or("UTF-8"));
            o.push(b' ');
            search_key_top(o, &s.key);
        }
        C::Thread { uid, algorithm, charset, key } => {
            kw(o, if *uid { "UID THREAD " } else { "THREAD " });
            kw(
                o,
                match algorithm {
                    ThreadAlgorithm::OrderedSubject => "ORDEREDSUBJECT ",
                    ThreadAlgorithm::References => "REFERENCES ",
                },
            );
            astring(o, charset);
            o.push(b' ');
            search_key_top(o, key);
        }
        C::CancelUpdate(tags) => {
            kw(o, "CANCELUPDATE");
            for t in tags {
                o.push(b' ');
                string(o, t.as_bytes());
            }
        }
        C::GetMetadata { max_size, depth, mailbox: m, entries } => {
            kw(o, "GETMETADATA ");
            let d = match depth {
                MetadataDepth::Zero => None,
                MetadataDepth::One => Some("1"),
                MetadataDepth::Infinity => Some("infinity"),
            };
            if max_size.is_some() || d.is_some() {
                o.push(b'(');
                if let Some(m) = max_size {
                    kw(o, "MAXSIZE ");
                    push_u32(o, *m);
                    if d.is_some() {
                        o.push(b' ');
                    }
                }
                if let Some(d) = d {
                    kw(o, "DEPTH ");
                    kw(o, d);
                }
                o.extend_from_slice(b") ");
            }
            mailbox(o, m);
            o.extend_from_slice(b" (");
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                astring(o, e);
            }
            o.push(b')');
        }
        C::SetMetadata { mailbox: m, entries } => {
            kw(o, "SETMETADATA ");
            mailbox(o, m);
            o.extend_from_slice(b" (");
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                astring(o, k);
                o.push(b' ');
                match v {
                    Some(v) => string(o, v),
                    None => kw(o, "NIL"),
                }
            }
            o.push(b')');
        }
        C::GetQuota(root) => {
            kw(o, "GETQUOTA ");
            astring(o, root);
        }
        C::GetQuotaRoot(m) => {
            kw(o, "GETQUOTAROOT ");
            mailbox(o, m);
        }
        C::SetQuota { root, limits } => {
            kw(o, "SETQUOTA ");
            astring(o, root);
            o.extend_from_slice(b" (");
            for (i, (r, l)) in limits.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                kw(o, r);
                o.push(b' ');
                push_u64(o, *l);
            }
            o.push(b')');
        }
        C::Notify(None) => kw(o, "NOTIFY NONE"),
        C::Notify(Some(n)) => {
            kw(o, "NOTIFY SET");
            if n.status {
                kw(o, " STATUS");
            }
            for g in &n.groups {
                o.extend_from_slice(b" (");
                filter(o, &g.filter);
                o.push(b' ');
                match &g.events {
                    None => kw(o, "NONE"),
                    Some(evs) => {
                        o.push(b'(');
                        for (i, e) in evs.iter().enumerate() {
                            if i > 0 {
                                o.push(b' ');
                            }
                            match e {
                                NotifyEvent::MessageNew(atts) => {
                                    kw(o, "MessageNew");
                                    if !atts.is_empty() {
                                        o.push(b' ');
                                        fetch_items_list(o, atts);
                                    }
                                }
                                NotifyEvent::MessageExpunge => kw(o, "MessageExpunge"),
                                NotifyEvent::FlagChange => kw(o, "FlagChange"),
                                NotifyEvent::AnnotationChange => kw(o, "AnnotationChange"),
                                NotifyEvent::MailboxName => kw(o, "MailboxName"),
                                NotifyEvent::SubscriptionChange => kw(o, "SubscriptionChange"),
                                NotifyEvent::MailboxMetadataChange => {
                                    kw(o, "MailboxMetadataChange")
                                }
                                NotifyEvent::ServerMetadataChange => kw(o, "ServerMetadataChange"),
                            }
                        }
                        o.push(b')');
                    }
                }
                o.push(b')');
            }
        }
        C::Compress(m) => {
            kw(o, "COMPRESS ");
            kw(o, m);
        }
    }
}

fn list(o: &mut Vec<u8>, l: &ListCommand) {
    kw(o, "LIST ");
    let mut sel = Vec::new();
    if l.select_subscribed {
        sel.push("SUBSCRIBED".to_string());
    }
    if l.select_special_use {
        sel.push("SPECIAL-USE".to_string());
    }
    if l.remote {
        sel.push("REMOTE".to_string());
    }
    if l.recursive_match {
        sel.push("RECURSIVEMATCH".to_string());
    }
    if l.extended {
        atom_list(o, &sel);
        o.push(b' ');
    }
    astring(o, &l.reference.0);
    o.push(b' ');
    if l.pattern_list {
        o.push(b'(');
        for (i, p) in l.patterns.iter().enumerate() {
            if i > 0 {
                o.push(b' ');
            }
            list_mailbox(o, &p.0);
        }
        o.push(b')');
    } else if let Some(p) = l.patterns.first() {
        list_mailbox(o, &p.0);
    }
    if l.has_return {
        kw(o, " RETURN (");
        let mut first = true;
        let mut sep = |o: &mut Vec<u8>| {
            if !first {
                o.push(b' ');
            }
            first = false;
        };
        if l.return_subscribed {
            sep(o);
            kw(o, "SUBSCRIBED");
        }
        if l.return_children {
            sep(o);
            kw(o, "CHILDREN");
        }
        if l.return_special_use {
            sep(o);
            kw(o, "SPECIAL-USE");
        }
        if let Some(s) = &l.return_status {
            sep(o);
            kw(o, "STATUS ");
            status_items(o, s);
        }
        if let Some(m) = &l.return_metadata {
            sep(o);
            kw(o, "METADATA (");
            for (i, e) in m.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                astring(o, e);
            }
            o.push(b')');
        }
        o.push(b')');
    }
}

fn append_message(o: &mut Vec<u8>, m: &AppendMessage) {
    if !m.flags.is_empty() {
        atom_list(o, &m.flags);
        o.push(b' ');
    }
    if let Some(d) = m.date {
        let mut buf = Vec::new();
        crate::response::date_time(&mut buf, d);
        o.extend_from_slice(&buf);
        o.push(b' ');
    }
    if m.utf8 {
        kw(o, "UTF8 (~{");
        push_u64(o, m.data.len() as u64);
        o.extend_from_slice(b"}\r\n");
        o.extend_from_slice(&m.data);
        o.push(b')');
    } else {
        literal(o, &m.data);
    }
}

fn filter(o: &mut Vec<u8>, f: &MailboxFilter) {
    let names = |o: &mut Vec<u8>, n: &[MailboxName]| {
        o.push(b'(');
        for (i, m) in n.iter().enumerate() {
            if i > 0 {
                o.push(b' ');
            }
            mailbox(o, m);
        }
        o.push(b')');
    };
    match f {
        MailboxFilter::Selected => kw(o, "selected"),
        MailboxFilter::SelectedDelayed => kw(o, "selected-delayed"),
        MailboxFilter::Inboxes => kw(o, "inboxes"),
        MailboxFilter::Personal => kw(o, "personal"),
        MailboxFilter::Subscribed => kw(o, "subscribed"),
        MailboxFilter::Subtree(n) => {
            kw(o, "subtree ");
            names(o, n);
        }
        MailboxFilter::SubtreeOne(n) => {
            kw(o, "subtree-one ");
            names(o, n);
        }
        MailboxFilter::Mailboxes(n) => {
            kw(o, "mailboxes ");
            names(o, n);
        }
    }
}

fn returns(o: &mut Vec<u8>, r: &[SearchReturn]) {
    kw(o, "RETURN (");
    for (i, x) in r.iter().enumerate() {
        if i > 0 {
            o.push(b' ');
        }
        match x {
            SearchReturn::Min => kw(o, "MIN"),
            SearchReturn::Max => kw(o, "MAX"),
            SearchReturn::All => kw(o, "ALL"),
            SearchReturn::Count => kw(o, "COUNT"),
            SearchReturn::Save => kw(o, "SAVE"),
            SearchReturn::Context => kw(o, "CONTEXT"),
            SearchReturn::Update => kw(o, "UPDATE"),
            SearchReturn::Partial(a, b) => kw(o, &format!("PARTIAL {a}:{b}")),
        }
    }
    o.push(b')');
}

fn search(o: &mut Vec<u8>, s: &SearchCommand, with_returns: bool) {
    if with_returns && let Some(r) = &s.returns {
        o.push(b' ');
        returns(o, r);
    }
    if let Some(c) = &s.charset {
        kw(o, " CHARSET ");
        astring(o, c);
    }
    o.push(b' ');
    search_key_top(o, &s.key);
}

/// The top-level key list is written without parentheses (it parses as an AND of them).
fn search_key_top(o: &mut Vec<u8>, k: &SearchKey) {
    match k {
        SearchKey::And(ks) if ks.len() >= 2 => {
            for (i, k) in ks.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                search_key(o, k);
            }
        }
        k => search_key(o, k),
    }
}

fn search_key(o: &mut Vec<u8>, k: &SearchKey) {
    use SearchKey as K;
    let s = |o: &mut Vec<u8>, name: &str, v: &str| {
        kw(o, name);
        o.push(b' ');
        astring(o, v);
    };
    let d = |o: &mut Vec<u8>, name: &str, v: &Date| {
        kw(o, name);
        o.push(b' ');
        date(o, v);
    };
    match k {
        K::All => kw(o, "ALL"),
        K::Answered => kw(o, "ANSWERED"),
        K::Deleted => kw(o, "DELETED"),
        K::Draft => kw(o, "DRAFT"),
        K::Flagged => kw(o, "FLAGGED"),
        K::New => kw(o, "NEW"),
        K::Old => kw(o, "OLD"),
        K::Recent => kw(o, "RECENT"),
        K::Seen => kw(o, "SEEN"),
        K::Unanswered => kw(o, "UNANSWERED"),
        K::Undeleted => kw(o, "UNDELETED"),
        K::Undraft => kw(o, "UNDRAFT"),
        K::Unflagged => kw(o, "UNFLAGGED"),
        K::Unseen => kw(o, "UNSEEN"),
        K::SaveDateSupported => kw(o, "SAVEDATESUPPORTED"),
        K::Bcc(v) => s(o, "BCC", v),
        K::Body(v) => s(o, "BODY", v),
        K::Cc(v) => s(o, "CC", v),
        K::From(v) => s(o, "FROM", v),
        K::Subject(v) => s(o, "SUBJECT", v),
        K::Text(v) => s(o, "TEXT", v),
        K::To(v) => s(o, "TO", v),
        K::Keyword(v) => {
            kw(o, "KEYWORD ");
            kw(o, v);
        }
        K::Unkeyword(v) => {
            kw(o, "UNKEYWORD ");
            kw(o, v);
        }
        K::Header(n, v) => {
            kw(o, "HEADER ");
            astring(o, n);
            o.push(b' ');
            astring(o, v);
        }
        K::Before(v) => d(o, "BEFORE", v),
        K::On(v) => d(o, "ON", v),
        K::Since(v) => d(o, "SINCE", v),
        K::SentBefore(v) => d(o, "SENTBEFORE", v),
        K::SentOn(v) => d(o, "SENTON", v),
        K::SentSince(v) => d(o, "SENTSINCE", v),
        K::SavedBefore(v) => d(o, "SAVEDBEFORE", v),
        K::SavedOn(v) => d(o, "SAVEDON", v),
        K::SavedSince(v) => d(o, "SAVEDSINCE", v),
        K::Larger(n) => {
            kw(o, "LARGER ");
            push_u64(o, *n);
        }
        K::Smaller(n) => {
            kw(o, "SMALLER ");
            push_u64(o, *n);
        }
        K::Older(n) => {
            kw(o, "OLDER ");
            push_u32(o, *n);
        }
        K::Younger(n) => {
            kw(o, "YOUNGER ");
            push_u32(o, *n);
        }
        K::Not(k) => {
            kw(o, "NOT ");
            search_key(o, k);
        }
        K::Or(a, b) => {
            kw(o, "OR ");
            search_key(o, a);
            o.push(b' ');
            search_key(o, b);
        }
        K::Uid(set) => {
            kw(o, "UID ");
            seq(o, set);
        }
        K::SeqSet(set) => seq(o, set),
        K::And(ks) => {
            o.push(b'(');
            for (i, k) in ks.iter().enumerate() {
                if i > 0 {
                    o.push(b' ');
                }
                search_key(o, k);
            }
            o.push(b')');
        }
        K::ModSeq { entry, modseq } => {
            kw(o, "MODSEQ ");
            if let Some((n, t)) = entry {
                let mut q = Vec::new();
                for &c in n.as_bytes() {
                    if c == b'"' || c == b'\\' {
                        q.push(b'\\');
                    }
                    q.push(c);
                }
                o.push(b'"');
                o.extend_from_slice(&q);
                o.extend_from_slice(b"\" ");
                kw(o, t);
                o.push(b' ');
            }
            push_u64(o, *modseq);
        }
    }
}

fn fetch_items(o: &mut Vec<u8>, items: &[FetchAttr]) {
    if items.len() == 1 && !matches!(items[0], FetchAttr::Preview { lazy: true }) {
        fetch_attr(o, &items[0]);
    } else {
        fetch_items_list(o, items);
    }
}

fn fetch_items_list(o: &mut Vec<u8>, items: &[FetchAttr]) {
    o.push(b'(');
    for (i, a) in items.iter().enumerate() {
        if i > 0 {
            o.push(b' ');
        }
        fetch_attr(o, a);
    }
    o.push(b')');
}

fn fetch_attr(o: &mut Vec<u8>, a: &FetchAttr) {
    let part = |o: &mut Vec<u8>, p: &[u32]| {
        for (i, n) in p.iter().enumerate() {
            if i > 0 {
                o.push(b'.');
            }
            push_u32(o, *n);
        }
    };
    let partial = |o: &mut Vec<u8>, p: &Option<(u64, u64)>| {
        if let Some((a, b)) = p {
            o.push(b'<');
            push_u64(o, *a);
            o.push(b'.');
            push_u64(o, *b);
            o.push(b'>');
        }
    };
    match a {
        FetchAttr::Envelope => kw(o, "ENVELOPE"),
        FetchAttr::Flags => kw(o, "FLAGS"),
        FetchAttr::InternalDate => kw(o, "INTERNALDATE"),
        FetchAttr::Rfc822Size => kw(o, "RFC822.SIZE"),
        FetchAttr::BodyStructure => kw(o, "BODYSTRUCTURE"),
        FetchAttr::Body => kw(o, "BODY"),
        FetchAttr::Uid => kw(o, "UID"),
        FetchAttr::ModSeq => kw(o, "MODSEQ"),
        FetchAttr::SaveDate => kw(o, "SAVEDATE"),
        FetchAttr::Preview { lazy } => kw(o, if *lazy { "PREVIEW (LAZY)" } else { "PREVIEW" }),
        FetchAttr::Rfc822 => kw(o, "RFC822"),
        FetchAttr::Rfc822Header => kw(o, "RFC822.HEADER"),
        FetchAttr::Rfc822Text => kw(o, "RFC822.TEXT"),
        FetchAttr::BodySection { peek, section, partial: p } => {
            kw(o, if *peek { "BODY.PEEK[" } else { "BODY[" });
            part(o, &section.part);
            if let Some(t) = &section.text {
                if !section.part.is_empty() {
                    o.push(b'.');
                }
                match t {
                    SectionText::Header => kw(o, "HEADER"),
                    SectionText::Text => kw(o, "TEXT"),
                    SectionText::Mime => kw(o, "MIME"),
                    SectionText::HeaderFields { not, fields } => {
                        kw(o, if *not { "HEADER.FIELDS.NOT (" } else { "HEADER.FIELDS (" });
                        for (i, f) in fields.iter().enumerate() {
                            if i > 0 {
                                o.push(b' ');
                            }
                            astring(o, f);
                        }
                        o.push(b')');
                    }
                }
            }
            o.push(b']');
            partial(o, p);
        }
        FetchAttr::Binary { peek, part: p, partial: pa } => {
            kw(o, if *peek { "BINARY.PEEK[" } else { "BINARY[" });
            part(o, p);
            o.push(b']');
            partial(o, pa);
        }
        FetchAttr::BinarySize { part: p } => {
            kw(o, "BINARY.SIZE[");
            part(o, p);
            o.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::parse_command;

    /// Commands from the RFCs' examples survive parse → encode → parse.
    #[test]
    fn round_trips() {
        let cmds: &[&[u8]] = &[
            b"a LOGIN {3}\r\nmjl \"p a\\\"ss\"\r\n",
            b"a AUTHENTICATE PLAIN =\r\n",
            b"a AUTHENTICATE SCRAM-SHA-256 biwsbj11c2VyLHI9cm9zZQ==\r\n",
            b"a SELECT INBOX (CONDSTORE QRESYNC (67890007 20050715194045000 41,43:211 (1:5 3:7)))\r\n",
            b"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"a b\") RETURN (CHILDREN STATUS (MESSAGES SIZE) METADATA (/private/comment))\r\n",
            b"a APPEND Drafts (\\Draft $x) \" 1-Feb-2024 10:00:00 -0130\" {5+}\r\nhello UTF8 (~{2}\r\n\0x)\r\n",
            b"a UID SEARCH RETURN (MIN PARTIAL -1:-5) CHARSET UTF-8 OR (FROM x SINCE 1-Feb-1994) NOT (1:5 $) MODSEQ \"/flags/\\\\draft\" all 5\r\n",
            b"a UID FETCH 1:* (FLAGS BODY.PEEK[1.HEADER.FIELDS.NOT (\"a b\" X)]<0.100> BINARY.SIZE[2] PREVIEW (LAZY)) (CHANGEDSINCE 5 VANISHED)\r\n",
            b"a STORE 1,3:* (UNCHANGEDSINCE 7) -FLAGS.SILENT (\\Seen $Junk)\r\n",
            b"a UID SORT RETURN (ALL) (REVERSE DATE SUBJECT) UTF-8 SUBJECT \"a\" ALL\r\n",
            b"a THREAD REFERENCES US-ASCII (KEYWORD $x)\r\n",
            b"a NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (subtree (INBOX \"a b\") NONE)\r\n",
            b"a GETMETADATA (MAXSIZE 5 DEPTH infinity) \"\" (/shared/x)\r\n",
            b"a SETMETADATA INBOX (/private/x ~{2}\r\n\0\x01 /shared/y NIL)\r\n",
            b"a ESEARCH IN (subtree-one (Archive) inboxes) RETURN (COUNT) UNSEEN\r\n",
            b"a ESEARCH IN (selected mailboxes x) RETURN (SAVE CONTEXT) ALL\r\n",
            b"a ID (\"name\" \"x\" \"v\" NIL)\r\n",
            b"a UID REPLACE 5 Drafts {1+}\r\nx\r\n",
            b"a CREATE x/ (USE (\\Sent))\r\n",
            b"a SEARCH (ALL)\r\n",
        ];
        for c in cmds {
            let parsed = parse_command(c)
                .unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(c)));
            let enc = super::encode_command(&parsed);
            let again = parse_command(&enc)
                .unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(&enc)));
            assert_eq!(parsed, again, "{}", String::from_utf8_lossy(&enc));
        }
    }
}
