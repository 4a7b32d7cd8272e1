//! Submitting a prepared message with the configured server, TLS and credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use smtpclient::{
    AuthConfig, Client, ClientCertificate, ClientOptions, Envelope, SessionConfig, Timeouts,
    TlsMode, TlsVerification,
};

use crate::compose::Prepared;
use crate::config::{RequireTls, SubmitConfig};
use crate::error::SubmitError;

/// The whole submission may take this long; cron should not hang on a dead server.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(180);

/// Where trusted CA certificates come from, besides the Mozilla roots compiled in.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoots {
    /// PEM files with more trusted certificates: `$SSL_CERT_FILE` if set, else the system
    /// bundle (`/etc/ssl/certs/ca-certificates.crt`) if present.
    pub pem_files: Vec<PathBuf>,
}

impl TrustedRoots {
    /// `$SSL_CERT_FILE` (as OpenSSL and others honour it), or the Debian system bundle.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> TrustedRoots {
        let file =
            env("SSL_CERT_FILE").filter(|f| !f.is_empty()).map(PathBuf::from).or_else(|| {
                let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
                system.exists().then(|| system.to_path_buf())
            });
        TrustedRoots { pem_files: file.into_iter().collect() }
    }
}

/// Submits `prepared` as `config` says: TLS or STARTTLS, certificate verification unless
/// TLSInsecureSkipVerify, AUTH with AuthMethod or the strongest mechanism offered, REQUIRETLS
/// for `RequireTLS: yes`. Succeeds only if every recipient was accepted.
pub async fn submit(
    config: &SubmitConfig,
    prepared: &Prepared,
    roots: &TrustedRoots,
) -> Result<(), SubmitError> {
    let setting = |key: &'static str, reason: String| SubmitError::Setting { key, reason };
    let hostname = dns::Domain::parse(&config.local_hostname)
        .map_err(|e| setting("LocalHostname", e.to_string()))?;
    if config.host.is_empty() {
        return Err(setting("Host", "empty".into()));
    }
    if config.port == 0 {
        return Err(setting("Port", "must not be 0".into()));
    }
    let tls = match (config.tls, config.starttls) {
        (true, _) => TlsMode::Implicit,
        (false, true) => TlsMode::StartTls,
        (false, false) => TlsMode::Plaintext,
    };
    let require_tls = config.require_tls == RequireTls::Yes;
    if require_tls && (tls == TlsMode::Plaintext || config.tls_insecure_skip_verify) {
        return Err(setting(
            "RequireTLS",
            "yes needs verified TLS: set TLS or STARTTLS, and not TLSInsecureSkipVerify".into(),
        ));
    }
    let verification = if config.tls_insecure_skip_verify {
        TlsVerification::Opportunistic
    } else {
        TlsVerification::Roots(Arc::new(root_store(roots)?))
    };
    let client_certificate = client_certificate(config)?;
    let has_client_certificate = client_certificate.is_some();
    let tls_config = smtpclient::tls::client_config(&verification, client_certificate)
        .map_err(|e| setting("ClientAuthCertPrivateKeyPEMFile", e.to_string()))?;
    let mechanism = match config.auth_method.as_str() {
        "" if has_client_certificate && config.password.is_empty() => {
            Some(sasl::Mechanism::External)
        }
        "" => None,
        name => Some(
            sasl::Mechanism::from_name(name)
                .ok_or_else(|| setting("AuthMethod", format!("unknown mechanism {name:?}")))?,
        ),
    };
    let auth = (!config.username.is_empty() || mechanism.is_some()).then(|| AuthConfig {
        username: config.username.clone(),
        password: config.password.clone().into(),
        mechanism,
        allow_password_without_tls: false,
    });
    let server_name =
        smtpclient::tls::server_name(&config.host).map_err(|e| setting("Host", e.to_string()))?;
    let mut timeouts = Timeouts::all(Duration::from_secs(60));
    timeouts.connect = Duration::from_secs(30);
    timeouts.data_termination = Duration::from_secs(120);
    let options = ClientOptions {
        session: SessionConfig { hostname, tls, auth, timeouts },
        tls: tls_config,
        server_name,
    };

    let mut envelope = Envelope::new(Some(prepared.from.clone()), prepared.recipients.clone());
    envelope.size = Some(prepared.message.len() as u64);
    envelope.eight_bit = prepared.message.iter().any(|&b| b >= 0x80);
    envelope.require_tls = require_tls;

    let submission = async {
        let mut client = Client::connect(&config.host, config.port, options).await?;
        let delivery = client.deliver(&envelope, &prepared.message[..]).await?;
        if let Some(failed) = delivery.failed().next() {
            return Err(SubmitError::Refused {
                recipient: failed.address.to_string(),
                reply: failed.reply.to_string(),
            });
        }
        if let Err(e) = client.quit().await {
            // The message was accepted; a failing QUIT changes nothing.
            tracing::debug!(error = %e, "QUIT after submission");
        }
        Ok(())
    };
    tokio::time::timeout(SUBMIT_TIMEOUT, submission)
        .await
        .map_err(|_| SubmitError::Timeout(SUBMIT_TIMEOUT))?
}

