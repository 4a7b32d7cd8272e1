//! Entry points for the fuzz targets in `fuzz/` (one line each there).

use std::sync::{Arc, OnceLock};

use crate::command::CommandBody;
use crate::framing::{Frame, Framer, Limits};
use crate::parse::{parse_append_continuation, parse_append_prefix, parse_command};
use crate::session::{Config, ConnectionInfo, MemoryAuthenticator, Session, SimpleLoginLimiter};

/// The parser and framer on arbitrary input: never a panic.
pub fn command(data: &[u8]) {
    let _ = parse_command(data);
    let _ = parse_append_prefix(data);
    let _ = parse_append_continuation(data, data.first() == Some(&b')'));
    let limits = Limits { max_line: 256, max_literal: 1024, max_command: 4096 };
    let mut f = Framer::new();
    let mut n = 0;
    while n < 64 {
        n += 1;
        match f.next(data, &limits) {
            Frame::Literal(a) => {
                if !f.accept_literal(a.size, &limits) {
                    break;
                }
            }
            Frame::Complete(len) => {
                assert!(len <= data.len());
                break;
            }
            Frame::Incomplete | Frame::LineTooLong => break,
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::utf7::decode(s);
        let _ = crate::seqset::SequenceSet::parse(s);
    }
}

/// Every command that parses encodes to bytes that parse to the same command; modified UTF-7
/// and sequence sets round-trip too.
pub fn roundtrip(data: &[u8]) {
    if let Ok(c) = parse_command(data) {
        // Strings of other charsets are decoded to Unicode when parsed; encoding writes UTF-8.
        let charset_free = match &c.body {
            CommandBody::Search(s)
            | CommandBody::Esearch { search: s, .. }
            | CommandBody::Sort { search: s, .. } => s.charset.as_deref().is_none_or(|c| {
                c.eq_ignore_ascii_case("UTF-8") || c.eq_ignore_ascii_case("US-ASCII")
            }),
            CommandBody::Thread { charset, .. } => {
                charset.eq_ignore_ascii_case("UTF-8") || charset.eq_ignore_ascii_case("US-ASCII")
            }
            _ => true,
        };
        if charset_free {
            let enc = crate::encode::encode_command(&c);
            match parse_command(&enc) {
                Ok(again) => assert_eq!(c, again, "{:?}", String::from_utf8_lossy(&enc)),
                Err(e) => panic!(
                    "encoded command does not parse: {e:?}: {:?}",
                    String::from_utf8_lossy(&enc)
                ),
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        assert_eq!(crate::utf7::decode(&crate::utf7::encode(s)).as_deref(), Ok(s));
        if let Ok(d) = crate::utf7::decode(s) {
            assert_eq!(crate::utf7::encode(&d), s, "decoding accepts only the canonical form");
        }
        if let Some(set) = crate::seqset::SequenceSet::parse(s) {
            assert_eq!(crate::seqset::SequenceSet::parse(&set.to_string()), Some(set));
        }
    }
}

struct Fixture {
    _dir: tempfile_dir::Dir,
    config: Arc<Config>,
}

mod tempfile_dir {
    /// A directory removed at exit is not needed: the fuzzer's process owns it.
    pub(super) struct Dir(#[allow(dead_code)] pub std::path::PathBuf);
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("imap-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let auth = MemoryAuthenticator::new(dir.join("accounts"));
        let params = sasl::DeriveParams {
            scram_iterations: std::num::NonZeroU32::MIN,
            argon2_memory_kib: 8,
            argon2_passes: 1,
        };
        let _ = auth.add_user("u", "u", "p", &params);
        let config = Arc::new(Config {
            hostname: "fuzz".into(),
            authenticator: Arc::new(auth),
            login_limiter: Arc::new(SimpleLoginLimiter::new(
                std::time::Duration::ZERO,
                std::time::Duration::ZERO,
                u32::MAX,
                std::time::Duration::from_secs(1),
            )),
            limits: Limits { max_line: 4096, max_literal: 64 * 1024, max_command: 128 * 1024 },
            append_limit: Some(1 << 20),
            allow_plaintext_auth: true,
        });
        Fixture { _dir: tempfile_dir::Dir(dir), config }
    })
}

/// A logged-in session (with a mailbox selected) fed arbitrary input: never a panic, and
/// always an answer or a wait for more input.
pub fn session(data: &[u8]) {
    let f = fixture();
    let conn = ConnectionInfo {
        remote_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        tls: true,
        starttls_available: false,
        channel_bindings: vec![],
    };
    let mut s = Session::new(f.config.clone(), conn);
    s.greeting();
    drive(&mut s, b"l LOGIN u p\r\ns SELECT INBOX\r\n");
    drive(&mut s, data);
    drive(&mut s, b"\r\nz LOGOUT\r\n");
}

fn drive(s: &mut Session, data: &[u8]) {
    let mut a = s.input(data);
    let mut n = 0;
    while a == crate::Action::Continue && n < 10_000 {
        let _ = s.take_output();
        a = s.resume();
        n += 1;
    }
    let _ = s.take_output();
}
