//! Every mechanism end to end, client against server: the RFC example exchanges replayed from
//! testdata/sasl, round trips, wrong passwords, tampering and channel-binding mismatches.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sasl::{
    Authenticated, ChannelBinding, ChannelBindingType, Client, ClientChannelBinding, ClientError,
    CramMd5Credentials, DeriveParams, Mechanism, ScramCredentials, ScramHash, Secret, Server,
    ServerError, ServerOptions, ServerStep, StoredCredentials,
};

#[derive(Debug, PartialEq)]
enum Outcome {
    Authenticated(Authenticated),
    External(Option<String>),
}

#[derive(Debug, PartialEq)]
enum Failure {
    Client(ClientError),
    Server(ServerError),
}

type Transcript = Vec<(char, Vec<u8>)>;

/// Runs an exchange; `tamper` may change each server challenge on its way to the client.
fn exchange_with(
    client: &mut Client,
    server: &mut Server,
    stored: Option<&StoredCredentials>,
    mut tamper: impl FnMut(&mut Vec<u8>),
) -> (Result<Outcome, Failure>, Transcript) {
    let mut log = Vec::new();
    let mut response = client.initial_response();
    if let Some(r) = &response {
        log.push(('C', r.clone()));
    }
    for _ in 0..10 {
        let step = match server.step(response.as_deref()) {
            Ok(ServerStep::NeedCredentials { .. }) => server.credentials(stored),
            other => other,
        };
        match step {
            Err(e) => return (Err(Failure::Server(e)), log),
            Ok(ServerStep::Challenge(mut challenge)) => {
                tamper(&mut challenge);
                log.push(('S', challenge.clone()));
                match client.step(&challenge) {
                    Ok(r) => {
                        log.push(('C', r.clone()));
                        response = Some(r);
                    }
                    Err(e) => return (Err(Failure::Client(e)), log),
                }
            }
            Ok(ServerStep::Authenticated(who)) => {
                return match client.finish() {
                    Ok(()) => (Ok(Outcome::Authenticated(who)), log),
                    Err(e) => (Err(Failure::Client(e)), log),
                };
            }
            Ok(ServerStep::External { authzid }) => return (Ok(Outcome::External(authzid)), log),
            Ok(ServerStep::NeedCredentials { .. }) => panic!("credentials asked twice"),
        }
    }
    panic!("exchange did not end");
}

fn exchange(
    client: &mut Client,
    server: &mut Server,
    stored: Option<&StoredCredentials>,
) -> (Result<Outcome, Failure>, Transcript) {
    exchange_with(client, server, stored, |_| {})
}

fn cheap() -> DeriveParams {
    DeriveParams {
        scram_iterations: NonZeroU32::new(4096).unwrap(),
        argon2_memory_kib: 64,
        argon2_passes: 1,
    }
}

fn stored(password: &str) -> StoredCredentials {
    StoredCredentials::derive_with(password, &cheap()).unwrap()
}

fn options(channel_bindings: Vec<ChannelBinding>) -> ServerOptions {
    ServerOptions { hostname: "mail.example.org".into(), channel_bindings }
}

fn authenticated(username: &str) -> Result<Outcome, Failure> {
    Ok(Outcome::Authenticated(Authenticated { username: username.into(), authzid: None }))
}

