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
//! - A, AAAA, TXT, MX, PTR, CNAME and TLSA records are answered from the zone. TXT data longer
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
//! # SMTP peers: aiosmtpd and Postfix
//!
//! [`Aiosmtpd`] (Debian `python3-aiosmtpd`) and [`Postfix`] (Debian `postfix`, a private
//! instance with its own configuration, queue and maildirs, never the system service) start on a
//! free port of 127.0.0.1 with a [`TestCertificate`] and stop when dropped. A missing peer is a
//! test failure that says what to install, not a silent skip.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dns_server;
mod https_server;
mod mox_server;
mod smtp_peers;
mod zone_answer;

use std::io;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};

pub use dns_server::{DnsTestServer, ReceivedQuery};
pub use https_server::{HttpsTestServer, TestCa, Validity, http_response};
pub use mox_server::{MoxMode, MoxPorts, MoxServer};
pub use smtp_peers::{
    Aiosmtpd, AiosmtpdConfig, PeerTls, Postfix, PostfixConfig, Received, TestCertificate,
    strip_postfix_delivery_headers,
};

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
