//! SASL (RFC 4422) mechanisms for mail protocols, client and server side, without I/O.
//!
//! Each side is a step function: the protocol layer (SMTP AUTH, IMAP AUTHENTICATE) decodes a
//! challenge or response, feeds it in, and sends what comes out, until the exchange ends.
//! Nothing here reads sockets or databases: the server side pauses with
//! [`ServerStep::NeedCredentials`] for the caller to look up the account.
//!
//! Mechanisms ([`Mechanism`]):
//! - PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login): the password crosses the wire,
//!   so only over TLS.
//! - CRAM-MD5 (RFC 2195): challenge-response with HMAC-MD5.
//! - SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), and their `-PLUS` variants that bind
//!   the exchange to the TLS channel ([`ChannelBinding`]: `tls-exporter`, RFC 9266, and
//!   `tls-server-end-point`, RFC 5929), so a man in the middle relaying the login is caught.
//! - EXTERNAL (RFC 4422 appendix A): identity from the TLS client certificate.
//!
//! The server never keeps a password: [`StoredCredentials::derive`] turns one (after SASLprep,
//! RFC 4013) into SCRAM StoredKey/ServerKey, the CRAM-MD5 HMAC state and an Argon2id hash.
//! Secrets are wrapped in [`Secret`], whose `Debug` prints `Secret(***)`; proofs and digests
//! are compared in constant time.
//!
//! Crypto comes from ring (SHA-1, SHA-256, HMAC, PBKDF2, randomness), RustCrypto's `md-5`
//! (ring has no MD5) and `argon2`.
//!
//! ```
//! use sasl::{
//!     ChannelBinding, Client, ClientChannelBinding, Mechanism, ScramHash, Secret, Server,
//!     ServerOptions, ServerStep, StoredCredentials,
//! };
//!
//! // Server side: what the account database keeps.
//! let stored = StoredCredentials::derive("pencil")?;
//!
//! // Both ends of one TLS connection see the same binding data (from rustls).
//! let binding = ChannelBinding::tls_exporter(vec![7; 32]);
//! let options = ServerOptions { hostname: "mail.example".into(), channel_bindings: vec![binding.clone()] };
//! let mut server = Server::new(Mechanism::ScramSha256Plus, options)?;
//! let mut client = Client::scram(ScramHash::Sha256, "user", Secret::from("pencil"),
//!     ClientChannelBinding::Bind(binding));
//! assert_eq!(client.mechanism(), Mechanism::ScramSha256Plus);
//!
//! let mut response = client.initial_response();
//! loop {
//!     match server.step(response.as_deref())? {
//!         ServerStep::NeedCredentials { username } => {
//!             assert_eq!(username, "user");
//!             let ServerStep::Challenge(challenge) = server.credentials(Some(&stored))? else {
//!                 unreachable!()
//!             };
//!             response = Some(client.step(&challenge)?);
//!         }
//!         ServerStep::Challenge(challenge) => response = Some(client.step(&challenge)?),
//!         ServerStep::Authenticated(who) => {
//!             assert_eq!(who.username, "user");
//!             break;
//!         }
//!         ServerStep::External { .. } => unreachable!(),
//!     }
//! }
//! client.finish()?; // The server proved it knows the password too.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod channel_binding;
mod client;
mod credentials;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod scram;
mod secret;
mod server;

use std::fmt;
use std::str::FromStr;

pub use channel_binding::{
    ChannelBinding, ChannelBindingType, TLS_EXPORTER_LABEL, TLS_EXPORTER_LENGTH,
};
pub use client::{Client, ClientChannelBinding, MAX_SCRAM_ITERATIONS};
pub use credentials::{
    CramMd5Credentials, DEFAULT_SCRAM_ITERATIONS, DeriveParams, PasswordHash, ScramCredentials,
    StoredCredentials, saslprep,
};
pub use error::{CertificateError, ClientError, CredentialsError, ServerError};
pub use scram::ScramHash;
pub use secret::Secret;
pub use server::{Authenticated, Server, ServerOptions, ServerStep};

/// A SASL mechanism, by its registered name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN`, RFC 4616.
    Plain,
    /// `LOGIN`, draft-murchison-sasl-login.
    Login,
    /// `CRAM-MD5`, RFC 2195.
    CramMd5,
    /// `SCRAM-SHA-1`, RFC 5802.
    ScramSha1,
    /// `SCRAM-SHA-1-PLUS`, RFC 5802 with channel binding.
    ScramSha1Plus,
    /// `SCRAM-SHA-256`, RFC 7677.
    ScramSha256,
    /// `SCRAM-SHA-256-PLUS`, RFC 7677 with channel binding.
    ScramSha256Plus,
    /// `EXTERNAL`, RFC 4422 appendix A.
    External,
}

impl Mechanism {
    /// Every mechanism.
    pub const ALL: [Mechanism; 8] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::ScramSha1,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha256Plus,
        Mechanism::External,
    ];

    /// Password mechanisms from strongest to weakest: SCRAM-PLUS (channel-bound), SCRAM,
    /// CRAM-MD5, then PLAIN and LOGIN, which reveal the password to the server (and to anyone
    /// when not over TLS).
    pub const PREFERENCE: [Mechanism; 7] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// The registered name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// The mechanism with this name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether this is a channel-binding `-PLUS` mechanism.
    pub fn is_plus(self) -> bool {
        matches!(self, Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus)
    }

    /// Whether the password itself is sent (PLAIN, LOGIN): never without TLS.
    pub fn reveals_password(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }

    /// Whether the client sends the first message (an initial response in SMTP AUTH).
    pub fn client_first(self) -> bool {
        !matches!(self, Mechanism::Login | Mechanism::CramMd5)
    }

    /// The SCRAM hash, for SCRAM mechanisms.
    pub fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => Some(ScramHash::Sha1),
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => Some(ScramHash::Sha256),
            _ => None,
        }
    }

    /// The SCRAM mechanism for a hash, with or without channel binding.
    pub fn scram(hash: ScramHash, plus: bool) -> Mechanism {
        match (hash, plus) {
            (ScramHash::Sha1, false) => Mechanism::ScramSha1,
            (ScramHash::Sha1, true) => Mechanism::ScramSha1Plus,
            (ScramHash::Sha256, false) => Mechanism::ScramSha256,
            (ScramHash::Sha256, true) => Mechanism::ScramSha256Plus,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for an unknown mechanism name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SASL mechanism {0:?}")]
pub struct UnknownMechanism(pub String);

impl FromStr for Mechanism {
    type Err = UnknownMechanism;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mechanism::from_name(s).ok_or_else(|| UnknownMechanism(s.to_string()))
    }
}

/// Random bytes from the operating system (ring's `SystemRandom`).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; N];
    // SystemRandom only fails when the OS has no entropy source at all: nothing sensible
    // can continue then, and a predictable nonce would be worse than stopping.
    #[allow(clippy::expect_used)]
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("operating system random source unavailable");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_names_round_trip() {
        for mechanism in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(mechanism.name()), Some(mechanism));
            assert_eq!(mechanism.name().to_lowercase().parse::<Mechanism>(), Ok(mechanism));
        }
        assert!("DIGEST-MD5".parse::<Mechanism>().is_err());
    }
}
