//! The tokio driver with TLS: SCRAM-SHA-256-PLUS bound to the TLS channel (tls-exporter, RFC
//! 9266), SCRAM-SHA-1 and CRAM-MD5 through the `sasl` client, COMPRESS=DEFLATE with Python's
//! zlib as the other end, failed-login delays and lockout, and STARTTLS refusing pipelined
//! commands.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Harness, PASSWORD, TestServer, USER, python};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

async fn tls_client(
    srv: &TestServer,
) -> BufReader<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let pem = std::fs::read(&srv.ca_file).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", srv.tls_port)).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let s = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    let mut r = BufReader::new(s);
    let mut greeting = String::new();
    r.read_line(&mut greeting).await.unwrap();
    assert!(greeting.starts_with("* OK [CAPABILITY"), "{greeting}");
    r
}

async fn line<S: tokio::io::AsyncRead + Unpin>(r: &mut BufReader<S>) -> String {
    let mut l = String::new();
    r.read_line(&mut l).await.unwrap();
    l
}

/// Runs an AUTHENTICATE exchange with a `sasl` client; returns the tagged response.
async fn authenticate(
    r: &mut BufReader<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
    mut client: sasl::Client,
) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let initial = client
        .initial_response()
        .map(|r| if r.is_empty() { "=".to_string() } else { b64.encode(r) });
    let cmd = match initial {
        Some(i) => format!("a AUTHENTICATE {} {i}\r\n", client.mechanism().name()),
        None => format!("a AUTHENTICATE {}\r\n", client.mechanism().name()),
    };
    r.get_mut().write_all(cmd.as_bytes()).await.unwrap();
    loop {
        let l = line(r).await;
        if let Some(ch) = l.strip_prefix("+ ") {
            let challenge = b64.decode(ch.trim_end()).unwrap();
            let resp = client.step(&challenge).unwrap();
            r.get_mut().write_all(format!("{}\r\n", b64.encode(resp)).as_bytes()).await.unwrap();
        } else if l.starts_with("a ") {
            return l;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_plus_scram_and_cram_md5_over_tls() {
    let srv = TestServer::start();
    // SCRAM-SHA-256-PLUS with the TLS exporter channel binding of this very connection.
    let mut r = tls_client(&srv).await;
    let mut km = vec![0u8; sasl::TLS_EXPORTER_LENGTH];
    r.get_ref()
        .get_ref()
        .1
        .export_keying_material(&mut km, sasl::TLS_EXPORTER_LABEL, None)
        .unwrap();
    let client = sasl::Client::scram(
        sasl::ScramHash::Sha256,
        USER,
        sasl::Secret::from(PASSWORD),
        sasl::ClientChannelBinding::Bind(sasl::ChannelBinding::tls_exporter(km)),
    );
    let resp = authenticate(&mut r, client).await;
    assert!(resp.starts_with("a OK [CAPABILITY"), "{resp}");

    // Channel binding data of another connection (a relaying man in the middle) is refused.
    let mut r = tls_client(&srv).await;
    let client = sasl::Client::scram(
        sasl::ScramHash::Sha256,
        USER,
        sasl::Secret::from(PASSWORD),
        sasl::ClientChannelBinding::Bind(sasl::ChannelBinding::tls_exporter(vec![1; 32])),
    );
    let resp = authenticate(&mut r, client).await;
    assert!(resp.starts_with("a NO [AUTHENTICATIONFAILED]"), "{resp}");

    // A client that could bind but sees no -PLUS offer... we offer it: a downgrade, refused.
    let mut r = tls_client(&srv).await;
    let client = sasl::Client::scram(
        sasl::ScramHash::Sha1,
        USER,
        sasl::Secret::from(PASSWORD),
        sasl::ClientChannelBinding::ServerLacksSupport,
    );
    let resp = authenticate(&mut r, client).await;
    assert!(resp.starts_with("a NO"), "{resp}");

    let mut r = tls_client(&srv).await;
    let client = sasl::Client::scram(
        sasl::ScramHash::Sha1,
        USER,
        sasl::Secret::from(PASSWORD),
        sasl::ClientChannelBinding::Unsupported,
    );
    let resp = authenticate(&mut r, client).await;
    assert!(resp.starts_with("a OK"), "{resp}");

    let mut r = tls_client(&srv).await;
    let resp =
        authenticate(&mut r, sasl::Client::cram_md5(USER, sasl::Secret::from(PASSWORD))).await;
    assert!(resp.starts_with("a OK"), "{resp}");
    let mut r = tls_client(&srv).await;
    let resp =
        authenticate(&mut r, sasl::Client::cram_md5(USER, sasl::Secret::from("wrong"))).await;
    assert!(resp.starts_with("a NO [AUTHENTICATIONFAILED]"), "{resp}");
}

const COMPRESS: &str = r#"
import socket, ssl, sys, zlib
port, ca, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("localhost", port)), server_hostname="localhost")
f = s.makefile("rb")
def line():
    return f.readline()
