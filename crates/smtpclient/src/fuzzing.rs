//! Entry points for the fuzz targets in `fuzz/` (not a stable API).

use crate::{
    Action, AuthConfig, Capabilities, Envelope, Session, SessionConfig, TlsMode, dot_stuff,
    dot_unstuff, parse_reply,
};

/// Replies parsed one after another from arbitrary bytes: never panics, always progresses.
pub fn reply(data: &[u8]) {
    let mut pos = 0;
    while let Ok(Some((reply, consumed))) = parse_reply(&data[pos..]) {
        assert!(consumed > 0);
        let _ = reply.to_string();
        let _ = Capabilities::from_ehlo(&reply);
        pos += consumed;
    }
}

/// SOCKS5 method selection and CONNECT replies from arbitrary bytes: errors or a length within
/// the input, never panics.
pub fn socks5(data: &[u8]) {
    if let Ok(Some(used)) = crate::dial::parse_socks5_method(data) {
        assert!(used <= data.len());
    }
    if let Ok(Some((bound, used))) = crate::dial::parse_socks5_reply(data) {
        assert!(used <= data.len());
        let _ = bound.to_string();
    }
}

/// The session state machine driven by arbitrary replies (STARTTLS taken, AUTH configured):
/// errors, never panics.
pub fn session(data: &[u8]) {
    let Some((&pick, mut rest)) = data.split_first() else { return };
    let Ok(hostname) = dns::Domain::parse("client.example.org") else { return };
    let tls =
        [TlsMode::StartTls, TlsMode::StartTlsIfOffered, TlsMode::Implicit, TlsMode::Plaintext]
            [usize::from(pick) % 4];
    let auth = (pick & 4 != 0).then(|| AuthConfig {
        username: "user".into(),
        password: "pencil".into(),
        mechanism: None,
        allow_password_without_tls: pick & 8 != 0,
    });
    let mut session =
        Session::new(SessionConfig { hostname, tls, auth, timeouts: Default::default() });
    let (Ok(from), Ok(to)) = ("a@example.org".parse(), "b@example.net".parse()) else { return };
    let envelope = Envelope::new(Some(from), vec![to]);
    let mut action = session.start();
    for _ in 0..64 {
        action = match action {
            Action::StartTls => session.tls_established(None),
            Action::Ready | Action::Delivered(_) => match session.begin(&envelope) {
                Ok(outgoing) => Action::Send(outgoing),
                Err(_) => return,
            },
            Action::Send(_) | Action::AwaitReply | Action::SendMessage => {
                let Ok(Some((reply, consumed))) = parse_reply(rest) else { return };
                rest = &rest[consumed..];
                match session.on_reply(reply) {
                    Ok(next) => next,
                    Err(_) => return,
                }
            }
        };
    }
}

/// Dot-stuffing: the output never ends DATA early, has only CRLF line endings, and
/// unstuffs to the input with its line endings repaired.
pub fn dotstuff(data: &[u8]) {
    let stuffed = dot_stuff(data);
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(&stuffed);
    let end = framed.windows(5).position(|w| w == b"\r\n.\r\n");
    assert_eq!(end, Some(framed.len() - 5), "terminator before the end");
    for (i, &b) in stuffed.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(stuffed.get(i + 1), Some(&b'\n')),
            b'\n' => assert!(i > 0 && stuffed[i - 1] == b'\r'),
            _ => {}
        }
    }
    let mut repaired = Vec::new();
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {
                repaired.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => repaired.extend_from_slice(b"\r\n"),
            b => repaired.push(b),
        }
        i += 1;
    }
    if !repaired.is_empty() && !repaired.ends_with(b"\r\n") {
        repaired.extend_from_slice(b"\r\n");
    }
    assert_eq!(dot_unstuff(&stuffed), Some(repaired));
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_points_hold_on_samples() {
        for sample in
            [&b""[..], b".", b"a\r\n.\r\n", b"\r", b"\n.\n", b"x\r.\r..\r\n", b"\xff.\r\n\n\r"]
        {
            super::dotstuff(sample);
            super::reply(sample);
            super::socks5(sample);
        }
        super::socks5(&[5, 0, 0, 3, 255, b'x']);
        super::socks5(&[5, 0, 0, 4, 1, 2]);
        super::reply(b"250-a\r\n250 b\r\n354 go\r\n");
        // A whole session: STARTTLS, AUTH refused.
        super::session(b"\x04220 hi\r\n250-x\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n220 go\r\n250-x\r\n250 AUTH PLAIN CRAM-MD5\r\n334 PGE+\r\n535 no\r\n");
    }
}