/// The RFC example exchanges, byte for byte, from testdata/sasl/*.txt.
#[test]
fn rfc_example_exchanges_replay() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sasl");
    let mut replayed = 0;
    for name in ["rfc5802-section5.txt", "rfc7677-section3.txt", "rfc2195-section2.txt"] {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        let mut fields = std::collections::HashMap::new();
        let mut expected: Transcript = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some(message) = line.strip_prefix("C: ") {
                expected.push(('C', message.as_bytes().to_vec()));
            } else if let Some(message) = line.strip_prefix("S: ") {
                expected.push(('S', message.as_bytes().to_vec()));
            } else if let Some((key, value)) = line.split_once(": ") {
                fields.insert(key, value);
            }
        }
        let mechanism = Mechanism::from_name(fields["mechanism"]).unwrap();
        let password = fields["password"];
        let mut credentials = StoredCredentials::default();
        if let Some(hash) = mechanism.scram_hash() {
            let salt = BASE64.decode(fields["salt"]).unwrap();
            let iterations = NonZeroU32::new(fields["iterations"].parse().unwrap()).unwrap();
            let scram = ScramCredentials::derive(hash, password, &salt, iterations).unwrap();
            match hash {
                ScramHash::Sha1 => credentials.scram_sha1 = Some(scram),
                _ => credentials.scram_sha256 = Some(scram),
            }
        } else {
            credentials.cram_md5 = Some(CramMd5Credentials::derive(password));
        }
        let mut client =
            Client::new(mechanism, fields["username"], Secret::from(password), None).unwrap();
        if let Some(nonce) = fields.get("client-nonce") {
            client = client.with_nonce(nonce);
        }
        let mut server =
            Server::new(mechanism, options(vec![])).unwrap().with_nonce(fields["server-nonce"]);
        let (outcome, mut log) = exchange(&mut client, &mut server, Some(&credentials));
        assert_eq!(outcome, authenticated(fields["username"]), "{name}");
        // The RFCs do not show the client's empty acknowledgement of server-final-message.
        log.retain(|(_, m)| !m.is_empty());
        let show = |t: &Transcript| {
            t.iter()
                .map(|(s, m)| format!("{s}: {}", String::from_utf8_lossy(m)))
                .collect::<Vec<_>>()
        };
        assert_eq!(show(&log), show(&expected), "{name}");
        replayed += 1;
    }
    assert_eq!(replayed, 3);
}

#[test]
fn every_password_mechanism_round_trips_and_rejects_wrong_passwords() {
    let credentials = stored("pencil");
    let binding = ChannelBinding::tls_exporter(vec![42; 32]);
    for mechanism in Mechanism::PREFERENCE {
        let opts = || options(vec![binding.clone()]);
        let cb = mechanism.is_plus().then(|| binding.clone());

        let mut client =
            Client::new(mechanism, "user", Secret::from("pencil"), cb.clone()).unwrap();
        let mut server = Server::new(mechanism, opts()).unwrap();
        let (outcome, log) = exchange(&mut client, &mut server, Some(&credentials));
        assert_eq!(outcome, authenticated("user"), "{mechanism}");
        // The password never crosses the wire except with PLAIN and LOGIN.
        let wire = log.iter().flat_map(|(_, m)| m.clone()).collect::<Vec<u8>>();
        let reveals = wire.windows(6).any(|w| w == b"pencil");
        assert_eq!(reveals, mechanism.reveals_password(), "{mechanism}");

        let mut client =
            Client::new(mechanism, "user", Secret::from("pencil2"), cb.clone()).unwrap();
        let mut server = Server::new(mechanism, opts()).unwrap();
        let (outcome, _) = exchange(&mut client, &mut server, Some(&credentials));
        assert_eq!(
            outcome,
            Err(Failure::Server(ServerError::InvalidCredentials { mechanism })),
            "{mechanism}"
        );

        // Unknown user: the same error as a wrong password.
        let mut client = Client::new(mechanism, "nobody", Secret::from("pencil"), cb).unwrap();
        let mut server = Server::new(mechanism, opts()).unwrap();
        let (outcome, _) = exchange(&mut client, &mut server, None);
        assert_eq!(
            outcome,
            Err(Failure::Server(ServerError::InvalidCredentials { mechanism })),
            "{mechanism}"
        );
    }
}

#[test]
fn saslprep_makes_equivalent_passwords_match() {
    // U+2168 ROMAN NUMERAL NINE normalizes (NFKC) to "IX"; U+00AD SOFT HYPHEN maps to nothing.
    let credentials = stored("I\u{00AD}X");
    for mechanism in
        [Mechanism::ScramSha256, Mechanism::ScramSha1, Mechanism::Plain, Mechanism::Login]
    {
        let mut client = Client::new(mechanism, "user", Secret::from("\u{2168}"), None).unwrap();
        let mut server = Server::new(mechanism, options(vec![])).unwrap();
        assert_eq!(
            exchange(&mut client, &mut server, Some(&credentials)).0,
            authenticated("user"),
            "{mechanism}"
        );
    }
}

