//! Helpers for mox-rs tests only (not published).
//!
//! # `DnsTestServer`: real DNS on loopback from a `MockResolver` zone
//!
//! [`DnsTestServer`] puts a [`dns::MockResolver`] zone on the wire: hickory-server listens on
//! 127.0.0.1, UDP and TCP on one free port, and answers every question through the
//! [`dns::Resolver`] trait of the zone, so a client under test (our `HickoryResolver`, the
//! `mox` binary with `--dns-server`, dig) talks to an independent DNS implementation and sees
//! exactly what the zone says. It behaves like a validating recursive resolver:
//!
//! - A, AAAA, TXT, MX, PTR, CNAME, TLSA and SRV records are answered from the zone. TXT data longer
//!   than 255 octets is split into several character-strings (RFC 1035 §3.3.14); the null MX
//!   (RFC 7505) is `0 .`. PTR questions for `in-addr.arpa`/`ip6.arpa` names are answered from
//!   the zone's PTR records for that address.
//! - CNAMEs are followed: the answer holds the CNAME chain and then the records at its end.
//! - A name the zone does not have is NXDOMAIN, a name without records of the type is NOERROR
//!   with an empty answer (NODATA); both carry an SOA record in the authority section.
//!   Other record types (SOA, NS, ANY, ...) get NODATA or NXDOMAIN.
//! - Injected failures: `SERVFAIL` answers SERVFAIL, `REFUSED` answers REFUSED, `TIMEOUT`
//!   sends **no answer at all**, `NXDOMAIN` answers NXDOMAIN.
//! - Answers about `AUTHENTIC` names have the AD bit set, but **only if the query had the AD
//!   bit or the EDNS DO bit set**, as unbound does (RFC 6840 §5.7), so a test proves the client
//!   asks for it.
//! - Over UDP, an answer larger than the client's EDNS payload size (512 without EDNS) is
//!   truncated (TC bit), and the client has to retry over TCP.
//!
//! Every question received is logged ([`DnsTestServer::received`]): name, type, UDP or TCP,
//! and the AD and DO bits, so tests can check how a client asked.
//!
//! Start it with [`DnsTestServer::start`] inside a tokio runtime, or with
//! [`DnsTestServer::start_on_thread`] from a synchronous test (it then runs on its own thread
//! and runtime). It stops when dropped, or with [`DnsTestServer::stop`].
//!
//! ```
//! use dns::{Domain, HickoryResolver, MockResolver, Resolver};
//! use test_support::DnsTestServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let zone = MockResolver::from_zone(
//!     r#"
//!     example.com     TXT  "v=spf1 mx -all"
//!     example.com     AUTHENTIC
//!     "#,
//! )?;
//! let server = DnsTestServer::start(zone).await?;
//! let resolver = HickoryResolver::with_server(server.addr())?;
//!
//! let txt = resolver.lookup_txt(&Domain::parse("example.com")?).await?;
//! assert_eq!(txt.records, ["v=spf1 mx -all"]);
//! assert!(txt.authentic, "HickoryResolver sets the AD bit, so the server vouches");
//! assert!(server.received()[0].authentic_data);
//! # Ok(())
//! # }
//! ```
//!
//! From a synchronous test, e.g. of the `mox` binary:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let zone = dns::MockResolver::from_zone("example.com TXT \"v=spf1 -all\"")?;
//! let server = test_support::DnsTestServer::start_on_thread(zone)?;
//! let dns_server_option = format!("--dns-server={}", server.addr());
//! assert!(dns_server_option.starts_with("--dns-server=127.0.0.1:"));
//! // std::process::Command::new(mox).arg(&dns_server_option).args(["spf", "lookup", ...])
//! # Ok(())
//! # }
//! ```
//!
//! # `TestCa` and `HttpsTestServer`: HTTPS on loopback with certificates from a test CA
//!
//! [`TestCa`] makes a certificate authority with rcgen and certificates signed by it (current or
//! expired); [`HttpsTestServer`] serves HTTPS on 127.0.0.1 with such a certificate and answers
//! with whatever raw HTTP bytes the test returns, so clients (the MTA-STS policy fetcher) are
//! tested against wrong names, expired or untrusted certificates, redirects and slow servers.
//!
//! ```
//! use test_support::{HttpsTestServer, TestCa, Validity, http_response};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ca = TestCa::new()?;
//! let config = ca.server_config(&["mta-sts.example.com"], Validity::Current)?;
//! let server = HttpsTestServer::start(config, |_head| {
//!     Some(http_response("200 OK", Some("text/plain"), b"version: STSv1\r\n"))
//! })
//! .await?;
//! assert!(server.addr().ip().is_loopback());
//! let _trust = ca.roots(); // give these to the client under test
//! # Ok(())
//! # }
//! ```
//!
//! # Durability: what a program acknowledged was on disk first
//!
//! A crash test with SIGKILL keeps the page cache, so it passes even if a program forgets to
//! flush. [`Strace`] runs a program under `strace -f` (Debian package `strace`), [`Trace`]
//! reads what it did (writes, `fsync`/`fdatasync`, `sync`/`syncfs`, names created, renamed and
//! removed, with the thread and the order of each call), and [`Trace::check`] verifies, per
//! acknowledgement the program made (a line it wrote to a file, an SMTP `250` or IMAP `OK` it
//! wrote to a socket), that what it promised was flushed **before** that write:
//!
//! - [`Durable::FileData`]: every write to the file was followed by a flush of it (the
//!   message file's `fdatasync`);
//! - [`Durable::Entry`]: the file's name, and any directory created on the way to it, was
//!   followed by an `fsync` of the directory holding it;
//! - [`Durable::LmdbCommit`]: after those, an LMDB transaction on the database file was
//!   committed durably (data pages written and flushed by one thread, then the meta page
//!   written with `O_DSYNC` or flushed).
//!
//! Leaving out any of those flushes makes the check fail, naming the acknowledgement, the
//! requirement and the trace line of the write that was not flushed. The procedure for a test:
//!
//! 1. Build the `Command` of the program (for a test binary acting as the child:
//!    `current_exe()` with `--exact child_test_name` and an environment variable).
//! 2. `let mut strace = Strace::new(dir.join("trace"));` and spawn `strace.command(&cmd)?`;
//!    drive it (deliver messages, talk SMTP), let it exit (or stop it), and wait for it.
//! 3. `let trace = strace.trace()?;` find the acknowledgements: [`Trace::lines_written_to`]
//!    for lines the program appends to a file, or [`Trace::writes_to`] /
//!    [`Trace::events`] for replies written to a socket ([`Target::Other`] `socket:[...]`,
//!    with [`Write::data`]).
//! 4. For each, an [`Acknowledged`] with the requirements, then `trace.check(&acks)`, which
//!    returns how many were checked or every [`Violation`]. Assert the number of
//!    acknowledgements too, so a trace that lost them cannot pass.
//!
//! [`Strace::inject_noop`] makes strace skip a call (it returns 0 without running), so a test
//! can prove that the check notices, for example, every `fsync` missing.
//!
//! Limits: writes through a shared memory map (LMDB's `WRITE_MAP`) and `io_uring` are not in
//! the trace; `msync` is not counted as a flush. The whole program is slowed by strace, so
//! trace a bounded run (tens to hundreds of acknowledgements).
//!
//! ```
//! use std::path::Path;
//! use test_support::{Acknowledged, Durable, Trace};
//!
//! // What `strace -f -ttt -y -xx` prints (paths and data here in plain text for reading).
//! let text = r#"
//! 10 1.000001 openat(AT_FDCWD</d>, "/d/msg/1", O_WRONLY|O_CREAT|O_EXCL, 0666) = 3</d/msg/1>
//! 10 1.000002 write(3</d/msg/1>, "Subject: hi\r\n\r\nbody\r\n", 21) = 21
//! 10 1.000003 fdatasync(3</d/msg/1>) = 0
//! 10 1.000004 openat(AT_FDCWD</d>, "/d/msg", O_RDONLY|O_CLOEXEC) = 4</d/msg>
//! 10 1.000005 fsync(4</d/msg>) = 0
//! 10 1.000006 openat(AT_FDCWD</d>, "/d/acked", O_WRONLY|O_APPEND) = 5</d/acked>
//! 10 1.000007 write(5</d/acked>, "1 delivered\n", 12) = 12
//! "#;
//! // The acknowledgements: lines written to /d/acked, each an index into trace.events().
//! let acknowledgements = |trace: &Trace| -> Result<Vec<Acknowledged>, String> {
//!     Ok(trace
//!         .lines_written_to(Path::new("/d/acked"))?
//!         .into_iter()
//!         .map(|(at, line)| Acknowledged {
//!             label: line,
//!             at,
//!             after: None,
//!             durable: vec![
//!                 Durable::FileData("/d/msg/1".into()),
//!                 Durable::Entry("/d/msg/1".into()),
//!             ],
//!         })
//!         .collect())
//! };
//! let trace = Trace::parse(text, Path::new("/d"))?;
//! let acks = acknowledgements(&trace)?;
//! assert_eq!(acks.len(), 1);
//! assert_eq!(trace.check(&acks).map(|c| c.requirements), Ok(2));
//!
//! // Without the fdatasync, the check names the write that was not flushed.
//! let unsynced = text.replace("10 1.000003 fdatasync(3</d/msg/1>) = 0\n", "");
//! let trace = Trace::parse(&unsynced, Path::new("/d"))?;
//! let violations = trace.check(&acknowledgements(&trace)?).unwrap_err();
//! assert_eq!(violations.len(), 1);
//! assert!(violations[0].to_string().contains("not flushed"), "{}", violations[0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # SMTP peers: aiosmtpd and Postfix
//!
//! [`Aiosmtpd`] (Debian `python3-aiosmtpd`) and [`Postfix`] (Debian `postfix`, a private
//! instance with its own configuration, queue and maildirs, never the system service) start on a
//! free port of 127.0.0.1 with a [`TestCertificate`] and stop when dropped. A missing peer is a
//! test failure that says what to install, not a silent skip.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dns_server;
mod durability;
mod https_server;
mod mox_server;
mod smtp_peers;
mod trace;
mod zone_answer;

