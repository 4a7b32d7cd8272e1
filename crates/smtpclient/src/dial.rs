//! Opening the TCP connection for a session: from a chosen local address (so a multi-homed
//! server sends from the IP its SPF record and reverse DNS name), or through a SOCKS5 proxy
//! (RFC 1928). The established stream goes to [`Client::establish`](crate::Client::establish).
//!
//! The SOCKS5 exchange is sans-IO ([`socks5_connect_request`], [`parse_socks5_method`],
//! [`parse_socks5_reply`]) with a small tokio driver ([`connect_socks5`]).
//!
//! ```
//! use smtpclient::dial::{Socks5Target, parse_socks5_reply, socks5_connect_request};
//!
//! let request = socks5_connect_request(&Socks5Target::Ip("192.0.2.1".parse()?), 25)?;
//! assert_eq!(request, [5, 1, 0, 1, 192, 0, 2, 1, 0, 25]);
//! // The proxy connected; it says from which address.
//! let (bound, used) = parse_socks5_reply(&[5, 0, 0, 1, 198, 51, 100, 7, 0x9c, 0x40])?.unwrap();
//! assert_eq!(bound.to_string(), "198.51.100.7:40000");
//! assert_eq!(used, 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Connects to `address` within `timeout`, binding the local end to `local` first when given
/// (any port). `local` must be of the same address family as `address`.
pub async fn connect_tcp(
    address: SocketAddr,
    local: Option<IpAddr>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(ip) = local {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = match tokio::time::timeout(timeout, socket.connect(address)).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting to {address}: timeout after {}s", timeout.as_secs()),
            ));
        }
    };
    // Commands are small and replies awaited: Nagle would only add latency.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Where a SOCKS5 proxy should connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socks5Target {
    /// An IP address.
    Ip(IpAddr),
    /// A host name the proxy resolves (at most 255 bytes).
    Name(String),
}

/// Why a SOCKS5 exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Socks5Error {
    /// Connecting to the proxy, or reading and writing, failed.
    #[error("SOCKS5 proxy {proxy}: {source}")]
    Io {
        /// The proxy address.
        proxy: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The proxy took longer than the timeout.
    #[error("SOCKS5 proxy {proxy}: timeout after {}s", after.as_secs())]
    Timeout {
        /// The proxy address.
        proxy: String,
        /// The timeout.
        after: Duration,
    },
    /// The proxy answered something that is not SOCKS5.
    #[error("SOCKS5 protocol error: {0}")]
    Protocol(&'static str),
    /// The proxy wants authentication, which we do not do.
    #[error("SOCKS5 proxy requires authentication")]
    AuthenticationRequired,
    /// The proxy could not connect (RFC 1928 §6 REP field).
    #[error("SOCKS5 proxy could not connect: {}", reply_text(*code))]
    Refused {
        /// The REP code.
        code: u8,
    },
    /// The host name is longer than 255 bytes.
    #[error("SOCKS5 host name longer than 255 bytes")]
    NameTooLong,
}

impl Socks5Error {
    /// Whether the connection cannot work later either: the proxy wants authentication, or
    /// forbids the connection by its rules (REP 2). Everything else may be temporary.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Socks5Error::AuthenticationRequired | Socks5Error::Refused { code: 2 })
    }
}

fn reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

/// The greeting a client sends first (RFC 1928 §3): version 5, one method, "no
/// authentication required".
pub const SOCKS5_GREETING: [u8; 3] = [5, 1, 0];

/// Reads the proxy's method selection (RFC 1928 §3), two bytes. `Ok(None)`: need more bytes.
pub fn parse_socks5_method(input: &[u8]) -> Result<Option<usize>, Socks5Error> {
    let [version, method, ..] = input else { return Ok(None) };
    if *version != 5 {
        return Err(Socks5Error::Protocol("method selection is not SOCKS version 5"));
    }
    match method {
        0 => Ok(Some(2)),
        0xff => Err(Socks5Error::AuthenticationRequired),
        _ => Err(Socks5Error::Protocol("proxy selected a method we did not offer")),
    }
}

