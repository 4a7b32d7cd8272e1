//! Channel binding data for the SCRAM `-PLUS` mechanisms.
//!
//! The sasl core never touches TLS: the caller takes the binding bytes from its TLS library and
//! passes them in. With rustls:
//! - `tls-exporter` (RFC 9266, for TLS 1.3): `conn.export_keying_material(&mut [0u8; 32],
//!   TLS_EXPORTER_LABEL, None)`.
//! - `tls-server-end-point` (RFC 5929 §4, for TLS 1.2): a hash of the server's certificate,
//!   computed by [`ChannelBinding::tls_server_end_point`] from the DER bytes that
//!   `conn.peer_certificates()` (client side) or the configured certificate (server side) gives.

use std::fmt;

use crate::error::CertificateError;

/// The label for `tls-exporter` keying material (RFC 9266 §2), with an empty context.
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// The number of bytes of `tls-exporter` keying material (RFC 9266 §2).
pub const TLS_EXPORTER_LENGTH: usize = 32;

/// The channel binding types we implement, named as in the GS2 header (`p=<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelBindingType {
    /// `tls-exporter`, RFC 9266: keying material exported from the TLS 1.3 session.
    TlsExporter,
    /// `tls-server-end-point`, RFC 5929 §4: a hash of the server certificate.
    TlsServerEndPoint,
}

impl ChannelBindingType {
    /// The registered name, as it appears in `p=<name>`.
    pub fn name(self) -> &'static str {
        match self {
            ChannelBindingType::TlsExporter => "tls-exporter",
            ChannelBindingType::TlsServerEndPoint => "tls-server-end-point",
        }
    }

    /// The type for a registered name (exact match: cb-name is case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "tls-exporter" => Some(ChannelBindingType::TlsExporter),
            "tls-server-end-point" => Some(ChannelBindingType::TlsServerEndPoint),
            _ => None,
        }
    }
}

impl fmt::Display for ChannelBindingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Channel binding data of one type, from the TLS connection the SASL exchange runs over.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelBinding {
    kind: ChannelBindingType,
    data: Vec<u8>,
}

impl ChannelBinding {
    /// Binding data of the given type, as taken from the TLS connection.
    pub fn new(kind: ChannelBindingType, data: Vec<u8>) -> Self {
        ChannelBinding { kind, data }
    }

    /// `tls-exporter` data: the [`TLS_EXPORTER_LENGTH`] bytes exported with
    /// [`TLS_EXPORTER_LABEL`] and no context.
    pub fn tls_exporter(data: Vec<u8>) -> Self {
        ChannelBinding::new(ChannelBindingType::TlsExporter, data)
    }

    /// `tls-server-end-point` data computed from the server's end-entity certificate (DER).
    ///
    /// RFC 5929 §4.1: the hash is that of the certificate's signature algorithm, except that
    /// MD5 and SHA-1 are replaced by SHA-256. Certificates signed without a single hash
    /// (Ed25519, RSASSA-PSS) have no defined binding and give an error.
    pub fn tls_server_end_point(certificate_der: &[u8]) -> Result<Self, CertificateError> {
        let hash = end_point_hash(certificate_der)?;
        let digest = ring::digest::digest(hash, certificate_der);
        Ok(ChannelBinding::new(ChannelBindingType::TlsServerEndPoint, digest.as_ref().to_vec()))
    }

    /// The binding type.
    pub fn kind(&self) -> ChannelBindingType {
        self.kind
    }

    /// The binding bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

impl fmt::Debug for ChannelBinding {
    // tls-exporter data is derived from the session secrets: show only its size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBinding")
            .field("kind", &self.kind)
            .field("len", &self.data.len())
            .finish()
    }
}