use std::io;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};

pub use dns_server::{DnsTestServer, ReceivedQuery};
pub use durability::{Acknowledged, Checked, Durable, Strace, Violation};
pub use https_server::{HttpsTestServer, TestCa, Validity, http_response};
pub use mox_server::{MoxMode, MoxOptions, MoxPorts, MoxServer};
pub use smtp_peers::{
    Aiosmtpd, AiosmtpdConfig, MxPeer, MxPeerOptions, PeerTls, Postfix, PostfixConfig,
    PostfixProcess, Received, TestCertificate, strip_postfix_delivery_headers,
};
pub use trace::{Call, Event, Target, Trace, TraceError, Write};

/// `n` different free ports (each free for TCP on 127.0.0.1 when returned): the ports are held
/// until all are found, so no two are the same, as separate [`free_port`] calls can be.
pub fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let held: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0))).collect::<io::Result<_>>()?;
    held.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

/// A port on 127.0.0.1 that is free, for both TCP and UDP, at the time of the call, for
/// starting an external peer (dnsmasq, Postfix) that must be told its port. Another process
/// may take it before the peer binds it; tests should start the peer promptly.
pub fn free_port() -> io::Result<u16> {
    let mut last_error = None;
    for _ in 0..50 {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = tcp.local_addr()?.port();
        match UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(_) => return Ok(port),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port free for both TCP and UDP")))
}
