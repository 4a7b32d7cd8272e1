//! SCRAM-SHA-256-PLUS over real TLS: the client's channel binding (from rustls) must equal
//! what a rustls server derives for the same connection: `tls-exporter` with TLS 1.3,
//! `tls-server-end-point` with TLS 1.2. The server side is the sasl crate's, fed by a small
//! SMTP responder with tokio-rustls; no independent SMTP server speaks SCRAM-PLUS here
//! (Dovecot 2.3 in Debian does not).

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use smtpclient::{
    AuthConfig, Client, ClientOptions, SessionConfig, Timeouts, TlsMode, TlsVerification,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Runs one session: STARTTLS, then AUTH with a sasl::Server bound to this TLS channel.
/// Returns the mechanism the client chose and the binding type used.
async fn plus_server(
    versions: &'static [&'static rustls::SupportedProtocolVersion],
) -> (u16, rustls::RootCertStore, tokio::task::JoinHandle<(String, Option<sasl::ChannelBindingType>)>)
{
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_der = certified.cert.der().clone();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der.clone()).unwrap();
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert_der.clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        tcp.write_all(b"220 plus.test ESMTP\r\n").await.unwrap();
        let mut plain = BufReader::new(tcp);
        let mut line = String::new();
        plain.read_line(&mut line).await.unwrap(); // EHLO
        plain.get_mut().write_all(b"250-plus.test\r\n250 STARTTLS\r\n").await.unwrap();
        line.clear();
        plain.read_line(&mut line).await.unwrap();
        assert_eq!(line, "STARTTLS\r\n");
        plain.get_mut().write_all(b"220 go ahead\r\n").await.unwrap();
        let tls = acceptor.accept(plain.into_inner()).await.unwrap();
        let connection = tls.get_ref().1;
        let binding = match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => {
                let data = connection
                    .export_keying_material([0u8; 32], sasl::TLS_EXPORTER_LABEL, None)
                    .unwrap();
                sasl::ChannelBinding::tls_exporter(data.to_vec())
            }
            _ => sasl::ChannelBinding::tls_server_end_point(cert_der.as_ref()).unwrap(),
        };
        let kind = binding.kind();
        let mut tls = BufReader::new(tls);
        let read = async |tls: &mut BufReader<_>| {
            let mut line = String::new();
            tls.read_line(&mut line).await.unwrap();
            line.trim_end().to_string()
        };
        read(&mut tls).await; // EHLO again
        tls.get_mut()
            .write_all(b"250-plus.test\r\n250 AUTH SCRAM-SHA-256 SCRAM-SHA-256-PLUS PLAIN\r\n")
            .await
            .unwrap();
        let auth = read(&mut tls).await;
        let mut words = auth.split(' ');
        let (_, chosen, initial) =
            (words.next(), words.next().unwrap().to_string(), words.next().unwrap());
        let mechanism = sasl::Mechanism::from_name(&chosen).unwrap();
        let options =
            sasl::ServerOptions { hostname: "plus.test".into(), channel_bindings: vec![binding] };
        let mut server = sasl::Server::new(mechanism, options).unwrap();
        let stored = sasl::StoredCredentials::derive("pencil").unwrap();
        let mut response = Some(B64.decode(initial).unwrap());
        let used = loop {
            let step = match server.step(response.as_deref()) {
                Ok(sasl::ServerStep::NeedCredentials { .. }) => server.credentials(Some(&stored)),
                other => other,
            };
            match step {
                Ok(sasl::ServerStep::Challenge(c)) => {
                    tls.get_mut()
                        .write_all(format!("334 {}\r\n", B64.encode(c)).as_bytes())
                        .await
                        .unwrap();
                    response = Some(B64.decode(read(&mut tls).await).unwrap());
                }
                Ok(sasl::ServerStep::Authenticated(_)) => {
                    tls.get_mut().write_all(b"235 2.7.0 ok\r\n").await.unwrap();
                    break Some(kind);
                }
                Ok(other) => panic!("{other:?}"),
                Err(e) => {
                    tls.get_mut().write_all(format!("535 5.7.8 {e}\r\n").as_bytes()).await.unwrap();
                    break None;
                }
            }
        };
        read(&mut tls).await; // QUIT
        let _ = tls.get_mut().write_all(b"221 bye\r\n").await;
        (chosen, used)
    });
    (port, roots, task)
}

async fn connect(
    port: u16,
    roots: rustls::RootCertStore,
) -> Result<Client<tokio::net::TcpStream>, smtpclient::Error> {
    let options = ClientOptions {
        session: SessionConfig {
            hostname: dns::Domain::parse("client.example.org").unwrap(),
            tls: TlsMode::StartTls,
            auth: Some(AuthConfig {
                username: "user".into(),
                password: "pencil".into(),
                mechanism: None,
                allow_password_without_tls: false,
            }),
            timeouts: Timeouts::all(Duration::from_secs(10)),
        },
        tls: smtpclient::tls::client_config(&TlsVerification::Roots(Arc::new(roots)), None)
            .unwrap(),
        server_name: smtpclient::tls::server_name("localhost").unwrap(),
    };
    Client::connect("127.0.0.1", port, options).await
}

static TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
static TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

#[tokio::test]
async fn scram_plus_with_tls13_exporter() {
    let (port, roots, server) = plus_server(TLS13).await;
    let client = connect(port, roots).await.unwrap();
    assert_eq!(client.tls_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    client.quit().await.unwrap();
    let (chosen, used) = server.await.unwrap();
    assert_eq!(chosen, "SCRAM-SHA-256-PLUS");
    assert_eq!(used, Some(sasl::ChannelBindingType::TlsExporter));
}

#[tokio::test]
async fn scram_plus_with_tls12_server_end_point() {
    let (port, roots, server) = plus_server(TLS12).await;
    let client = connect(port, roots).await.unwrap();
    assert_eq!(client.tls_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    client.quit().await.unwrap();
    let (chosen, used) = server.await.unwrap();
    assert_eq!(chosen, "SCRAM-SHA-256-PLUS");
    assert_eq!(used, Some(sasl::ChannelBindingType::TlsServerEndPoint));
}
