//! Replays `C:`/`S:` transcripts against a [`Session`] with a scripted backend.
//!
//! Consecutive `C:` lines are sent as one chunk (pipelined), each followed by CRLF; escapes
//! `\r`, `\n`, `\0`, `\\` are interpreted, and a line ending in `\c` gets no CRLF. Then the
//! session runs until it needs input (requests are answered by the backend), and its output
//! must equal the `S:` lines that follow. `S: *` matches any one line. `# comments` and empty
//! lines are skipped. At the end the session must be closed if the last `S:` group was
//! followed by `CLOSED`.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use smtpserver::directory::{Destination, LocalRecipient};
use smtpserver::{
    Action, Backend, Context, Delivery, ForwardPath, Reply, Request, Response, ReversePath,
    Service, Session, SessionConfig, Target, TlsInfo, Transaction,
};

/// A delivered message as the backend saw it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
    pub chunked: bool,
}

#[derive(Debug, Default)]
pub struct TestBackend {
    pub users: HashMap<String, sasl::StoredCredentials>,
    pub delivered: Mutex<Vec<Delivered>>,
    pub auth_events: Mutex<Vec<(String, bool)>>,
}

impl TestBackend {
    pub fn new() -> Arc<TestBackend> {
        let mut users = HashMap::new();
        let params = sasl::DeriveParams {
            scram_iterations: std::num::NonZeroU32::new(4096).unwrap(),
            argon2_memory_kib: 64,
            argon2_passes: 1,
        };
        users.insert(
            "mjl@mox.example".to_string(),
            sasl::StoredCredentials::derive_with("testtest", &params).unwrap(),
        );
        Arc::new(TestBackend { users, ..Default::default() })
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.delivered.lock().unwrap().clone()
    }
}

fn local(addr: &str) -> Target {
    Target::Local(LocalRecipient {
        account: "mjl".into(),
        canonical: addr.into(),
        destination: Arc::new(Destination::default()),
    })
}

#[async_trait]
impl Backend for TestBackend {
    async fn handle(&self, ctx: &Context, txn: Option<&Transaction>, request: Request) -> Response {
        match request {
            Request::Helo(domain) => {
                if domain.ascii().ends_with(".invalid") {
                    Response::Helo(Err(Reply::new(
                        550,
                        smtpserver::Ecode::PROTO_OTHER,
                        "your ehlo domain does not resolve to an IP address",
                    )))
                } else {
                    Response::Helo(Ok(()))
                }
            }
            Request::Credentials { mut server, username } => {
                let creds = self.users.get(&username);
                let step = server.credentials(creds);
                Response::Credentials {
                    server,
                    step,
                    account: creds.map(|_| "mjl".to_string()),
                    refuse: None,
                }
            }
            Request::AuthFinished { username, success } => {
                self.auth_events.lock().unwrap().push((username, success));
                Response::AuthRecorded
            }
            Request::MailFrom { from, .. } => {
                if let ReversePath::Path(p) = &from
                    && p.domain().is_some_and(|d| d.ascii() == "nullmx.example")
                {
                    return Response::MailFrom(Err(Reply::new(
                        550,
                        smtpserver::Ecode::POL_SENDER_NULL_MX,
                        "mailfrom domain not configured for mail",
                    )));
                }
                if ctx.config.service.is_submission()
                    && from.path().is_some_and(|p| p.ascii() != "mjl@mox.example")
                {
                    return Response::MailFrom(Err(Reply::new(
                        550,
                        smtpserver::Ecode::POL_DELIVERY_UNAUTH,
                        "must match authenticated user",
                    )));
                }
                Response::MailFrom(Ok(()))
            }
            Request::Rcpt { to, .. } => {
                let _ = txn;
                let addr = match &to {
                    ForwardPath::Postmaster => "postmaster@mox.example".to_string(),
                    ForwardPath::Path(p) => p.ascii().to_lowercase(),
                };
                if addr.ends_with("@mox.example")
                    && (addr.starts_with("mjl")
                        || addr.starts_with("postmaster")
                        || addr.starts_with("other"))
                {
                    Response::Rcpt(Ok(local(&addr)), None)
                } else if ctx.config.service.is_submission() {
                    Response::Rcpt(Ok(Target::Remote(addr)), None)
                } else if addr.ends_with("@mox.example") {
                    Response::Rcpt(
                        Err(Reply::new(
                            550,
                            smtpserver::Ecode::ADDR_UNKNOWN_MAILBOX,
                            "no such user",
                        )),
                        None,
                    )
                } else {
                    Response::Rcpt(
                        Err(Reply::new(
                            550,
                            smtpserver::Ecode::ADDR_UNKNOWN_MAILBOX,
                            "not accepting email for domain",
                        )),
                        None,
                    )
                }
            }
            Request::Deliver(d) => {
                let Delivery { transaction, data, chunked, .. } = *d;
                let data = data.into_bytes().unwrap();
                let recipients = transaction
                    .recipients
                    .iter()
                    .map(|r| match &r.path {
                        ForwardPath::Postmaster => "postmaster".to_string(),
                        ForwardPath::Path(p) => p.ascii(),
                    })
                    .collect();
                self.delivered.lock().unwrap().push(Delivered {
                    mail_from: transaction.mail_from.ascii(),
                    recipients,
                    data,
                    chunked,
                });
                Response::Delivered(Reply::new(250, smtpserver::Ecode::MAILBOX_OTHER, "it is done"))
            }
        }
    }
}