#[test]
fn tampered_server_signature_is_refused() {
    let credentials = stored("pencil");
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let mut client =
            Client::scram(hash, "user", Secret::from("pencil"), ClientChannelBinding::Unsupported);
        let mut server = Server::new(Mechanism::scram(hash, false), options(vec![])).unwrap();
        let tamper = |challenge: &mut Vec<u8>| {
            if let Some(v) = challenge.strip_prefix(b"v=") {
                let mut signature = BASE64.decode(v).unwrap();
                signature[0] ^= 1;
                *challenge = format!("v={}", BASE64.encode(signature)).into_bytes();
            }
        };
        let (outcome, _) = exchange_with(&mut client, &mut server, Some(&credentials), tamper);
        let mechanism = Mechanism::scram(hash, false);
        assert_eq!(
            outcome,
            Err(Failure::Client(ClientError::ServerSignatureMismatch { mechanism }))
        );
    }
}

#[test]
fn server_error_and_missing_verifier_are_refused_by_the_client() {
    let mut client = Client::scram(
        ScramHash::Sha256,
        "user",
        Secret::from("pencil"),
        ClientChannelBinding::Unsupported,
    );
    let first = client.initial_response().unwrap();
    let nonce = String::from_utf8(first).unwrap().rsplit_once("r=").unwrap().1.to_string();
    client.step(format!("r={nonce}xyz,s=QSXCR+Q6sek8bf92,i=4096").as_bytes()).unwrap();
    // A server (or impostor) that reports success without v= is not believed.
    assert_eq!(
        client.finish(),
        Err(ClientError::ServerNotVerified { mechanism: Mechanism::ScramSha256 })
    );
    assert_eq!(
        client.step(b"e=invalid-proof"),
        Err(ClientError::ServerError {
            mechanism: Mechanism::ScramSha256,
            value: "invalid-proof".into()
        })
    );
}

#[test]
fn client_refuses_foreign_nonce_and_huge_iteration_counts() {
    let mechanism = Mechanism::ScramSha256;
    let mut client =
        Client::new(mechanism, "user", Secret::from("pencil"), None).unwrap().with_nonce("abc");
    client.initial_response();
    assert_eq!(
        client.step(b"r=xyz123,s=QQ==,i=4096"),
        Err(ClientError::NonceMismatch { mechanism })
    );

    let mut client =
        Client::new(mechanism, "user", Secret::from("pencil"), None).unwrap().with_nonce("abc");
    client.initial_response();
    assert_eq!(
        client.step(b"r=abc123,s=QQ==,i=99999999999"),
        Err(ClientError::IterationCount { mechanism, iterations: 99999999999 })
    );
    let mut client =
        Client::new(mechanism, "user", Secret::from("pencil"), None).unwrap().with_nonce("abc");
    client.initial_response();
    assert!(matches!(
        client.step(b"r=abc123,s=,i=4096"),
        Err(ClientError::MalformedChallenge { .. })
    ));
}

#[test]
fn channel_binding_mismatch_is_detected() {
    let credentials = stored("pencil");
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let mechanism = Mechanism::scram(hash, true);
        // A man in the middle terminates TLS: client and server see different channels.
        let client_side = ChannelBinding::tls_exporter(vec![1; 32]);
        let server_side = ChannelBinding::tls_exporter(vec![2; 32]);
        let mut client = Client::scram(
            hash,
            "user",
            Secret::from("pencil"),
            ClientChannelBinding::Bind(client_side),
        );
        let mut server = Server::new(mechanism, options(vec![server_side])).unwrap();
        let (outcome, _) = exchange(&mut client, &mut server, Some(&credentials));
        assert_eq!(
            outcome,
            Err(Failure::Server(ServerError::ChannelBindingMismatch { mechanism }))
        );
    }
}

