//! Entry points for the fuzz targets in `fuzz/` (not a stable API). Each feeds arbitrary input
//! to the parsers and state machines, which must return errors, never panic, and asserts what
//! must hold for any input:
//!
//! - [`exchange`]: for a username and password from the input, the server accepts exactly what
//!   the matching client sends (as that username), in every mechanism, and refuses the same
//!   client with a changed password, and a `-PLUS` client bound to another channel;
//! - [`server`]: arbitrary client messages never authenticate without the password (PLAIN and
//!   LOGIN only with it; CRAM-MD5 and SCRAM never, their challenges being unpredictable);
//! - [`client`]: arbitrary server challenges get exactly the responses the mechanism defines,
//!   and a SCRAM client never accepts a server that did not prove it knows the password;
//! - [`certificate`]: a `tls-server-end-point` binding is a hash of one of the allowed sizes.
//!
//! # Panics
//!
//! Each function panics if what it asserts does not hold: that is a bug in this crate.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use crate::credentials::prepared;
use crate::{
    Authenticated, ChannelBinding, ChannelBindingType, Client, CramMd5Credentials, DeriveParams,
    Mechanism, Secret, Server, ServerOptions, ServerStep, StoredCredentials,
};

/// The password [`server`] and [`client`] use.
const PASSWORD: &str = "pencil";

/// Cheap derivation: fuzzing is about the exchange, not the cost.
fn cheap() -> DeriveParams {
    DeriveParams { scram_iterations: NonZeroU32::MIN, argon2_memory_kib: 8, argon2_passes: 1 }
}

fn options(binding: &ChannelBinding) -> ServerOptions {
    ServerOptions { hostname: "fuzz.example".into(), channel_bindings: vec![binding.clone()] }
}

/// How an exchange between a client and a server ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Authenticated(Authenticated),
    External(Option<String>),
    Refused,
}

/// Runs `client` against `server` (at most 8 rounds).
fn run(client: &mut Client, server: &mut Server, stored: &StoredCredentials) -> Outcome {
    let mut response = client.initial_response();
    for _ in 0..8 {
        let step = match server.step(response.as_deref()) {
            Ok(ServerStep::NeedCredentials { .. }) => server.credentials(Some(stored)),
            other => other,
        };
        match step {
            Ok(ServerStep::Challenge(challenge)) => match client.step(&challenge) {
                Ok(r) => response = Some(r),
                Err(_) => return Outcome::Refused,
            },
            Ok(ServerStep::Authenticated(who)) => {
                // The client must accept the server's proof (SCRAM) of the same password.
                assert!(
                    client.finish().is_ok(),
                    "{}: client refused the server",
                    client.mechanism()
                );
                return Outcome::Authenticated(who);
            }
            Ok(ServerStep::External { authzid }) => return Outcome::External(authzid),
            Ok(ServerStep::NeedCredentials { .. }) => panic!("credentials asked for twice"),
            Err(_) => return Outcome::Refused,
        }
    }
    panic!("{}: exchange did not end in 8 rounds", client.mechanism());
}