fn root_store(roots: &TrustedRoots) -> Result<rustls::RootCertStore, SubmitError> {
    let mut store =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for file in &roots.pem_files {
        let certificates = CertificateDer::pem_file_iter(file)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| SubmitError::Setting {
                key: "SSL_CERT_FILE",
                reason: format!("{}: {e}", file.display()),
            })?;
        // Bundles hold certificates rustls cannot use (old formats): skip those, keep the rest.
        store.add_parsable_certificates(certificates);
    }
    Ok(store)
}

/// The TLS client certificate from ClientAuthCertPrivateKeyPEMFile or
/// ClientAuthEd25519PrivateKey, if either is set.
fn client_certificate(config: &SubmitConfig) -> Result<Option<ClientCertificate>, SubmitError> {
    let pem_file = &config.client_auth_cert_private_key_pem_file;
    let ed25519 = &config.client_auth_ed25519_private_key;
    let key = if !pem_file.is_empty() {
        "ClientAuthCertPrivateKeyPEMFile"
    } else {
        "ClientAuthEd25519PrivateKey"
    };
    let setting = |reason: String| SubmitError::Setting { key, reason };
    match (pem_file.is_empty(), ed25519.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Err(setting(
            "set only one of ClientAuthCertPrivateKeyPEMFile and ClientAuthEd25519PrivateKey"
                .into(),
        )),
        (false, true) => {
            let pem = std::fs::read(pem_file).map_err(|e| setting(format!("{pem_file}: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(&pem)
                .map_err(|e| setting(format!("{pem_file}: private key: {e}")))?;
            let chain = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| setting(format!("{pem_file}: certificate: {e}")))?;
            if chain.is_empty() {
                return Err(setting(format!("{pem_file}: no certificate")));
            }
            Ok(Some(ClientCertificate { chain, key }))
        }
        (true, false) => {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(ed25519.trim_end_matches('='))
                .map_err(|e| setting(format!("not raw-url-base64: {e}")))?;
            // Go's ed25519.PrivateKey is the 32-byte seed followed by the public key.
            let seed: [u8; 32] = match bytes.len() {
                32 | 64 => bytes[..32].try_into().map_err(|_| setting("bad key length".into()))?,
                n => {
                    return Err(setting(format!(
                        "expected a 32 or 64 byte ed25519 key, got {n} bytes"
                    )));
                }
            };
            // PKCS#8 v1 (RFC 8410 §7) around the seed.
            let mut pkcs8 = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            pkcs8.extend_from_slice(&seed);
            let der = rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8);
            let keypair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ED25519)
                .map_err(|e| setting(format!("ed25519 key: {e}")))?;
            let mut params = rcgen::CertificateParams::default();
            params.distinguished_name.push(rcgen::DnType::CommonName, "mox-sendmail");
            let certificate = params
                .self_signed(&keypair)
                .map_err(|e| setting(format!("composing certificate: {e}")))?;
            Ok(Some(ClientCertificate {
                chain: vec![certificate.der().clone()],
                key: PrivateKeyDer::Pkcs8(der),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificate_from_ed25519_seed_and_pem_file() {
        let mut config = SubmitConfig::default();
        assert!(client_certificate(&config).unwrap().is_none());
        config.client_auth_ed25519_private_key =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 64]);
        let certificate = client_certificate(&config).unwrap().unwrap();
        assert_eq!(certificate.chain.len(), 1);
        // The certificate carries the key's public half (as ring derives it from the seed).
        let keypair = rcgen::KeyPair::try_from(certificate.key.secret_der()).unwrap();
        let public = keypair.public_key_raw().to_vec();
        assert!(certificate.chain[0].as_ref().windows(32).any(|w| w == public.as_slice()));
        config.client_auth_ed25519_private_key = "short".into();
        assert!(client_certificate(&config).is_err());

        let dir = tempfile::tempdir().unwrap();
        let generated = rcgen::generate_simple_self_signed(vec!["client".into()]).unwrap();
        let file = dir.path().join("client.pem");
        std::fs::write(
            &file,
            format!("{}{}", generated.signing_key.serialize_pem(), generated.cert.pem()),
        )
        .unwrap();
        let mut config = SubmitConfig {
            client_auth_cert_private_key_pem_file: file.display().to_string(),
            ..Default::default()
        };
        let certificate = client_certificate(&config).unwrap().unwrap();
        assert_eq!(certificate.chain[0].as_ref(), generated.cert.der().as_ref());
        config.client_auth_ed25519_private_key = "x".into();
        assert!(client_certificate(&config).is_err());
    }
}