/// The CONNECT request for `target:port` (RFC 1928 §4).
pub fn socks5_connect_request(target: &Socks5Target, port: u16) -> Result<Vec<u8>, Socks5Error> {
    let mut request = vec![5, 1, 0];
    match target {
        Socks5Target::Ip(IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Socks5Target::Ip(IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        Socks5Target::Name(name) => {
            let len = u8::try_from(name.len()).map_err(|_| Socks5Error::NameTooLong)?;
            request.push(3);
            request.push(len);
            request.extend_from_slice(name.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

/// The address a proxy reports in its reply (BND.ADDR, BND.PORT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socks5Bound {
    /// An IP address and port.
    Socket(SocketAddr),
    /// A host name and port.
    Name(String, u16),
}

impl fmt::Display for Socks5Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Socks5Bound::Socket(addr) => write!(f, "{addr}"),
            Socks5Bound::Name(name, port) => write!(f, "{name}:{port}"),
        }
    }
}

/// Reads the reply to CONNECT (RFC 1928 §6): the bound address and how many bytes it took.
/// `Ok(None)`: need more bytes. A REP other than 0 is [`Socks5Error::Refused`].
pub fn parse_socks5_reply(input: &[u8]) -> Result<Option<(Socks5Bound, usize)>, Socks5Error> {
    let [version, rep, _reserved, atyp, rest @ ..] = input else { return Ok(None) };
    if *version != 5 {
        return Err(Socks5Error::Protocol("reply is not SOCKS version 5"));
    }
    if *rep != 0 {
        return Err(Socks5Error::Refused { code: *rep });
    }
    let port_at = |address_len: usize| -> Option<u16> {
        let bytes = rest.get(address_len..address_len + 2)?;
        Some(u16::from_be_bytes([bytes[0], bytes[1]]))
    };
    let (bound, len) = match atyp {
        1 => {
            let Some(port) = port_at(4) else { return Ok(None) };
            let ip = Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]);
            (Socks5Bound::Socket(SocketAddr::new(IpAddr::V4(ip), port)), 4 + 4 + 2)
        }
        4 => {
            let Some(port) = port_at(16) else { return Ok(None) };
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&rest[..16]);
            let ip = Ipv6Addr::from(octets);
            (Socks5Bound::Socket(SocketAddr::new(IpAddr::V6(ip), port)), 4 + 16 + 2)
        }
        3 => {
            let Some(&name_len) = rest.first() else { return Ok(None) };
            let name_len = usize::from(name_len);
            let Some(port) = port_at(1 + name_len) else { return Ok(None) };
            let name = String::from_utf8_lossy(&rest[1..1 + name_len]).into_owned();
            (Socks5Bound::Name(name, port), 4 + 1 + name_len + 2)
        }
        _ => return Err(Socks5Error::Protocol("reply with unknown address type")),
    };
    Ok(Some((bound, len)))
}