/// The hash for tls-server-end-point, from the certificate's outer signatureAlgorithm.
fn end_point_hash(der: &[u8]) -> Result<&'static ring::digest::Algorithm, CertificateError> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm
    //   AlgorithmIdentifier, signatureValue BIT STRING }   (RFC 5280 §4.1)
    let (certificate, _) = der_element(der, 0x30)?;
    let (_tbs, rest) = der_element(certificate, 0x30)?;
    let (algorithm, _) = der_element(rest, 0x30)?;
    let (oid, _) = der_element(algorithm, 0x06)?;

    const RSA_PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    const DSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03];
    const DSA_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02];
    use ring::digest::{SHA256, SHA384, SHA512};
    let hash = match oid {
        // md5WithRSAEncryption, sha1WithRSAEncryption: SHA-256 instead (RFC 5929 §4.1).
        [prefix @ .., 4 | 5] if prefix == RSA_PKCS1 => &SHA256,
        [prefix @ .., 11] if prefix == RSA_PKCS1 => &SHA256,
        [prefix @ .., 12] if prefix == RSA_PKCS1 => &SHA384,
        [prefix @ .., 13] if prefix == RSA_PKCS1 => &SHA512,
        // ecdsa-with-SHA1 (1.2.840.10045.4.1).
        [prefix @ .., 1] if prefix == ECDSA => &SHA256,
        [prefix @ .., 3, 2] if prefix == ECDSA => &SHA256,
        [prefix @ .., 3, 3] if prefix == ECDSA => &SHA384,
        [prefix @ .., 3, 4] if prefix == ECDSA => &SHA512,
        _ if oid == DSA_SHA1 || oid == DSA_SHA256 => &SHA256,
        _ => return Err(CertificateError::UndefinedHash),
    };
    Ok(hash)
}

/// One DER element with the expected tag: its contents and the bytes after it.
fn der_element(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), CertificateError> {
    let malformed = CertificateError::Malformed;
    let (&found, rest) = input.split_first().ok_or(malformed)?;
    if found != tag {
        return Err(malformed);
    }
    let (&first, rest) = rest.split_first().ok_or(malformed)?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(malformed);
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, rest)
    };
    if rest.len() < length {
        return Err(malformed);
    }
    Ok(rest.split_at(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_walk_rejects_truncated_and_wrong_tags() {
        assert_eq!(end_point_hash(&[]), Err(CertificateError::Malformed));
        assert_eq!(end_point_hash(&[0x30, 0x05, 0x30]), Err(CertificateError::Malformed));
        assert_eq!(end_point_hash(&[0x31, 0x00]), Err(CertificateError::Malformed));
        assert_eq!(
            end_point_hash(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            Err(CertificateError::Malformed)
        );
        // A certificate-shaped value with an unknown algorithm.
        let unknown = [0x30, 0x09, 0x30, 0x00, 0x30, 0x03, 0x06, 0x01, 0x2a, 0x03, 0x00];
        assert_eq!(end_point_hash(&unknown), Err(CertificateError::UndefinedHash));
    }

    #[test]
    fn end_point_hash_follows_the_certificate_signature() {
        let cases: [(&rcgen::SignatureAlgorithm, Option<&'static ring::digest::Algorithm>); 3] = [
            (&rcgen::PKCS_ECDSA_P256_SHA256, Some(&ring::digest::SHA256)),
            (&rcgen::PKCS_ECDSA_P384_SHA384, Some(&ring::digest::SHA384)),
            (&rcgen::PKCS_ED25519, None),
        ];
        for (algorithm, hash) in cases {
            let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["mail.example.org".to_string()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            let der = cert.der().as_ref();
            match hash {
                Some(hash) => {
                    let binding = ChannelBinding::tls_server_end_point(der).unwrap();
                    assert_eq!(binding.kind(), ChannelBindingType::TlsServerEndPoint);
                    assert_eq!(binding.data(), ring::digest::digest(hash, der).as_ref());
                }
                None => assert_eq!(
                    ChannelBinding::tls_server_end_point(der).unwrap_err(),
                    CertificateError::UndefinedHash
                ),
            }
            // Truncations never panic.
            for len in [0, 1, 10, der.len() / 2, der.len() - 1] {
                let _ = ChannelBinding::tls_server_end_point(&der[..len]);
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for kind in [ChannelBindingType::TlsExporter, ChannelBindingType::TlsServerEndPoint] {
            assert_eq!(ChannelBindingType::from_name(kind.name()), Some(kind));
        }
        assert_eq!(ChannelBindingType::from_name("tls-unique"), None);
    }
}
