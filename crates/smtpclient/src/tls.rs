//! TLS for the client: rustls configurations for each verification policy, and the channel
//! binding of an established connection.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sasl::ChannelBinding;

/// How the server's certificate is checked.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TlsVerification {
    /// Against the Mozilla root CAs (webpki-roots) and the server name: for submission and
    /// anything where a wrong certificate must stop the session.
    WebPki,
    /// Against these roots: a private CA, or a test certificate.
    Roots(Arc<RootCertStore>),
    /// Not at all: TLS still protects against passive eavesdropping. For opportunistic
    /// STARTTLS to MX hosts (RFC 7435), where plaintext is the alternative.
    Opportunistic,
}

/// A TLS client certificate and its key, for servers that authenticate clients by
/// certificate (SASL EXTERNAL).
#[derive(Debug)]
pub struct ClientCertificate {
    /// The certificate chain, end-entity first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

/// A rustls client configuration (ring provider, TLS 1.2 and 1.3) for a verification policy.
pub fn client_config(
    verification: &TlsVerification,
    client_certificate: Option<ClientCertificate>,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match verification {
        TlsVerification::WebPki => builder.with_root_certificates(RootCertStore::from_iter(
            webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
        )),
        TlsVerification::Roots(roots) => builder.with_root_certificates(roots.clone()),
        TlsVerification::Opportunistic => builder.dangerous().with_custom_certificate_verifier(
            Arc::new(AcceptAnyCertificate(provider.signature_verification_algorithms)),
        ),
    };
    let config = match client_certificate {
        Some(ClientCertificate { chain, key }) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The server name for SNI and verification, from a host name or IP address.
pub fn server_name(
    host: &str,
) -> Result<ServerName<'static>, rustls::pki_types::InvalidDnsNameError> {
    ServerName::try_from(host.trim_end_matches('.').to_string())
}

/// The channel binding for SCRAM-PLUS on an established connection: `tls-exporter` with TLS 1.3
/// (RFC 9266), `tls-server-end-point` with TLS 1.2 (RFC 5929; RFC 9266 §3 rules out
/// tls-exporter there unless extended master secret is certain). `None` when neither can be
/// had, e.g. TLS 1.2 with an Ed25519 server certificate.
pub fn channel_binding(connection: &rustls::ClientConnection) -> Option<ChannelBinding> {
    match connection.protocol_version()? {
        rustls::ProtocolVersion::TLSv1_3 => {
            let data = connection
                .export_keying_material(
                    [0u8; sasl::TLS_EXPORTER_LENGTH],
                    sasl::TLS_EXPORTER_LABEL,
                    None,
                )
                .ok()?;
            Some(ChannelBinding::tls_exporter(data.to_vec()))
        }
        _ => {
            let certificate = connection.peer_certificates()?.first()?;
            ChannelBinding::tls_server_end_point(certificate.as_ref()).ok()
        }
    }
}

/// Accepts any certificate, but still checks that the server holds the key of the certificate
/// it sent (the handshake signature), so the session keys are not trivially forged.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The crypto provider (ring) our configurations use, for callers building their own.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
