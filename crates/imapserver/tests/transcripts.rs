//! Replays `C:`/`S:` transcripts from `testdata/imap/` against a session: the examples of RFC
//! 9051, RFC 3501 and the extensions' RFCs, made concrete with the data each transcript
//! creates (named by RFC and section). A first line `# mode: plain` runs the session as on a
//! connection without TLS; `# quota: n` gives the account a quota of n bytes; `# lockout-after: n`
//! refuses logins after n failures; `# watch-limit: n` lets only n change notifications wait for
//! the first connection; `C2:`/`S2:` lines are a second connection of the account.
//!
//! [`coverage`] makes "every command and response code" checkable: it lists every command the
//! parser accepts and every response code the server sends, and fails when one of them is in
//! no transcript (a command: with a tagged OK; a code: in a status response of an `S:` line).

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Harness, replay};
use imapserver::session::SimpleLoginLimiter;

fn run(name: &str) {
    let text = read_transcript(name);
    let mut h = Harness::new();
    for l in text.lines() {
        if let Some(n) = l.strip_prefix("# lockout-after: ") {
            let n: u32 = n.trim().parse().unwrap();
            h = h.with_config(|c| {
                c.login_limiter = std::sync::Arc::new(SimpleLoginLimiter::new(
                    Duration::ZERO,
                    Duration::ZERO,
                    n,
                    Duration::from_secs(60),
                ))
            });
        }
    }
    for l in text.lines() {
        if let Some(q) = l.strip_prefix("# quota: ") {
            h.account().set_quota(Some(q.trim().parse().unwrap()));
        }
    }
    let plain = text.lines().next().is_some_and(|l| l.trim() == "# mode: plain");
    let mut clients = vec![h.session_with(!plain)];
    for l in text.lines() {
        if let Some(n) = l.strip_prefix("# watch-limit: ") {
            clients[0].watch_limit = Some(n.trim().parse().unwrap());
        }
    }
    if text.lines().any(|l| l.starts_with("C2:")) {
        clients.push(h.session_with(!plain));
    }
    replay(&mut clients, &text);
}

fn transcript_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/imap")
}

fn read_transcript(name: &str) -> String {
    let path = transcript_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

macro_rules! transcripts {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run($file);
            }
        )*

        /// Every transcript file has a test.
        #[test]
        fn all_files_have_tests() {
            let mut files: Vec<String> = std::fs::read_dir(transcript_dir())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".txt"))
                .collect();
            files.sort();
            let mut listed = vec![$($file.to_string()),*];
            listed.sort();
            assert_eq!(files, listed);
            println!("{} transcripts", listed.len());
        }
    };
}

transcripts! {
    smoke => "smoke.txt",
    any_state => "rfc9051-6.1-any-state.txt",
    not_authenticated => "rfc9051-6.2-not-authenticated.txt",
    authenticate => "rfc9051-6.2-authenticate.txt",
    login => "rfc9051-6.2.3-login.txt",
    mailboxes => "rfc9051-6.3-mailboxes.txt",
    list => "rfc9051-6.3.9-list.txt",
    select_status_append => "rfc9051-6.3-select-status-append.txt",
    selected => "rfc9051-6.4-selected.txt",
    condstore_qresync => "rfc7162-condstore-qresync.txt",
    qresync_select => "rfc7162-qresync-select.txt",
    esearch_searchres => "rfc4731-rfc5182-esearch-searchres.txt",
    sort_thread_context => "rfc5256-rfc5267-sort-thread-context.txt",
    metadata => "rfc5464-9590-metadata.txt",
    quota => "rfc9208-quota.txt",
    replace_preview_savedate_within => "rfc8508-rfc8970-rfc8514-rfc5032-replace-preview-savedate-within.txt",
    uidonly => "rfc9586-uidonly.txt",
    mailbox_names => "rfc6855-rfc3501-mailbox-names.txt",
    misc => "rfc4978-rfc3501-misc.txt",
    response_codes => "rfc9051-7.1-response-codes.txt",
    unavailable => "rfc9051-7.1-unavailable.txt",
    notify => "rfc5465-notify.txt",
    multisearch => "rfc7377-multisearch.txt",
    rev1 => "rfc3501-6-rev1.txt",
    notification_overflow => "rfc5465-5.8-notificationoverflow.txt",
    idle => "rfc9051-6.3.13-idle.txt",
}