/// The input is `username NL password` (both UTF-8). For every password mechanism, a client with
/// that username and password must be authenticated as that username by a server holding the
/// credentials derived from the password, and refused with the password changed; a `-PLUS`
/// client bound to another channel is refused; EXTERNAL passes the username on as authzid.
/// Returns how many exchanges were checked (0 for input that is no username and password the
/// server would store: not UTF-8, empty, a NUL in the username, a password SASLprep refuses).
pub fn exchange(data: &[u8]) -> usize {
    let Some(pos) = data.iter().position(|&b| b == b'\n') else { return 0 };
    let (Ok(username), Ok(password)) =
        (std::str::from_utf8(&data[..pos]), std::str::from_utf8(&data[pos + 1..]))
    else {
        return 0;
    };
    // PLAIN separates its fields by NUL; SASL usernames cannot hold one.
    if username.is_empty() || username.contains('\0') {
        return 0;
    }
    let Ok(stored) = StoredCredentials::derive_with(password, &cheap()) else { return 0 };
    let binding = ChannelBinding::tls_exporter(vec![7; 32]);
    let other_channel = ChannelBinding::tls_exporter(vec![8; 32]);
    let changed = format!("{password}x");
    let expected =
        Outcome::Authenticated(Authenticated { username: username.into(), authzid: None });
    let mut checked = 0;
    for mechanism in Mechanism::PREFERENCE {
        let client = |password: &str, binding: &ChannelBinding| {
            Client::new(mechanism, username, Secret::from(password), Some(binding.clone()))
                .unwrap_or_else(|e| panic!("{mechanism}: client: {e}"))
        };
        let server = || Server::new(mechanism, options(&binding)).unwrap_or_else(|e| panic!("{e}"));
        let got = run(&mut client(password, &binding), &mut server(), &stored);
        assert_eq!(got, expected, "{mechanism}: the matching client for {username:?} {password:?}");
        let got = run(&mut client(&changed, &binding), &mut server(), &stored);
        assert_eq!(got, Outcome::Refused, "{mechanism}: a changed password {changed:?}");
        checked += 2;
        if mechanism.is_plus() {
            let got = run(&mut client(password, &other_channel), &mut server(), &stored);
            assert_eq!(got, Outcome::Refused, "{mechanism}: bound to another channel");
            checked += 1;
        }
    }
    let mut external = Client::external(Some(username));
    let got = run(
        &mut external,
        &mut Server::new(Mechanism::External, options(&binding)).unwrap_or_else(|e| panic!("{e}")),
        &stored,
    );
    assert_eq!(got, Outcome::External(Some(username.to_string())), "EXTERNAL");
    checked + 1
}

/// The server side of a mechanism (picked by the first byte) fed the rest, split at `\n`, as
/// client messages; the credentials of password `pencil` are given whenever asked for. Returns
/// the identity authenticated, if any: only PLAIN and LOGIN can get there, with the password.
pub fn server(data: &[u8]) -> Option<Authenticated> {
    static CREDENTIALS: OnceLock<StoredCredentials> = OnceLock::new();
    let credentials = CREDENTIALS
        .get_or_init(|| StoredCredentials::derive_with(PASSWORD, &cheap()).unwrap_or_default());
    let (&pick, rest) = data.split_first()?;
    let mechanism = Mechanism::ALL[usize::from(pick) % Mechanism::ALL.len()];
    let options = ServerOptions {
        hostname: "fuzz.example".into(),
        channel_bindings: vec![ChannelBinding::tls_exporter(vec![0; 32])],
    };
    let mut server = Server::new(mechanism, options).ok()?;
    let messages: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let mut fed = 0;
    for _ in 0..8 {
        let input = messages.get(fed).copied();
        fed += 1;
        let step = match server.step(input) {
            Ok(ServerStep::NeedCredentials { .. }) => server.credentials(Some(credentials)),
            other => other,
        };
        match step {
            Ok(ServerStep::Challenge(_)) if fed < messages.len() => {}
            Ok(ServerStep::Authenticated(who)) => {
                check_authenticated(mechanism, &messages[..fed], &who);
                return Some(who);
            }
            Ok(ServerStep::External { authzid }) => {
                let message = String::from_utf8_lossy(messages[0]);
                assert_eq!(authzid.as_deref(), (!message.is_empty()).then_some(&*message));
                return None;
            }
            _ => return None,
        }
    }
    None
}

/// What an authentication from arbitrary client messages must have had.
fn check_authenticated(mechanism: Mechanism, messages: &[&[u8]], who: &Authenticated) {
    let text = |m: &[u8]| String::from_utf8(m.to_vec()).unwrap_or_default();
    match mechanism {
        Mechanism::Plain => {
            let fields: Vec<&[u8]> = messages[0].split(|&b| b == 0).collect();
            assert_eq!(fields.len(), 3, "PLAIN authenticated from {:?}", messages[0]);
            assert_eq!(who.username, text(fields[1]));
            assert_eq!(
                prepared(&text(fields[2])),
                prepared(PASSWORD),
                "PLAIN without the password"
            );
        }
        Mechanism::Login => {
            assert_eq!(messages.len(), 2, "LOGIN authenticated from {messages:?}");
            assert_eq!(who.username, text(messages[0]));
            assert_eq!(
                prepared(&text(messages[1])),
                prepared(PASSWORD),
                "LOGIN without the password"
            );
        }
        // The challenge (CRAM-MD5) or server nonce (SCRAM) is random: no input can have the
        // proof for it.
        other => panic!("{other} authenticated from arbitrary messages {messages:?}"),
    }
}

