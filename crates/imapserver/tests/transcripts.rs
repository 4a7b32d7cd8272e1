//! Replays `C:`/`S:` transcripts from `testdata/imap/` against a session: the examples of RFC
//! 9051, RFC 3501 and the extensions' RFCs, made concrete with the data each transcript
//! creates (named by RFC and section). A first line `# mode: plain` runs the session as on a
//! connection without TLS; `# quota: n` gives the account a quota of n bytes; `# lockout-after: n`
//! refuses logins after n failures; `C2:`/`S2:` lines are a second connection of the account.

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
}