#[test]
fn channel_binding_type_must_be_offered() {
    let credentials = stored("pencil");
    let mechanism = Mechanism::ScramSha256Plus;
    let mut client = Client::scram(
        ScramHash::Sha256,
        "user",
        Secret::from("pencil"),
        ClientChannelBinding::Bind(ChannelBinding::new(
            ChannelBindingType::TlsServerEndPoint,
            vec![1; 32],
        )),
    );
    let mut server =
        Server::new(mechanism, options(vec![ChannelBinding::tls_exporter(vec![1; 32])])).unwrap();
    let (outcome, _) = exchange(&mut client, &mut server, Some(&credentials));
    assert_eq!(
        outcome,
        Err(Failure::Server(ServerError::ChannelBindingUnsupported {
            mechanism,
            requested: "tls-server-end-point".into()
        }))
    );

    // tls-server-end-point works when both sides use it.
    let cb = ChannelBinding::new(ChannelBindingType::TlsServerEndPoint, vec![9; 32]);
    let mut client = Client::scram(
        ScramHash::Sha256,
        "user",
        Secret::from("pencil"),
        ClientChannelBinding::Bind(cb.clone()),
    );
    let mut server =
        Server::new(mechanism, options(vec![ChannelBinding::tls_exporter(vec![1; 32]), cb]))
            .unwrap();
    assert_eq!(exchange(&mut client, &mut server, Some(&credentials)).0, authenticated("user"));
}

#[test]
fn stripped_plus_offer_is_detected_as_downgrade() {
    let credentials = stored("pencil");
    let mechanism = Mechanism::ScramSha256;
    // The client could bind but saw no -PLUS offer: it says so with "y".
    let mut client = Client::scram(
        ScramHash::Sha256,
        "user",
        Secret::from("pencil"),
        ClientChannelBinding::ServerLacksSupport,
    );
    let mut server =
        Server::new(mechanism, options(vec![ChannelBinding::tls_exporter(vec![1; 32])])).unwrap();
    let (outcome, _) = exchange(&mut client, &mut server, Some(&credentials));
    assert_eq!(outcome, Err(Failure::Server(ServerError::Downgrade { mechanism })));

    // Without channel binding on the server, "y" is fine.
    let mut client = Client::scram(
        ScramHash::Sha256,
        "user",
        Secret::from("pencil"),
        ClientChannelBinding::ServerLacksSupport,
    );
    let mut server = Server::new(mechanism, options(vec![])).unwrap();
    assert_eq!(exchange(&mut client, &mut server, Some(&credentials)).0, authenticated("user"));
}

#[test]
fn plus_needs_channel_binding_on_both_sides() {
    assert_eq!(
        Client::new(Mechanism::ScramSha1Plus, "user", Secret::from("pencil"), None).unwrap_err(),
        ClientError::ChannelBindingRequired { mechanism: Mechanism::ScramSha1Plus }
    );
    assert!(matches!(
        Server::new(Mechanism::ScramSha256Plus, options(vec![])),
        Err(ServerError::ChannelBindingUnsupported { .. })
    ));
    // A -PLUS server does not accept an unbound client-first-message.
    let mut server = Server::new(
        Mechanism::ScramSha256Plus,
        options(vec![ChannelBinding::tls_exporter(vec![1; 32])]),
    )
    .unwrap();
    assert!(matches!(
        server.step(Some(b"n,,n=user,r=abc")),
        Err(ServerError::ChannelBindingUnsupported { .. })
    ));
}