/// The client side of a mechanism (picked by the first byte) fed the rest, split at `\n`, as
/// server challenges. Returns the responses it gave.
pub fn client(data: &[u8]) -> Vec<Vec<u8>> {
    let mut responses = Vec::new();
    let Some((&pick, rest)) = data.split_first() else { return responses };
    let mechanism = Mechanism::ALL[usize::from(pick) % Mechanism::ALL.len()];
    let binding = Some(ChannelBinding::tls_exporter(vec![0; 32]));
    let Ok(mut client) = Client::new(mechanism, "user", Secret::from(PASSWORD), binding) else {
        return responses;
    };
    let initial = client.initial_response();
    match mechanism {
        Mechanism::Plain => assert_eq!(initial.as_deref(), Some(&b"\0user\0pencil"[..])),
        Mechanism::External => assert_eq!(initial.as_deref(), Some(&b"user"[..])),
        Mechanism::Login | Mechanism::CramMd5 => assert_eq!(initial, None),
        _ => {
            let first = initial.unwrap_or_default();
            assert!(
                first.starts_with(b"n,,n=user,r=")
                    || first.starts_with(b"p=tls-exporter,,n=user,r=")
            );
        }
    }
    for (n, challenge) in rest.split(|&b| b == b'\n').take(8).enumerate() {
        // Keep iteration counts the fuzzer invents cheap: skip challenges asking for many.
        if challenge
            .windows(8)
            .any(|w| w.starts_with(b"i=") && w[2..].iter().all(u8::is_ascii_digit))
        {
            break;
        }
        let response = client.step(challenge);
        match mechanism {
            // Single-message mechanisms were done with their initial response.
            Mechanism::Plain | Mechanism::External => assert!(response.is_err()),
            Mechanism::Login => match n {
                0 => assert_eq!(response.as_deref().ok(), Some(&b"user"[..])),
                1 => assert_eq!(response.as_deref().ok(), Some(PASSWORD.as_bytes())),
                _ => assert!(response.is_err()),
            },
            Mechanism::CramMd5 if n == 0 && !challenge.is_empty() => {
                let digest = CramMd5Credentials::derive(PASSWORD).digest(challenge);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(response.as_deref().ok(), Some(format!("user {hex}").as_bytes()));
            }
            Mechanism::CramMd5 => assert!(response.is_err()),
            _ => {}
        }
        match response {
            Ok(r) => responses.push(r),
            Err(_) => break,
        }
    }
    // A SCRAM server proves it knows the password with a signature over the client's random
    // nonce: arbitrary challenges cannot.
    if mechanism.scram_hash().is_some() {
        assert!(client.finish().is_err(), "{mechanism} accepted an unproven server");
    }
    responses
}