/// Every command the parser accepts, as `CommandBody::name` spells it (checked against
/// command.rs): each must get a tagged OK in some transcript.
const COMMANDS: &[&str] = &[
    // RFC 9051 §6.1-§6.4 (with RFC 3501's LSUB and CHECK).
    "CAPABILITY",
    "NOOP",
    "LOGOUT",
    "STARTTLS",
    "AUTHENTICATE",
    "LOGIN",
    "ENABLE",
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "NAMESPACE",
    "STATUS",
    "APPEND",
    "IDLE",
    "CHECK",
    "CLOSE",
    "UNSELECT",
    "EXPUNGE",
    "SEARCH",
    "FETCH",
    "STORE",
    "COPY",
    "MOVE",
    "UID FETCH",
    "UID STORE",
    "UID COPY",
    "UID MOVE",
    "UID SEARCH",
    "UID EXPUNGE",
    // Extensions.
    "ID",
    "ESEARCH",
    "REPLACE",
    "UID REPLACE",
    "SORT",
    "UID SORT",
    "THREAD",
    "UID THREAD",
    "CANCELUPDATE",
    "GETMETADATA",
    "SETMETADATA",
    "GETQUOTA",
    "GETQUOTAROOT",
    "SETQUOTA",
    "NOTIFY",
    "COMPRESS",
];

/// Commands that never succeed, with why; each must get a tagged NO in some transcript.
const COMMANDS_REFUSED: &[(&str, &str)] =
    &[("SETQUOTA", "quota limits are set by the administrator: NO [NOPERM]")];

/// Response codes the server sends (RFC 9051 §7.1, RFC 3501's UNSEEN, and the extensions'):
/// each must be in a status response in some transcript. Codes with sub-codes are listed with
/// them (`METADATA LONGENTRIES`).
const CODES: &[&str] = &[
    "ALREADYEXISTS",
    "APPENDUID",
    "AUTHENTICATIONFAILED",
    "AUTHORIZATIONFAILED",
    "BADCHARSET",
    "BADEVENT",
    "CANNOT",
    "CAPABILITY",
    "CLOSED",
    "COMPRESSIONACTIVE",
    "COPYUID",
    "EXPUNGEISSUED",
    "HASCHILDREN",
    "HIGHESTMODSEQ",
    "METADATA LONGENTRIES",
    "METADATA MAXSIZE",
    "MODIFIED",
    "NONEXISTENT",
    "NOPERM",
    "NOTIFICATIONOVERFLOW",
    "OVERQUOTA",
    "PERMANENTFLAGS",
    "PRIVACYREQUIRED",
    "READ-ONLY",
    "READ-WRITE",
    "TOOBIG",
    "TRYCREATE",
    "UIDNEXT",
    "UIDREQUIRED",
    "UIDVALIDITY",
    "UNAVAILABLE",
    "UNKNOWN-CTE",
    "UNSEEN",
    "USEATTR",
];

/// Codes the server sends in situations a transcript cannot create, with why.
const CODES_NOT_REPLAYABLE: &[(&str, &str)] = &[
    ("LIMIT", "only when a mailbox has used all 2^32-1 UIDs"),
    ("SERVERBUG", "only on internal errors (store I/O failures), which are logged"),
    ("METADATA TOOMANY", "needs more than 1000 annotations in one account"),
];

