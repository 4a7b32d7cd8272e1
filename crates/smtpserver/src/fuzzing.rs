//! Entry points for the fuzz targets (`fuzz/fuzz_targets/smtp_server_*.rs`).

use std::sync::{Arc, OnceLock};

use crate::backend::Target;
use crate::directory::{Destination, LocalRecipient};
use crate::reply::{Ecode, Reply, check_replies};
use crate::session::{Action, Request, Response, Service, Session, SessionConfig, TlsInfo};

/// Parses a command line: never panics, and an error is a well-formed reply.
pub fn command(data: &[u8]) {
    for smtputf8 in [false, true] {
        match crate::command::parse_command(data, smtputf8) {
            Ok(cmd) => {
                let _ = cmd.verb();
            }
            Err(reply) => {
                let bytes = reply.to_bytes();
                assert_eq!(check_replies(&bytes), Ok(1), "{reply:?}");
            }
        }
    }
}

/// Runs a whole session on `data` (the first byte picks the service, TLS and the chunk size),
/// answering requests with a scripted backend: never panics, every output is well-formed
/// replies, and the session consumes what it is given.
pub fn session(data: &[u8]) {
    let Some((&first, input)) = data.split_first() else { return };
    let service = match first % 3 {
        0 => Service::Smtp,
        1 => Service::Submission,
        _ => Service::Submissions,
    };
    let mut config = SessionConfig::new(
        service,
        dns::Domain::parse("mox.example").unwrap_or_else(|_| unreachable()),
        true,
    );
    config.max_message_size = 2000;
    config.max_line_length = 300;
    config.max_recipients = 5;
    config.spill_threshold = 500;
    let tls = (first & 8 != 0).then(tls_info);
    let mut s = Session::new(
        Arc::new(config),
        1,
        "id".into(),
        [192, 0, 2, 1].into(),
        [192, 0, 2, 2].into(),
        tls,
    );
    s.greet();
    let mut out = s.take_output();
    let chunk = usize::from(first >> 4) * 7 + 1;
    let mut pending: Vec<u8> = Vec::new();
    'outer: for piece in input.chunks(chunk) {
        pending.extend_from_slice(piece);
        let mut pos = 0;
        let mut next: Option<Action> = None;
        loop {
            let action = match next.take() {
                Some(a) => a,
                None => {
                    let (n, a) = s.handle_input(&pending[pos..]);
                    assert!(n <= pending.len() - pos);
                    pos += n;
                    a
                }
            };
            out.extend(s.take_output());
            match action {
                Action::NeedInput => break,
                Action::Flush => {}
                Action::Request(r) => next = s.resolve(respond(r)),
                Action::StartTls => {
                    s.tls_started(tls_info());
                    pos = pending.len();
                }
                Action::Close => break 'outer,
            }
        }
        pending.drain(..pos);
    }
    out.extend(s.take_output());
    if let Err(e) = check_replies(&out) {
        panic!("malformed replies: {e}: {:?}", String::from_utf8_lossy(&out));
    }
}

fn unreachable() -> dns::Domain {
    unreachable!("valid domain")
}

fn tls_info() -> TlsInfo {
    TlsInfo {
        version: "TLS1.3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
        server_name: None,
        channel_bindings: vec![sasl::ChannelBinding::tls_exporter(vec![1; 32])],
    }
}

fn credentials() -> &'static sasl::StoredCredentials {
    static C: OnceLock<sasl::StoredCredentials> = OnceLock::new();
    C.get_or_init(|| {
        let params = sasl::DeriveParams {
            scram_iterations: std::num::NonZeroU32::MIN,
            argon2_memory_kib: 8,
            argon2_passes: 1,
        };
        sasl::StoredCredentials::derive_with("password", &params).unwrap_or_default()
    })
}

fn respond(r: Request) -> Response {
    match r {
        Request::Helo(_) => Response::Helo(Ok(())),
        Request::Credentials { mut server, username } => {
            let known = username.starts_with('m');
            let step = server.credentials(known.then(credentials));
            Response::Credentials {
                server,
                step,
                account: known.then(|| "mjl".into()),
                refuse: None,
            }
        }
        Request::AuthFinished { .. } => Response::AuthRecorded,
        Request::MailFrom { from, .. } => {
            if from.ascii().len() % 5 == 1 {
                Response::MailFrom(Err(Reply::new(550, Ecode::POL_OTHER, "no")))
            } else {
                Response::MailFrom(Ok(()))
            }
        }
        Request::Rcpt { .. } => Response::Rcpt(
            Ok(Target::Local(LocalRecipient {
                account: "mjl".into(),
                canonical: "mjl@mox.example".into(),
                destination: Arc::new(Destination::default()),
            })),
            None,
        ),
        Request::Deliver(d) => {
            let data = d.data.into_bytes().unwrap_or_default();
            assert_eq!(data.len() as u64, d.summary.size);
            Response::Delivered(Reply::new(250, Ecode::MAILBOX_OTHER, "it is done"))
        }
    }
}
