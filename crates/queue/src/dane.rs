//! DANE for SMTP (RFC 7672, with RFC 6698 and RFC 7671): which TLSA records are usable, and
//! whether a server's certificate chain matches one.
//!
//! Only DANE-TA(2) and DANE-EE(3) are usable for SMTP (RFC 7672 §3.1.3: PKIX-TA and PKIX-EE
//! are not), with selector Cert(0) or SPKI(1) and matching type Full(0), SHA2-256(1) or
//! SHA2-512(2) of the right length. DANE-EE matches the server's own certificate or key and
//! checks neither name nor expiry (RFC 7672 §3.1.1); DANE-TA names a trust anchor in the chain
//! (or, as a full certificate, one the server may leave out) that must issue a certificate
//! valid now for one of the allowed names (RFC 7672 §3.1.2, §3.2.2).
//!
//! ```
//! use dns::Tlsa;
//! use queue::dane::{tlsa_text, usable_records};
//!
//! let records = vec![
//!     Tlsa { usage: 3, selector: 1, matching_type: 1, data: vec![0xab; 32] },
//!     Tlsa { usage: 1, selector: 1, matching_type: 1, data: vec![0xab; 32] }, // PKIX-EE
//!     Tlsa { usage: 3, selector: 1, matching_type: 1, data: vec![0xab; 31] }, // wrong length
//! ];
//! let usable = usable_records(&records);
//! assert_eq!(usable.len(), 1);
//! assert!(tlsa_text(&usable[0]).starts_with("3 1 1 abab"));
//! ```

use std::fmt::Write as _;
use std::sync::Arc;

use dns::{Domain, Tlsa};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Certificate usage DANE-TA.
pub const USAGE_DANE_TA: u8 = 2;
/// Certificate usage DANE-EE.
pub const USAGE_DANE_EE: u8 = 3;

/// The records usable for SMTP (RFC 7672 §3.1, RFC 6698 §2.1), in the given order.
pub fn usable_records(records: &[Tlsa]) -> Vec<Tlsa> {
    records
        .iter()
        .filter(|r| matches!(r.usage, USAGE_DANE_TA | USAGE_DANE_EE))
        .filter(|r| matches!(r.selector, 0 | 1))
        .filter(|r| match r.matching_type {
            0 => match r.selector {
                0 => webpki::EndEntityCert::try_from(&CertificateDer::from(r.data.as_slice()))
                    .is_ok(),
                _ => !r.data.is_empty(),
            },
            1 => r.data.len() == 32,
            2 => r.data.len() == 64,
            _ => false,
        })
        .cloned()
        .collect()
}

/// A record in presentation form, `usage selector matching-type hex`, as TLSRPT reports and
/// logs show it.
pub fn tlsa_text(record: &Tlsa) -> String {
    let mut text = format!("{} {} {} ", record.usage, record.selector, record.matching_type);
    for b in &record.data {
        let _ = write!(text, "{b:02x}");
    }
    text
}

/// Why no record matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DaneError {
    /// No records to verify against.
    #[error("no usable TLSA records")]
    NoRecords,
    /// The server sent no certificate.
    #[error("server sent no certificate")]
    NoCertificate,
    /// No record matched the certificate or its chain.
    #[error("no TLSA record matches the server certificate{}", details(.0))]
    NoMatch(Vec<String>),
}

fn details(errors: &[String]) -> String {
    if errors.is_empty() { String::new() } else { format!(" ({})", errors.join("; ")) }
}