/// Codes of RFC 9051 §7.1 and of the implemented extensions that the server never sends,
/// with why. The source must not contain them as response codes.
const CODES_NOT_EMITTED: &[(&str, &str)] = &[
    ("ALERT", "nothing to alert users about: refusals carry specific codes (TOOBIG, OVERQUOTA)"),
    ("CLIENTBUG", "protocol errors get BAD with the parser's message"),
    ("CONTACTADMIN", "no per-user administrative refusals (mox has none either)"),
    ("CORRUPTION", "a damaged message or database is an internal error: SERVERBUG"),
    ("EXPIRED", "no password or account expiry in mox"),
    ("INUSE", "no exclusive locks: any number of sessions may use a mailbox"),
    ("PARSE", "messages are stored as received; unparsable headers give empty ENVELOPE fields"),
    ("UIDNOTSTICKY", "UIDs are always persistent"),
    ("NOMODSEQ", "every mailbox has modification sequences (RFC 7162 §3.1.2.2)"),
    ("NOTSAVED", "SEARCH RETURN (SAVE) is never refused (one saved result per session)"),
    ("NOUPDATE", "SEARCH/SORT RETURN (UPDATE) is never refused (RFC 5267 §4.3.2)"),
    ("METADATA NOPRIVATE", "private annotations are supported"),
    (
        "INPROGRESS",
        "advertised (RFC 9585 makes progress optional); searches send no progress yet, mox \
         does during slow searches",
    ),
];

/// The status-response codes in the `S:` lines of a transcript (`* OK [CODE ...`, `a NO
/// [CODE ...`), with the sub-code for METADATA.
fn transcript_codes(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for l in text.lines() {
        let Some((kind, _, rest)) = common::split_prefix(l) else { continue };
        if kind != 'S' {
            continue;
        }
        let mut words = rest.splitn(3, ' ');
        let (_tag, status, after) = match (words.next(), words.next(), words.next()) {
            (Some(t), Some(s), Some(a)) => (t, s, a),
            _ => continue,
        };
        if !["OK", "NO", "BAD", "BYE", "PREAUTH"].contains(&status) {
            continue;
        }
        if let Some(c) = after.strip_prefix('[') {
            codes.push(code_at(c));
        }
    }
    codes
}

/// The response code at the start of `s`: an atom, with the sub-code for METADATA.
fn code_at(s: &str) -> String {
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-')
            .collect()
    };
    let code = word(s);
    if code == "METADATA" {
        let sub = word(s[code.len()..].trim_start());
        if !sub.is_empty() {
            return format!("{code} {sub}");
        }
    }
    code
}

/// The response codes the server's source sends: `[CODE` after a status in a string
/// (`b"* OK [CLOSED] ..."`), and the first string argument of `no_code`, `bad_code` and
/// `ok_code` (also through `format!`).
fn source_codes() -> std::collections::BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut codes = std::collections::BTreeSet::new();
    let mut files = vec![src.clone(), src.join("session")];
    while let Some(dir) = files.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // Unit tests quote codes too; they are not what the server sends.
            let text = text.split("#[cfg(test)]").next().unwrap_or("");
            for status in ["OK [", "NO [", "BAD [", "BYE [", "PREAUTH ["] {
                for (i, _) in text.match_indices(status) {
                    let c = code_at(&text[i + status.len()..]);
                    if !c.is_empty() {
                        codes.insert(c);
                    }
                }
            }
            for f in ["no_code(", "bad_code(", "ok_code("] {
                for (i, _) in text.match_indices(f) {
                    let rest = text[i + f.len()..].trim_start();
                    let rest = rest.strip_prefix('&').unwrap_or(rest);
                    let rest = rest.strip_prefix("format!(").unwrap_or(rest);
                    if let Some(s) = rest.strip_prefix('"') {
                        let c = code_at(s);
                        if !c.is_empty() {
                            codes.insert(c);
                        }
                    }
                }
            }
        }
    }
    codes
}

