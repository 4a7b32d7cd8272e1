//! The certificate check of one outgoing connection, chosen by the policy that applies
//! (opportunistic, PKIX for MTA-STS and smarthosts, DANE), with its outcome kept for the
//! delivery log and TLSRPT.

use std::sync::{Arc, Mutex, PoisonError};

use dns::{Domain, Tlsa};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tlsrpt::ResultType;

use crate::dane;

/// How the server's certificate is checked.
#[derive(Debug, Clone)]
pub(crate) enum CertPolicy {
    /// Not at all (opportunistic TLS, RFC 7435).
    Any,
    /// WebPKI: chains to one of the roots and is valid for the server name (MTA-STS, RFC 8461
    /// §4.2; smarthosts).
    Pkix(Arc<RootCertStore>),
    /// DANE with these usable records and allowed names (RFC 7672 §3).
    Dane { records: Vec<Tlsa>, names: Vec<Domain> },
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertOutcome {
    /// Verified; how (`PKIX`, `DANE-EE`, `DANE-TA`).
    Verified(String),
    /// Not checked (opportunistic).
    Unchecked,
    /// Failed: the TLSRPT result type and a reason.
    Failed(ResultType, String),
}

/// A rustls verifier applying a [`CertPolicy`]. With `ignore_failures` (a message with
/// `TLS-Required: No`, RFC 8689 §5) a failed check is recorded but the connection goes on.
#[derive(Debug)]
pub(crate) struct PolicyVerifier {
    policy: CertPolicy,
    pkix: Option<Arc<WebPkiServerVerifier>>,
    ignore_failures: bool,
    provider: Arc<CryptoProvider>,
    outcome: Mutex<Option<CertOutcome>>,
}

impl PolicyVerifier {
    pub(crate) fn new(policy: CertPolicy, ignore_failures: bool) -> Arc<PolicyVerifier> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pkix = match &policy {
            CertPolicy::Pkix(roots) => {
                WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .ok()
            }
            _ => None,
        };
        Arc::new(PolicyVerifier {
            policy,
            pkix,
            ignore_failures,
            provider,
            outcome: Mutex::new(None),
        })
    }

    /// The outcome of the last handshake, if it got to the certificate.
    pub(crate) fn outcome(&self) -> Option<CertOutcome> {
        self.outcome.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether the policy verifies certificates at all.
    pub(crate) fn verifies(&self) -> bool {
        !matches!(self.policy, CertPolicy::Any)
    }

    /// A rustls client configuration (ring, TLS 1.2 and 1.3) using this verifier.
    pub(crate) fn client_config(self: &Arc<Self>) -> Result<Arc<ClientConfig>, rustls::Error> {
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    fn record(&self, outcome: CertOutcome) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }

    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<String, (ResultType, String, rustls::Error)> {
        match &self.policy {
            CertPolicy::Any => Ok(String::new()),
            CertPolicy::Pkix(_) => {
                let Some(verifier) = &self.pkix else {
                    let e = rustls::Error::General("no trust roots".into());
                    return Err((ResultType::CertificateNotTrusted, "no trust roots".into(), e));
                };
                match verifier.verify_server_cert(end_entity, intermediates, server_name, &[], now)
                {
                    Ok(_) => Ok("PKIX".into()),
                    Err(e) => Err((result_type(&e), e.to_string(), e)),
                }
            }
            CertPolicy::Dane { records, names } => {
                let mut chain = vec![end_entity.clone()];
                chain.extend(intermediates.iter().cloned());
                match dane::verify(records, &chain, names, now, &self.provider) {
                    Ok(record) => Ok(match record.usage {
                        dane::USAGE_DANE_TA => "DANE-TA".into(),
                        _ => "DANE-EE".into(),
                    }),
                    Err(e) => {
                        let reason = e.to_string();
                        Err((
                            ResultType::ValidationFailure,
                            reason.clone(),
                            rustls::Error::InvalidCertificate(
                                CertificateError::ApplicationVerificationFailure,
                            ),
                        ))
                    }
                }
            }
        }
    }
}

/// The TLSRPT result type (RFC 8460 §4.3.2) for a certificate error.
fn result_type(error: &rustls::Error) -> ResultType {
    match error {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                ResultType::CertificateExpired
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                ResultType::CertificateHostMismatch
            }
            CertificateError::UnknownIssuer => ResultType::CertificateNotTrusted,
            _ => ResultType::ValidationFailure,
        },
        _ => ResultType::ValidationFailure,
    }
}

impl ServerCertVerifier for PolicyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.check(end_entity, intermediates, server_name, now) {
            Ok(how) if how.is_empty() => {
                self.record(CertOutcome::Unchecked);
                Ok(ServerCertVerified::assertion())
            }
            Ok(how) => {
                self.record(CertOutcome::Verified(how));
                Ok(ServerCertVerified::assertion())
            }
            Err((result_type, reason, error)) => {
                self.record(CertOutcome::Failed(result_type, reason));
                if self.ignore_failures { Ok(ServerCertVerified::assertion()) } else { Err(error) }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