/// Connects to `target:port` through the SOCKS5 proxy at `proxy` (`host:port`), without
/// authentication, the whole exchange within `timeout`. Returns the stream, ready for SMTP,
/// and the address the proxy connected from (when it says).
pub async fn connect_socks5(
    proxy: &str,
    target: &Socks5Target,
    port: u16,
    timeout: Duration,
) -> Result<(TcpStream, Socks5Bound), Socks5Error> {
    let io_error = |source| Socks5Error::Io { proxy: proxy.to_string(), source };
    let exchange = async {
        let mut stream = TcpStream::connect(proxy).await.map_err(io_error)?;
        let _ = stream.set_nodelay(true);
        stream.write_all(&SOCKS5_GREETING).await.map_err(io_error)?;
        let mut buffer = Vec::new();
        let used = loop {
            if let Some(used) = parse_socks5_method(&buffer)? {
                break used;
            }
            read_more(&mut stream, &mut buffer).await.map_err(io_error)?;
        };
        buffer.drain(..used);
        stream.write_all(&socks5_connect_request(target, port)?).await.map_err(io_error)?;
        let bound = loop {
            if let Some((bound, used)) = parse_socks5_reply(&buffer)? {
                if buffer.len() > used {
                    // The server speaks first in SMTP, but not before we are connected.
                    return Err(Socks5Error::Protocol("data after the CONNECT reply"));
                }
                break bound;
            }
            read_more(&mut stream, &mut buffer).await.map_err(io_error)?;
        };
        Ok((stream, bound))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Socks5Error::Timeout { proxy: proxy.to_string(), after: timeout }),
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 512];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "proxy closed the connection"));
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let request = socks5_connect_request(&Socks5Target::Ip(v6), 587).unwrap();
        assert_eq!(request[..4], [5, 1, 0, 4]);
        assert_eq!(request.len(), 4 + 16 + 2);
        assert_eq!(request[20..], [2, 75]);
        let request = socks5_connect_request(&Socks5Target::Name("mx.example".into()), 25).unwrap();
        assert_eq!(request, b"\x05\x01\x00\x03\x0amx.example\x00\x19");
        let long = Socks5Target::Name("a".repeat(256));
        assert!(matches!(socks5_connect_request(&long, 25), Err(Socks5Error::NameTooLong)));
    }

    #[test]
    fn method_selection() {
        assert_eq!(parse_socks5_method(&[5]).unwrap(), None);
        assert_eq!(parse_socks5_method(&[5, 0]).unwrap(), Some(2));
        assert!(matches!(
            parse_socks5_method(&[5, 0xff]),
            Err(Socks5Error::AuthenticationRequired)
        ));
        assert!(matches!(parse_socks5_method(&[4, 0]), Err(Socks5Error::Protocol(_))));
        assert!(matches!(parse_socks5_method(&[5, 2]), Err(Socks5Error::Protocol(_))));
    }

    #[test]
    fn replies_partial_and_complete() {
        let full = [5, 0, 0, 3, 2, b'h', b'x', 0, 25];
        for n in 0..full.len() {
            assert_eq!(parse_socks5_reply(&full[..n]).unwrap(), None, "prefix {n}");
        }
        let (bound, used) = parse_socks5_reply(&full).unwrap().unwrap();
        assert_eq!((bound, used), (Socks5Bound::Name("hx".into(), 25), 9));
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend_from_slice(&[0; 15]);
        v6.extend_from_slice(&[1, 0, 25]);
        let (bound, used) = parse_socks5_reply(&v6).unwrap().unwrap();
        assert_eq!(bound.to_string(), "[::1]:25");
        assert_eq!(used, 22);
        let refused = parse_socks5_reply(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(refused.to_string(), "SOCKS5 proxy could not connect: connection refused");
        assert!(!refused.is_permanent());
        assert!(parse_socks5_reply(&[5, 2, 0, 1]).unwrap_err().is_permanent());
        assert!(matches!(parse_socks5_reply(&[5, 0, 0, 9, 0]), Err(Socks5Error::Protocol(_))));
    }

    /// A SOCKS5 proxy written for this test on loopback: checks the exchange byte by byte,
    /// then relays to a listener.
    #[tokio::test]
    async fn connect_through_proxy_and_bind_local_address() {
        let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target_addr = target.local_addr().unwrap();
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_addr = proxy.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut client, _) = proxy.accept().await.unwrap();
            let mut greeting = [0u8; 3];
            client.read_exact(&mut greeting).await.unwrap();
            assert_eq!(greeting, SOCKS5_GREETING);
            client.write_all(&[5, 0]).await.unwrap();
            let mut request = [0u8; 10];
            client.read_exact(&mut request).await.unwrap();
            assert_eq!(request[..4], [5, 1, 0, 1]);
            let port = u16::from_be_bytes([request[8], request[9]]);
            let ip = Ipv4Addr::new(request[4], request[5], request[6], request[7]);
            // Connect from 127.0.0.2, as a proxy with its own address would.
            let upstream = connect_tcp(
                SocketAddr::new(IpAddr::V4(ip), port),
                Some("127.0.0.2".parse().unwrap()),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
            let from = upstream.local_addr().unwrap();
            let mut reply = vec![5, 0, 0, 1];
            reply.extend_from_slice(&[127, 0, 0, 2]);
            reply.extend_from_slice(&from.port().to_be_bytes());
            client.write_all(&reply).await.unwrap();
            let (mut a, mut b) = (client, upstream);
            let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
        });
        let accept = tokio::spawn(async move {
            let (mut conn, peer) = target.accept().await.unwrap();
            conn.write_all(b"220 hello\r\n").await.unwrap();
            peer
        });
        let target = Socks5Target::Ip(target_addr.ip());
        let (mut stream, bound) = connect_socks5(
            &proxy_addr.to_string(),
            &target,
            target_addr.port(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let peer = accept.await.unwrap();
        assert_eq!(peer.ip().to_string(), "127.0.0.2", "the target saw the bound source address");
        assert_eq!(bound, Socks5Bound::Socket(peer));
        let mut greeting = [0u8; 11];
        stream.read_exact(&mut greeting).await.unwrap();
        assert_eq!(&greeting, b"220 hello\r\n");

        // A proxy that is not there.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let error = connect_socks5(&closed_addr.to_string(), &target, 25, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(error, Socks5Error::Io { .. }), "{error}");
    }
}