pub fn config(service: Service) -> SessionConfig {
    let mut c = SessionConfig::new(service, dns::Domain::parse("mox.example").unwrap(), true);
    c.max_message_size = 1000;
    c.max_recipients = 3;
    c.max_line_length = 200;
    c.max_errors = 5;
    c
}

pub fn tls() -> TlsInfo {
    TlsInfo {
        version: "TLS1.3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
        server_name: None,
        channel_bindings: vec![sasl::ChannelBinding::tls_exporter(vec![7; 32])],
    }
}

pub fn session(config: SessionConfig, tls: Option<TlsInfo>) -> Session {
    let remote: IpAddr = "192.0.2.10".parse().unwrap();
    let local: IpAddr = "192.0.2.1".parse().unwrap();
    let mut s = Session::new(Arc::new(config), 1, "ID".into(), remote, local, tls);
    s.greet();
    s
}

fn unescape(line: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    let mut crlf = true;
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('c') => crlf = false,
            other => panic!("bad escape {other:?}"),
        }
    }
    if crlf {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Runs the session on `input` until it needs more; returns its output.
pub async fn step(session: &mut Session, backend: &dyn Backend, input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut next: Option<Action> = None;
    loop {
        let action = match next.take() {
            Some(a) => a,
            None => {
                let (n, a) = session.handle_input(&input[pos..]);
                pos += n;
                a
            }
        };
        out.extend(session.take_output());
        match action {
            Action::NeedInput => {
                assert_eq!(pos, input.len(), "session needs input but did not consume all");
                return (out, false);
            }
            Action::Flush => {}
            Action::Request(r) => {
                let txn = session.transaction().cloned();
                let resp = backend.handle(session.context(), txn.as_ref(), r).await;
                next = session.resolve(resp);
            }
            Action::StartTls => {
                session.tls_started(tls());
                pos = input.len();
            }
            Action::Close => return (out, true),
        }
    }
}

/// Replays a transcript.
pub async fn replay(mut session: Session, backend: &dyn Backend, script: &str) {
    let mut out = session.take_output();
    let mut closed = false;
    let mut lines = script
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    let mut expected: Vec<String> = Vec::new();
    let check = |out: &[u8], expected: &[String], context: &str| {
        let text = String::from_utf8_lossy(out);
        let got: Vec<&str> = text.split_terminator("\r\n").collect();
        smtpserver::check_replies(out)
            .unwrap_or_else(|e| panic!("malformed replies {e}: {text:?}"));
        assert_eq!(
            got.len(),
            expected.len(),
            "{context}\ngot:\n{}\nexpected:\n{}",
            got.join("\n"),
            expected.join("\n")
        );
        for (g, e) in got.iter().zip(expected) {
            if e == "*" {
                continue;
            }
            if let Some(prefix) = e.strip_suffix('*') {
                assert!(
                    g.starts_with(prefix),
                    "{context}\ngot {g:?}, expected {e:?}\nall:\n{}",
                    got.join("\n")
                );
            } else {
                assert_eq!(g, e, "{context}\nall:\n{}", got.join("\n"));
            }
        }
    };
    let mut last_input = String::from("(greeting)");
    while let Some(line) = lines.next() {
        if let Some(s) = line.strip_prefix("S: ").or_else(|| line.strip_prefix("S:")) {
            expected.push(s.to_string());
            continue;
        }
        if line == "CLOSED" {
            check(&out, &expected, &last_input);
            assert!(closed, "expected connection to be closed after {last_input}");
            return;
        }
        let Some(c) = line.strip_prefix("C: ").or_else(|| line.strip_prefix("C:")) else {
            panic!("bad transcript line {line:?}");
        };
        check(&out, &expected, &last_input);
        expected.clear();
        assert!(!closed, "connection closed before {line}");
        let mut input = unescape(c);
        last_input = c.to_string();
        while let Some(next) = lines.peek() {
            let Some(c) = next.strip_prefix("C: ").or_else(|| next.strip_prefix("C:")) else {
                break;
            };
            input.extend(unescape(c));
            last_input.push_str(" | ");
            last_input.push_str(c);
            lines.next();
        }
        let (o, cl) = step(&mut session, backend, &input).await;
        out = o;
        closed = cl;
    }
    check(&out, &expected, &last_input);
}