/// Every command and every response code the server implements appears in a transcript; the
/// lists above are the server's real ones.
#[test]
fn coverage() {
    // The command list is the parser's: the names `CommandBody::name` returns.
    let command_rs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/command.rs"))
            .unwrap();
    let name_fn = command_rs.split("pub fn name(&self)").nth(1).unwrap();
    let mut parsed: Vec<&str> = name_fn
        .match_indices("=> \"")
        .map(|(i, _)| {
            let s = &name_fn[i + 4..];
            &s[..s.find('"').unwrap()]
        })
        .collect();
    parsed.sort();
    parsed.dedup();
    let mut listed: Vec<&str> = COMMANDS.to_vec();
    listed.sort();
    assert_eq!(listed, parsed, "COMMANDS differs from CommandBody::name in command.rs");

    // What the transcripts show: commands with their tagged result, and codes.
    let mut ok_commands = std::collections::BTreeSet::new();
    let mut no_commands = std::collections::BTreeSet::new();
    let mut codes = std::collections::BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(transcript_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut total_lines = 0;
    for p in &files {
        let text = std::fs::read_to_string(p).unwrap();
        total_lines += text.lines().count();
        codes.extend(transcript_codes(&text));
        // Commands in progress per session and tag.
        let mut pending: std::collections::HashMap<(usize, String), &str> = Default::default();
        for l in text.lines() {
            let Some((kind, session, rest)) = common::split_prefix(l) else { continue };
            let Some((tag, after)) = rest.split_once(' ') else { continue };
            match kind {
                'C' => {
                    let upper = after.to_ascii_uppercase();
                    if let Some(c) = COMMANDS.iter().find(|c| {
                        upper.strip_prefix(**c).is_some_and(|r| r.is_empty() || r.starts_with(' '))
                    }) {
                        pending.insert((session, tag.to_string()), c);
                    }
                }
                'S' => {
                    if let Some(c) = pending.remove(&(session, tag.to_string())) {
                        if after.starts_with("OK") {
                            ok_commands.insert(c);
                        } else if after.starts_with("NO") {
                            no_commands.insert(c);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    let refused: Vec<&str> = COMMANDS_REFUSED.iter().map(|(c, _)| *c).collect();
    let missing_commands: Vec<&str> = COMMANDS
        .iter()
        .copied()
        .filter(|c| {
            if refused.contains(c) { !no_commands.contains(c) } else { !ok_commands.contains(c) }
        })
        .collect();
    let missing_codes: Vec<&str> = CODES.iter().copied().filter(|c| !codes.contains(*c)).collect();
    println!(
        "{} transcripts, {total_lines} lines: {} of {} commands, {} of {} codes",
        files.len(),
        COMMANDS.len() - missing_commands.len(),
        COMMANDS.len(),
        CODES.len() - missing_codes.len(),
        CODES.len()
    );
    for (c, why) in CODES_NOT_REPLAYABLE {
        println!("not replayable: {c}: {why}");
    }
    for (c, why) in CODES_NOT_EMITTED {
        println!("not emitted: {c}: {why}");
    }

    // The code lists are honest: what the source sends is listed, what is listed as sent is
    // in the source, and what is listed as never sent is not.
    let sent = source_codes();
    let not_replayable: Vec<&str> = CODES_NOT_REPLAYABLE.iter().map(|(c, _)| *c).collect();
    let unlisted: Vec<&String> = sent
        .iter()
        .filter(|c| !CODES.contains(&c.as_str()) && !not_replayable.contains(&c.as_str()))
        .collect();
    let source = |c: &str| {
        // Codes built up front (`"READ-WRITE"`, `b"COPYUID "`) are found as strings.
        sent.contains(c) || {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/session");
            std::fs::read_dir(dir).unwrap().any(|e| {
                let t = std::fs::read_to_string(e.unwrap().path()).unwrap();
                t.contains(&format!("\"{c}\"")) || t.contains(&format!("\"{c} "))
            })
        }
    };
    let phantom: Vec<&str> =
        CODES.iter().chain(&not_replayable).copied().filter(|c| !source(c)).collect();
    let emitted_after_all: Vec<&str> =
        CODES_NOT_EMITTED.iter().map(|(c, _)| *c).filter(|c| sent.contains(*c)).collect();
    assert!(
        missing_commands.is_empty()
            && missing_codes.is_empty()
            && unlisted.is_empty()
            && phantom.is_empty()
            && emitted_after_all.is_empty(),
        "commands in no transcript (with a tagged OK, or NO for {refused:?}): \
         {missing_commands:?}\ncodes in no transcript: {missing_codes:?}\ncodes the source \
         sends but CODES does not list: {unlisted:?}\ncodes listed but not in the source: \
         {phantom:?}\ncodes listed as never sent but in the source: {emitted_after_all:?}"
    );
}