line()
s.sendall(b"a LOGIN %s %s\r\n" % (user.encode(), password.encode()))
l = line(); assert l.startswith(b"a OK") and b"COMPRESS=DEFLATE" in l, l
s.sendall(b"b COMPRESS DEFLATE\r\n")
l = line(); assert l.startswith(b"b OK"), l
# From here on raw DEFLATE (RFC 1951) both ways, sync-flushed.
c = zlib.compressobj(wbits=-15)
d = zlib.decompressobj(wbits=-15)
def send(data):
    s.sendall(c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))
buf = b""
def readline():
    global buf
    while b"\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "closed"
        buf += d.decompress(chunk)
    l, buf = buf.split(b"\r\n", 1)
    return l
msg = b"Subject: compressed\r\n\r\n" + b"all work and no play " * 500 + b"\r\n"
send(b"c APPEND INBOX {%d+}\r\n%s\r\n" % (len(msg), msg))
l = readline(); assert l.startswith(b"c OK [APPENDUID"), l
send(b"d SELECT INBOX\r\n")
while True:
    l = readline()
    if l.startswith(b"d "): break
assert l.startswith(b"d OK"), l
send(b"e FETCH 1 BODY.PEEK[]\r\n")
l = readline(); assert l.endswith(b"{%d}" % len(msg)), l
while len(buf) < len(msg):
    buf += d.decompress(s.recv(65536))
body, buf = buf[:len(msg)], buf[len(msg):]
assert body == msg
l = readline(); assert l == b")", l
l = readline(); assert l.startswith(b"e OK"), l
send(b"f COMPRESS DEFLATE\r\n")
l = readline(); assert l.startswith(b"f NO [COMPRESSIONACTIVE]"), l
send(b"g LOGOUT\r\n")
print("ok")
"#;

#[test]
fn compress_deflate_with_python_zlib() {
    let srv = TestServer::start();
    let out = python(
        COMPRESS,
        &[&srv.tls_port.to_string(), srv.ca_file.to_str().unwrap(), USER, PASSWORD],
    );
    assert!(out.contains("ok"), "{out}");
}

#[test]
fn failed_logins_are_delayed_then_locked_out() {
    let h = Harness::new().with_config(|c| {
        c.login_limiter = Arc::new(imapserver::session::SimpleLoginLimiter::new(
            Duration::from_millis(100),
            Duration::from_millis(250),
            3,
            Duration::from_secs(60),
        ));
    });
    let mut c = h.session();
    let mut delays = Vec::new();
    for i in 0..3 {
        let r = c.cmd(&format!("a{i} LOGIN {USER} wrong"));
        assert!(r.contains("NO [AUTHENTICATIONFAILED]"), "{r}");
        delays.push(c.s.take_delay());
    }
    assert_eq!(
        delays,
        [
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(200)),
            Some(Duration::from_millis(250))
        ]
    );
    // Locked out: even the right password is refused without being checked.
    let r = c.cmd(&format!("b LOGIN {USER} {PASSWORD}"));
    assert!(r.contains("b NO [UNAVAILABLE]"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_is_applied_by_the_driver_and_starttls_refuses_injection() {
    let h = Harness::new().with_config(|c| {
        c.allow_plaintext_auth = true;
        c.login_limiter = Arc::new(imapserver::session::SimpleLoginLimiter::new(
            Duration::from_millis(300),
            Duration::from_secs(1),
            100,
            Duration::from_secs(60),
        ));
    });
    let srv = TestServer::start_with(h);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", srv.plain_port)).await.unwrap();
    let mut r = BufReader::new(tcp);
    line(&mut r).await;
    let t = Instant::now();
    r.get_mut().write_all(format!("a LOGIN {USER} wrong\r\n").as_bytes()).await.unwrap();
    let l = line(&mut r).await;
    assert!(l.starts_with("a NO [AUTHENTICATIONFAILED]"), "{l}");
    assert!(t.elapsed() >= Duration::from_millis(300), "answered after {:?}", t.elapsed());
    // A command pipelined after STARTTLS (before the handshake) could be injected by a man in
    // the middle: refused, and no TLS starts.
    r.get_mut().write_all(b"b STARTTLS\r\nc NOOP\r\n").await.unwrap();
    let l = line(&mut r).await;
    assert!(l.starts_with("b BAD"), "{l}");
}
