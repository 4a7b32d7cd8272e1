//! The error types of the sasl crate.

use crate::Mechanism;

/// Why a client-side exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server's challenge does not follow the mechanism's syntax.
    #[error("{mechanism}: malformed server challenge: {reason}")]
    MalformedChallenge {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// What is wrong with the challenge.
        reason: &'static str,
    },
    /// The server sent a challenge after the exchange had ended for this mechanism.
    #[error("{mechanism}: unexpected challenge after the exchange ended")]
    UnexpectedChallenge {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// SCRAM: the server's nonce does not start with ours, so it is not answering our request.
    #[error("{mechanism}: server nonce does not extend the client nonce")]
    NonceMismatch {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// SCRAM: the server asked for an iteration count we refuse to compute.
    #[error("{mechanism}: unacceptable iteration count {iterations}")]
    IterationCount {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// The count the server sent.
        iterations: u64,
    },
    /// SCRAM: the server's signature is wrong: it does not know the password, or the exchange
    /// was tampered with.
    #[error("{mechanism}: server signature does not verify, the server is not who it claims")]
    ServerSignatureMismatch {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// SCRAM: the server ended the exchange with `e=<value>`.
    #[error("{mechanism}: server reported error {value:?}")]
    ServerError {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// The server-error-value, e.g. `invalid-proof` or `channel-bindings-dont-match`.
        value: String,
    },
    /// SCRAM: the server declared success without proving it knows the password (no `v=`).
    #[error("{mechanism}: server declared success without its signature")]
    ServerNotVerified {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// A `-PLUS` mechanism needs channel binding data, and none was given.
    #[error("{mechanism} needs channel binding data from a TLS connection")]
    ChannelBindingRequired {
        /// The mechanism asked for.
        mechanism: Mechanism,
    },
}

/// Why a server-side exchange failed. Every variant ends the exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The client's response does not follow the mechanism's syntax.
    #[error("{mechanism}: malformed client response: {reason}")]
    Malformed {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// What is wrong with the response.
        reason: &'static str,
    },
    /// The client cancelled the exchange (`*` in SMTP and IMAP).
    #[error("{mechanism}: client aborted the exchange")]
    Aborted {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// Unknown user, wrong password, or wrong proof. Deliberately one variant: the reply to
    /// the client must not tell these apart.
    #[error("{mechanism}: invalid credentials")]
    InvalidCredentials {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// The account has no stored credentials for this mechanism.
    #[error("{mechanism}: no stored credentials for this mechanism")]
    CredentialsUnavailable {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// SCRAM: the channel binding data the client sent differs from ours: the connection is
    /// being relayed by a man in the middle, or the client computed it differently.
    #[error("{mechanism}: channel bindings don't match")]
    ChannelBindingMismatch {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// SCRAM: the client asked for a channel binding type we cannot provide on this
    /// connection, or used a `-PLUS` mechanism without channel binding or vice versa.
    #[error("{mechanism}: unsupported channel binding {requested:?}")]
    ChannelBindingUnsupported {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// The GS2 channel binding flag or type the client sent.
        requested: String,
    },
    /// SCRAM: the client says it supports channel binding and thinks we don't (`y` flag), while
    /// we offer `-PLUS`: a man in the middle removed the `-PLUS` mechanisms (RFC 5802 §6).
    #[error("{mechanism}: client saw no channel binding support, but we offer it: downgrade")]
    Downgrade {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// SCRAM: a mandatory extension (`m=`) we do not implement.
    #[error("{mechanism}: unsupported mandatory extension")]
    UnsupportedExtension {
        /// The mechanism in use.
        mechanism: Mechanism,
    },
    /// The caller drove the exchange out of order, e.g. gave credentials nobody asked for.
    #[error("{mechanism}: step out of order: {reason}")]
    OutOfOrder {
        /// The mechanism in use.
        mechanism: Mechanism,
        /// What was expected.
        reason: &'static str,
    },
}

impl ServerError {
    /// The SCRAM `server-error-value` (RFC 5802 §7) that describes this error, for protocols
    /// that send `e=<value>` in a server-final-message.
    pub fn scram_error_value(&self) -> &'static str {
        match self {
            ServerError::ChannelBindingMismatch { .. } => "channel-bindings-dont-match",
            ServerError::ChannelBindingUnsupported { .. } => "channel-binding-not-supported",
            ServerError::Downgrade { .. } => "server-does-support-channel-binding",
            ServerError::UnsupportedExtension { .. } => "extensions-not-supported",
            ServerError::InvalidCredentials { .. } => "invalid-proof",
            ServerError::CredentialsUnavailable { .. } => "unknown-user",
            ServerError::Malformed { .. }
            | ServerError::Aborted { .. }
            | ServerError::OutOfOrder { .. } => "other-error",
        }
    }
}

/// Why credentials could not be derived from a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// SASLprep (RFC 4013) rejects the password: it has prohibited characters (control
    /// characters, unassigned code points, bidi violations).
    #[error("password is not allowed by SASLprep (RFC 4013): {reason}")]
    Prohibited {
        /// What stringprep reported.
        reason: String,
    },
    /// The password is empty, or only characters SASLprep maps to nothing.
    #[error("password is empty (after SASLprep, RFC 4013, which maps some characters to nothing)")]
    Empty,
    /// The stored values are malformed (wrong key sizes, zero iterations, bad hash string).
    #[error("malformed stored credentials: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
}

/// Why `tls-server-end-point` data could not be computed from a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The certificate is not DER of the X.509 Certificate shape.
    #[error("malformed certificate DER")]
    Malformed,
    /// The signature algorithm uses no single hash (Ed25519, RSASSA-PSS) or an unknown one:
    /// RFC 5929 §4.1 defines no binding for it.
    #[error("tls-server-end-point is undefined for this certificate's signature algorithm")]
    UndefinedHash,
}
