//! Binding the configured addresses. Done before privileges are dropped (ports below 1024),
//! and all at once, so a port taken by another program stops the start with a clear error
//! before any service runs.

use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

/// Binds a TCP listener on `ip`:`port`. IPv6 sockets are IPv6-only, so a listener may name
/// both `0.0.0.0` and `::` (as mox's configs do) without the two colliding.
pub(crate) fn bind_tcp(ip: IpAddr, port: u16) -> anyhow::Result<std::net::TcpListener> {
    let addr = SocketAddr::new(ip, port);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| anyhow::anyhow!("socket for {addr}: {e}"))?;
    let with = |what: &str, r: std::io::Result<()>| {
        r.map_err(|e| anyhow::anyhow!("{what} for {addr}: {e}"))
    };
    with("SO_REUSEADDR", socket.set_reuse_address(true))?;
    if ip.is_ipv6() {
        with("IPV6_V6ONLY", socket.set_only_v6(true))?;
    }
    socket.bind(&addr.into()).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => " (another program listens there)",
            std::io::ErrorKind::PermissionDenied => " (ports below 1024 need root)",
            std::io::ErrorKind::AddrNotAvailable => " (no such address on this machine)",
            _ => "",
        };
        anyhow::anyhow!("listening on {addr}: {e}{hint}")
    })?;
    with("listen", socket.listen(1024))?;
    with("non-blocking", socket.set_nonblocking(true))?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_wildcards_share_a_port_and_a_taken_port_is_explained() {
        let v4 = bind_tcp("127.0.0.1".parse().unwrap(), 0).unwrap();
        let port = v4.local_addr().unwrap().port();
        // ::1 may be missing in some sandboxes; when it is there, it must not collide.
        if let Ok(v6) = bind_tcp("::1".parse().unwrap(), port) {
            assert_eq!(v6.local_addr().unwrap().port(), port);
        }
        let e = bind_tcp("127.0.0.1".parse().unwrap(), port).unwrap_err().to_string();
        assert!(e.contains("another program listens there"), "{e}");
    }
}
