//! TLS server configurations from a listener's key and certificate files (mox's
//! `TLS.KeyCerts`), with the certificate chosen by the name the client asks for (SNI), and a
//! self-signed certificate for `mox localserve`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedProtocolVersion};

/// A certificate chain file and its private key file, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCert {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// The lowest TLS version a listener accepts (mox's `MinVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MinVersion {
    /// TLS 1.2 and 1.3 (the default).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Why a TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No key/certificate pair was given.
    #[error("no key and certificate configured")]
    NoCertificates,
    /// rustls refused the key or configuration.
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// A certificate could not be generated.
    #[error("generating certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A rustls server configuration serving these pairs, choosing by SNI (the first pair when
/// the client sends no name or a name none of the certificates covers).
pub fn server_config(pairs: &[KeyCert], min: MinVersion) -> Result<Arc<ServerConfig>, TlsError> {
    let mut keys = Vec::with_capacity(pairs.len());
    for pair in pairs {
        keys.push(load_pair(pair)?);
    }
    server_config_for(keys, min)
}

/// A server configuration from certified keys already in memory.
pub fn server_config_for(
    keys: Vec<Arc<CertifiedKey>>,
    min: MinVersion,
) -> Result<Arc<ServerConfig>, TlsError> {
    if keys.is_empty() {
        return Err(TlsError::NoCertificates);
    }
    let versions: &[&SupportedProtocolVersion] = match min {
        MinVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        MinVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySni { keys }));
    // The SMTP and IMAP servers export keying material for SCRAM-PLUS (tls-exporter).
    config.send_tls13_tickets = 1;
    Ok(Arc::new(config))
}

/// Reads a certificate chain and key into a rustls certified key.
pub fn load_pair(pair: &KeyCert) -> Result<Arc<CertifiedKey>, TlsError> {
    let file_err = |path: &Path, reason: String| TlsError::File { path: path.into(), reason };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pair.cert_file)
        .map_err(|e| file_err(&pair.cert_file, format!("reading certificates: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(&pair.cert_file, format!("reading certificates: {e}")))?;
    if certs.is_empty() {
        return Err(file_err(&pair.cert_file, "no certificate in file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&pair.key_file)
        .map_err(|e| file_err(&pair.key_file, format!("reading private key: {e}")))?;
    let provider = default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| file_err(&pair.key_file, format!("unusable private key: {e}")))?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(|e| {
        file_err(
            &pair.cert_file,
            format!("certificate does not match {}: {e}", pair.key_file.display()),
        )
    })?;
    Ok(Arc::new(certified))
}

/// A self-signed certificate for `names` (for `mox localserve` and tests), as PEM
/// (certificate, PKCS#8 private key), ECDSA P-256.
pub fn self_signed(names: &[String]) -> Result<(String, String), TlsError> {
    let certified = rcgen::generate_simple_self_signed(names.to_vec())?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// Picks the first certificate valid for the client's SNI name, else the first.
#[derive(Debug)]
struct BySni {
    keys: Vec<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let wanted = hello.server_name().and_then(|n| ServerName::try_from(n.to_string()).ok());
        if let Some(name) = wanted {
            for key in &self.keys {
                let Some(leaf) = key.cert.first() else { continue };
                let Ok(cert) = webpki::EndEntityCert::try_from(leaf) else { continue };
                if cert.verify_is_valid_for_subject_name(&name).is_ok() {
                    return Some(key.clone());
                }
            }
        }
        self.keys.first().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn write_pair(dir: &Path, name: &str) -> (KeyCert, String) {
        let (cert, key) = self_signed(&[name.to_string()]).unwrap();
        let pair = KeyCert {
            cert_file: dir.join(format!("{name}.crt")),
            key_file: dir.join(format!("{name}.key")),
        };
        std::fs::write(&pair.cert_file, &cert).unwrap();
        std::fs::write(&pair.key_file, key).unwrap();
        (pair, cert)
    }

    /// Connects with SNI `name` trusting `roots`, returns whether the handshake succeeded.
    async fn handshake(config: Arc<ServerConfig>, trust_pem: &str, name: &str) -> bool {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            if let Ok(mut tls) = acceptor.accept(tcp).await {
                let _ = tls.write_all(b"hi").await;
                let _ = tls.shutdown().await;
            }
        });
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(trust_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let sn = ServerName::try_from(name.to_string()).unwrap();
        let ok = match connector.connect(sn, tcp).await {
            Ok(mut tls) => {
                let mut buf = Vec::new();
                tls.read_to_end(&mut buf).await.is_ok() && buf == b"hi"
            }
            Err(_) => false,
        };
        let _ = server.await;
        ok
    }

    #[tokio::test]
    async fn the_certificate_matching_the_sni_name_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_pem) = write_pair(dir.path(), "mail.example.org");
        let (b, b_pem) = write_pair(dir.path(), "mail.example.com");
        let config = server_config(&[a, b], MinVersion::Tls12).unwrap();
        assert!(handshake(config.clone(), &b_pem, "mail.example.com").await);
        assert!(handshake(config.clone(), &a_pem, "mail.example.org").await);
        // An unknown name gets the first certificate, which a client trusting only b refuses.
        assert!(!handshake(config, &b_pem, "other.example.net").await);
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let (good, _) = write_pair(dir.path(), "a.example");
        let (other, _) = write_pair(dir.path(), "b.example");
        let missing =
            KeyCert { cert_file: dir.path().join("nope.crt"), key_file: good.key_file.clone() };
        let e = server_config(&[missing], MinVersion::Tls12).unwrap_err().to_string();
        assert!(e.contains("nope.crt"), "{e}");
        let mismatched = KeyCert { cert_file: good.cert_file.clone(), key_file: other.key_file };
        let e = server_config(&[mismatched], MinVersion::Tls12).unwrap_err().to_string();
        assert!(e.contains("does not match"), "{e}");
        assert!(matches!(server_config(&[], MinVersion::Tls13), Err(TlsError::NoCertificates)));
    }
}