#[test]
fn protocols_without_initial_response() {
    // The server asks with an empty challenge (or "Username:" for LOGIN); the client answers.
    let credentials = stored("pencil");
    for mechanism in
        [Mechanism::Plain, Mechanism::Login, Mechanism::ScramSha256, Mechanism::CramMd5]
    {
        let mut client = Client::new(mechanism, "user", Secret::from("pencil"), None).unwrap();
        let mut server = Server::new(mechanism, options(vec![])).unwrap();
        let mut response = None;
        let mut done = false;
        for _ in 0..6 {
            let step = match server.step(response.as_deref()).unwrap() {
                ServerStep::NeedCredentials { .. } => {
                    server.credentials(Some(&credentials)).unwrap()
                }
                other => other,
            };
            match step {
                ServerStep::Challenge(c) => response = Some(client.step(&c).unwrap()),
                ServerStep::Authenticated(who) => {
                    assert_eq!(who.username, "user");
                    client.finish().unwrap();
                    done = true;
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(done, "{mechanism}");
    }
}

#[test]
fn cram_md5_challenge_has_hostname_and_is_fresh() {
    let mut a = Server::new(Mechanism::CramMd5, options(vec![])).unwrap();
    let mut b = Server::new(Mechanism::CramMd5, options(vec![])).unwrap();
    let (ServerStep::Challenge(a), ServerStep::Challenge(b)) =
        (a.step(None).unwrap(), b.step(None).unwrap())
    else {
        panic!()
    };
    let a = String::from_utf8(a).unwrap();
    assert!(a.starts_with('<') && a.ends_with("@mail.example.org>"), "{a}");
    assert_ne!(a.as_bytes(), b.as_slice());
}

#[test]
fn plain_authzid_and_external() {
    let credentials = stored("pencil");
    let mut client = Client::plain_as("admin", "user", Secret::from("pencil"));
    let mut server = Server::new(Mechanism::Plain, options(vec![])).unwrap();
    assert_eq!(
        exchange(&mut client, &mut server, Some(&credentials)).0,
        Ok(Outcome::Authenticated(Authenticated {
            username: "user".into(),
            authzid: Some("admin".into())
        }))
    );

    let mut client = Client::external(Some("user@example.org"));
    let mut server = Server::new(Mechanism::External, options(vec![])).unwrap();
    assert_eq!(
        exchange(&mut client, &mut server, None).0,
        Ok(Outcome::External(Some("user@example.org".into())))
    );
    let mut client = Client::external(None);
    let mut server = Server::new(Mechanism::External, options(vec![])).unwrap();
    assert_eq!(exchange(&mut client, &mut server, None).0, Ok(Outcome::External(None)));
}

#[test]
fn malformed_responses_end_the_exchange_with_errors() {
    let cases: [(Mechanism, &[u8]); 7] = [
        (Mechanism::Plain, b"user\0pencil"),
        (Mechanism::Plain, b"\0\0pencil"),
        (Mechanism::Plain, b"a\0b\0c\0d"),
        (Mechanism::ScramSha256, b"n,,n=user"),
        (Mechanism::ScramSha256, b"q,,n=user,r=abc"),
        (Mechanism::ScramSha256, b"n,,m=ext,n=user,r=abc"),
        (Mechanism::CramMd5, b"tim 1234"),
    ];
    for (mechanism, response) in cases {
        let mut server = Server::new(mechanism, options(vec![])).unwrap();
        if mechanism == Mechanism::CramMd5 {
            server.step(None).unwrap();
        }
        let result = server.step(Some(response));
        assert!(result.is_err(), "{mechanism} {response:?}: {result:?}");
        // Once failed, the exchange stays failed.
        assert!(server.step(Some(b"again")).is_err());
    }
    // Credentials nobody asked for.
    let mut server = Server::new(Mechanism::Plain, options(vec![])).unwrap();
    assert!(matches!(server.credentials(None), Err(ServerError::OutOfOrder { .. })));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let mut client = Client::new(Mechanism::Plain, "user", Secret::from("pencil"), None).unwrap();
    let mut server = Server::new(Mechanism::Plain, options(vec![])).unwrap();
    let response = client.initial_response();
    server.step(response.as_deref()).unwrap();
    let debug = format!("{client:?} {server:?} {:?}", stored("pencil"));
    assert!(!debug.contains("pencil"), "{debug}");
}

/// Found by the `sasl_exchange` fuzz target: a password of characters SASLprep maps to nothing
/// (U+034F COMBINING GRAPHEME JOINER, U+00AD SOFT HYPHEN) was stored, but PLAIN cannot carry the
/// empty password it prepares to, so it could never be used. It is refused when set.
#[test]
fn regression_password_empty_after_saslprep_is_refused() {
    for password in ["\u{34f}", "\u{ad}", "\u{ad}\u{34f}", ""] {
        let e = StoredCredentials::derive_with(password, &cheap()).unwrap_err();
        assert_eq!(e, sasl::CredentialsError::Empty, "{password:?}");
    }
    // Mapped characters around others are fine.
    assert!(StoredCredentials::derive_with("\u{ad}x\u{34f}", &cheap()).is_ok());
}