/// `tls-server-end-point` from arbitrary "certificate" bytes: a binding, when made, is a hash
/// of the certificate (SHA-256, -384 or -512 by its signature algorithm, RFC 5929 §4.1).
pub fn certificate(data: &[u8]) -> Option<usize> {
    let binding = ChannelBinding::tls_server_end_point(data).ok()?;
    assert_eq!(binding.kind(), ChannelBindingType::TlsServerEndPoint);
    let len = binding.data().len();
    let hash = match len {
        32 => &ring::digest::SHA256,
        48 => &ring::digest::SHA384,
        64 => &ring::digest::SHA512,
        _ => panic!("binding of {len} bytes"),
    };
    assert_eq!(
        binding.data(),
        ring::digest::digest(hash, data).as_ref(),
        "not the hash of the certificate"
    );
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_round_trips_and_refuses_changes() {
        // 7 password mechanisms, matching and changed password each, 2 -PLUS bound to another
        // channel, and EXTERNAL.
        const ALL: usize = 7 * 2 + 2 + 1;
        for input in [
            &b"user\npencil"[..],
            // SCRAM escapes , and = in usernames (RFC 5802 §5.1); PLAIN passes spaces.
            "a,b=c d@example.org\nwith space".as_bytes(),
            // Non-ASCII, and a password SASLprep changes (soft hyphen mapped to nothing,
            // non-ASCII space to space, RFC 4013 §2).
            "rené\npass\u{ad}word\u{a0}é".as_bytes(),
            // One-letter username; spaces around the password are kept.
            "u\n p ".as_bytes(),
        ] {
            assert_eq!(exchange(input), ALL, "{:?}", String::from_utf8_lossy(input));
        }
        // (The last: a password SASLprep maps to nothing, found by this fuzz target.)
        let mapped_to_nothing = "r\n\u{34f}".as_bytes();
        for unusable in [
            &b"no newline"[..],
            b"\npassword",
            b"us\0er\npw",
            b"user\n",
            b"user\n\xff",
            mapped_to_nothing,
        ] {
            assert_eq!(exchange(unusable), 0, "{unusable:?}");
        }
        // SASLprep refuses unassigned code points and control characters.
        assert_eq!(exchange("user\npass\u{7}".as_bytes()), 0);
    }

    #[test]
    fn server_authenticates_only_with_the_password() {
        let plain = Mechanism::ALL.iter().position(|&m| m == Mechanism::Plain).unwrap() as u8;
        let login = Mechanism::ALL.iter().position(|&m| m == Mechanism::Login).unwrap() as u8;
        let scram = Mechanism::ALL.iter().position(|&m| m == Mechanism::ScramSha256).unwrap() as u8;
        let who = server(&[&[plain][..], b"\0user\0pencil"].concat()).unwrap();
        assert_eq!(who.username, "user");
        assert!(server(&[&[plain][..], b"\0user\0pencils"].concat()).is_none());
        assert_eq!(server(&[&[login][..], b"bob\npencil"].concat()).unwrap().username, "bob");
        assert!(server(&[&[login][..], b"bob\npenci1"].concat()).is_none());
        assert!(
            server(&[&[scram][..], b"n,,n=user,r=abc\nc=biws,r=abc,p=AAAA\n\n"].concat()).is_none()
        );
        for pick in 0..8u8 {
            let data = [&[pick][..], b"n,,n=user,r=abc\nc=biws,r=abc,p=AAAA\n\n"].concat();
            assert!(server(&data).is_none());
        }
    }

    #[test]
    fn client_answers_as_the_mechanism_defines() {
        let pick = |m| Mechanism::ALL.iter().position(|&x| x == m).unwrap() as u8;
        let login =
            client(&[&[pick(Mechanism::Login)][..], b"Username:\nPassword:\nmore"].concat());
        assert_eq!(login, [b"user".to_vec(), b"pencil".to_vec()]);
        let cram = client(&[&[pick(Mechanism::CramMd5)][..], b"<1.2@example>"].concat());
        assert_eq!(cram.len(), 1);
        assert!(cram[0].starts_with(b"user ") && cram[0].len() == 5 + 32);
        // A SCRAM server-first with another nonce is refused, and finish() fails.
        let scram = client(&[&[pick(Mechanism::ScramSha256)][..], b"r=other,s=QUJD,i=1"].concat());
        assert!(scram.is_empty());
        assert!(client(&[]).is_empty());
    }

    #[test]
    fn certificate_bindings_are_hashes() {
        assert_eq!(certificate(&[0x30, 0x03, 0x30, 0x01]), None);
        assert_eq!(certificate(&[]), None);
        for (algorithm, len) in
            [(&rcgen::PKCS_ECDSA_P256_SHA256, 32), (&rcgen::PKCS_ECDSA_P384_SHA384, 48)]
        {
            let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["mail.example.org".to_string()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            assert_eq!(certificate(cert.der()), Some(len));
        }
    }
}