/// Checks a server's chain (`chain[0]` its certificate) against usable `records`; returns the
/// record that matched. `names` are the names a DANE-TA certificate may have (RFC 7672 §3.2.2:
/// the TLSA base domain first, then the other names the MX lookup allows).
pub fn verify(
    records: &[Tlsa],
    chain: &[CertificateDer<'_>],
    names: &[Domain],
    now: UnixTime,
    provider: &Arc<CryptoProvider>,
) -> Result<Tlsa, DaneError> {
    if records.is_empty() {
        return Err(DaneError::NoRecords);
    }
    let Some(leaf) = chain.first() else { return Err(DaneError::NoCertificate) };
    let mut errors = Vec::new();
    for record in records {
        match record.usage {
            USAGE_DANE_EE if matches(record, leaf) => return Ok(record.clone()),
            USAGE_DANE_TA => match verify_trust_anchor(record, chain, names, now, provider) {
                Ok(true) => return Ok(record.clone()),
                Ok(false) => {}
                Err(e) => errors.push(format!("{}: {e}", tlsa_text_short(record))),
            },
            _ => {}
        }
    }
    Err(DaneError::NoMatch(errors))
}

fn tlsa_text_short(record: &Tlsa) -> String {
    format!("{} {} {}", record.usage, record.selector, record.matching_type)
}

/// Whether `record` matches `cert` by its selector and matching type.
fn matches(record: &Tlsa, cert: &CertificateDer<'_>) -> bool {
    let selected: Vec<u8> = match record.selector {
        0 => cert.as_ref().to_vec(),
        1 => match webpki::EndEntityCert::try_from(cert) {
            Ok(parsed) => parsed.subject_public_key_info().as_ref().to_vec(),
            Err(_) => return false,
        },
        _ => return false,
    };
    match record.matching_type {
        0 => selected == record.data,
        1 => ring::digest::digest(&ring::digest::SHA256, &selected).as_ref() == record.data,
        2 => ring::digest::digest(&ring::digest::SHA512, &selected).as_ref() == record.data,
        _ => false,
    }
}

/// DANE-TA: the anchor is a certificate of the chain matching the record, or the record's own
/// full certificate; the server certificate must chain to it and be valid for one of `names`.
/// `Ok(false)` when no anchor was found.
fn verify_trust_anchor(
    record: &Tlsa,
    chain: &[CertificateDer<'_>],
    names: &[Domain],
    now: UnixTime,
    provider: &Arc<CryptoProvider>,
) -> Result<bool, String> {
    let mut roots = RootCertStore::empty();
    let mut intermediates = Vec::new();
    if record.selector == 0 && record.matching_type == 0 {
        roots.add(CertificateDer::from(record.data.clone())).map_err(|e| e.to_string())?;
    }
    for (i, cert) in chain.iter().enumerate() {
        if roots.is_empty() && matches(record, cert) {
            roots.add(cert.clone().into_owned()).map_err(|e| e.to_string())?;
        } else if i > 0 {
            intermediates.push(cert.clone().into_owned());
        }
    }
    if roots.is_empty() {
        return Ok(false);
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let mut errors = Vec::new();
    for name in names {
        let Ok(server_name) = ServerName::try_from(name.ascii().to_string()) else { continue };
        match verifier.verify_server_cert(&chain[0], &intermediates, &server_name, &[], now) {
            Ok(_) => return Ok(true),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    Err(errors.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    struct Chain {
        leaf: CertificateDer<'static>,
        ca: CertificateDer<'static>,
        leaf_spki_sha256: Vec<u8>,
    }

    fn chain(names: &[&str]) -> Chain {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        let leaf = params.signed_by(&leaf_key, &ca).unwrap();
        let spki = rcgen::PublicKeyData::subject_public_key_info(&leaf_key);
        Chain {
            leaf: leaf.der().clone(),
            ca: ca.der().clone(),
            leaf_spki_sha256: ring::digest::digest(&ring::digest::SHA256, &spki).as_ref().to_vec(),
        }
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    #[test]
    fn dane_ee_matches_key_regardless_of_name() {
        let c = chain(&["other.example"]);
        let ee = Tlsa { usage: 3, selector: 1, matching_type: 1, data: c.leaf_spki_sha256.clone() };
        let got = verify(
            std::slice::from_ref(&ee),
            std::slice::from_ref(&c.leaf),
            &[d("mx.example")],
            UnixTime::now(),
            &provider(),
        );
        assert_eq!(got, Ok(ee));
        let full = Tlsa { usage: 3, selector: 0, matching_type: 0, data: c.leaf.to_vec() };
        assert!(
            verify(&[full], std::slice::from_ref(&c.leaf), &[], UnixTime::now(), &provider())
                .is_ok()
        );
        let wrong = Tlsa { usage: 3, selector: 1, matching_type: 1, data: vec![0; 32] };
        assert_eq!(
            verify(&[wrong], std::slice::from_ref(&c.leaf), &[], UnixTime::now(), &provider()),
            Err(DaneError::NoMatch(Vec::new()))
        );
    }

    #[test]
    fn dane_ta_checks_chain_and_name() {
        let c = chain(&["mx.example"]);
        let ca_hash = ring::digest::digest(&ring::digest::SHA256, c.ca.as_ref()).as_ref().to_vec();
        let ta = Tlsa { usage: 2, selector: 0, matching_type: 1, data: ca_hash };
        let full_chain = [c.leaf.clone(), c.ca.clone()];
        let p = provider();
        assert!(
            verify(std::slice::from_ref(&ta), &full_chain, &[d("mx.example")], UnixTime::now(), &p)
                .is_ok()
        );
        // A name the certificate does not have.
        let err = verify(
            std::slice::from_ref(&ta),
            &full_chain,
            &[d("other.example")],
            UnixTime::now(),
            &p,
        );
        assert!(matches!(err, Err(DaneError::NoMatch(ref e)) if e.len() == 1), "{err:?}");
        // The anchor is not in the chain, and the record has only its hash.
        let err =
            verify(&[ta], std::slice::from_ref(&c.leaf), &[d("mx.example")], UnixTime::now(), &p);
        assert_eq!(err, Err(DaneError::NoMatch(Vec::new())));
        // A full-certificate record supplies the anchor the server left out.
        let full = Tlsa { usage: 2, selector: 0, matching_type: 0, data: c.ca.to_vec() };
        assert!(
            verify(&[full], std::slice::from_ref(&c.leaf), &[d("mx.example")], UnixTime::now(), &p)
                .is_ok()
        );
        // An anchor from another CA does not help.
        let other = chain(&["mx.example"]);
        let other_ta = Tlsa { usage: 2, selector: 0, matching_type: 0, data: other.ca.to_vec() };
        assert!(verify(&[other_ta], &full_chain, &[d("mx.example")], UnixTime::now(), &p).is_err());
    }

    #[test]
    fn usable_filter() {
        let c = chain(&["mx.example"]);
        let records = [
            Tlsa { usage: 2, selector: 0, matching_type: 0, data: c.ca.to_vec() },
            Tlsa { usage: 2, selector: 0, matching_type: 0, data: b"not a certificate".to_vec() },
            Tlsa { usage: 3, selector: 2, matching_type: 1, data: vec![0; 32] },
            Tlsa { usage: 3, selector: 1, matching_type: 2, data: vec![0; 64] },
            Tlsa { usage: 3, selector: 1, matching_type: 3, data: vec![0; 64] },
            Tlsa { usage: 0, selector: 1, matching_type: 1, data: vec![0; 32] },
        ];
        let usable = usable_records(&records);
        assert_eq!(usable.len(), 2);
        assert_eq!(usable[1].matching_type, 2);
        assert_eq!(
            verify(&[], &[c.leaf], &[], UnixTime::now(), &provider()),
            Err(DaneError::NoRecords)
        );
    }
}
