//! What a server stores instead of a password.
//!
//! [`StoredCredentials::derive`] turns a password into everything the server side of each
//! mechanism needs, and nothing from which the password can be read back:
//! - SCRAM-SHA-1 and SCRAM-SHA-256: salt, iteration count, StoredKey and ServerKey (RFC 5802
//!   §3). These let the server check a proof, not compute one.
//! - CRAM-MD5: the MD5 states after the HMAC inner and outer key blocks (the precomputed HMAC
//!   state, as Dovecot stores it). Note that these let anyone who steals them authenticate
//!   with CRAM-MD5; they are still not the password.
//! - PLAIN and LOGIN: an Argon2id hash in PHC string form (`$argon2id$v=19$...`).

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use md5::digest::block_api::UpdateCore as _;
use md5::digest::common::hazmat::SerializableState as _;

use crate::error::CredentialsError;
use crate::scram::ScramHash;
use crate::secret::Secret;

/// The SCRAM iteration count for new credentials: RFC 7677 §4 asks for at least 4096.
pub const DEFAULT_SCRAM_ITERATIONS: u32 = 4096;

/// Applies SASLprep (RFC 4013) to a password, as SCRAM (RFC 5802 §2.2) and PLAIN (RFC 4616
/// §2) require, treating it as a stored string (unassigned code points are refused).
pub fn saslprep(password: &str) -> Result<Cow<'_, str>, CredentialsError> {
    stringprep::saslprep(password)
        .map_err(|e| CredentialsError::Prohibited { reason: e.to_string() })
}

/// The password to compute with: SASLprep'd when possible. A password that SASLprep refuses
/// is used as given, so the server (which refuses such passwords when they are set) decides.
pub(crate) fn prepared(password: &str) -> Cow<'_, str> {
    saslprep(password).unwrap_or(Cow::Borrowed(password))
}

/// The cost parameters for deriving credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeriveParams {
    /// SCRAM PBKDF2 iteration count.
    pub scram_iterations: NonZeroU32,
    /// Argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_passes: u32,
}

impl Default for DeriveParams {
    /// 4096 SCRAM iterations; Argon2id with 19 MiB and 2 passes (the argon2 crate's default,
    /// OWASP's recommendation).
    fn default() -> Self {
        DeriveParams {
            scram_iterations: NonZeroU32::new(DEFAULT_SCRAM_ITERATIONS).unwrap_or(NonZeroU32::MIN),
            argon2_memory_kib: argon2::Params::DEFAULT_M_COST,
            argon2_passes: argon2::Params::DEFAULT_T_COST,
        }
    }
}

/// Everything a server keeps to authenticate one account with every mechanism.
///
/// A mechanism whose field is `None` cannot be used for the account (the server step says
/// [`ServerError::CredentialsUnavailable`](crate::ServerError::CredentialsUnavailable)).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StoredCredentials {
    /// For SCRAM-SHA-1 and SCRAM-SHA-1-PLUS.
    pub scram_sha1: Option<ScramCredentials>,
    /// For SCRAM-SHA-256 and SCRAM-SHA-256-PLUS.
    pub scram_sha256: Option<ScramCredentials>,
    /// For CRAM-MD5.
    pub cram_md5: Option<CramMd5Credentials>,
    /// For PLAIN and LOGIN.
    pub password_hash: Option<PasswordHash>,
}

impl StoredCredentials {
    /// Derives credentials for every mechanism from a password, with fresh random salts and
    /// the default cost ([`DeriveParams::default`]).
    pub fn derive(password: &str) -> Result<Self, CredentialsError> {
        Self::derive_with(password, &DeriveParams::default())
    }

    /// Derives credentials with explicit cost parameters.
    pub fn derive_with(password: &str, params: &DeriveParams) -> Result<Self, CredentialsError> {
        let prepared = saslprep(password)?;
        // Also a password of characters SASLprep maps to nothing (U+034F, U+00AD, ...): PLAIN
        // cannot carry an empty password, so it could never be used (found by fuzzing).
        if prepared.is_empty() {
            return Err(CredentialsError::Empty);
        }
        let scram = |hash| {
            let salt = crate::random_bytes::<16>();
            ScramCredentials::derive_prepared(hash, &prepared, &salt, params.scram_iterations)
        };
        Ok(StoredCredentials {
            scram_sha1: Some(scram(ScramHash::Sha1)),
            scram_sha256: Some(scram(ScramHash::Sha256)),
            cram_md5: Some(CramMd5Credentials::derive(password)),
            password_hash: Some(PasswordHash::derive_with(password, params)?),
        })
    }

    /// The SCRAM credentials for a hash, if stored.
    pub fn scram(&self, hash: ScramHash) -> Option<&ScramCredentials> {
        match hash {
            ScramHash::Sha1 => self.scram_sha1.as_ref(),
            ScramHash::Sha256 => self.scram_sha256.as_ref(),
        }
    }
}

/// SCRAM server credentials for one hash (RFC 5802 §3).
#[derive(Clone)]
pub struct ScramCredentials {
    hash: ScramHash,
    salt: Vec<u8>,
    iterations: NonZeroU32,
    stored_key: Secret<Vec<u8>>,
    server_key: Secret<Vec<u8>>,
}

impl ScramCredentials {
    /// Derives SCRAM credentials from a password (SASLprep'd here) with a given salt.
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: NonZeroU32,
    ) -> Result<Self, CredentialsError> {
        Ok(Self::derive_prepared(hash, &saslprep(password)?, salt, iterations))
    }

    fn derive_prepared(
        hash: ScramHash,
        prepared: &str,
        salt: &[u8],
        iterations: NonZeroU32,
    ) -> Self {
        let salted = hash.salted_password(prepared.as_bytes(), salt, iterations);
        ScramCredentials {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: Secret::new(hash.hash(&hash.client_key(&salted))),
            server_key: Secret::new(hash.server_key(&salted)),
        }
    }

    /// Rebuilds credentials from stored parts, checking the key sizes.
    pub fn from_parts(
        hash: ScramHash,
        salt: Vec<u8>,
        iterations: NonZeroU32,
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
    ) -> Result<Self, CredentialsError> {
        if salt.is_empty() {
            return Err(CredentialsError::Malformed { reason: "empty SCRAM salt" });
        }
        if stored_key.len() != hash.output_len() || server_key.len() != hash.output_len() {
            return Err(CredentialsError::Malformed {
                reason: "SCRAM key size does not match the hash",
            });
        }
        Ok(ScramCredentials {
            hash,
            salt,
            iterations,
            stored_key: Secret::new(stored_key),
            server_key: Secret::new(server_key),
        })
    }

    /// The hash function.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> NonZeroU32 {
        self.iterations
    }

    /// StoredKey = H(ClientKey).
    pub fn stored_key(&self) -> &Secret<Vec<u8>> {
        &self.stored_key
    }

    /// ServerKey = HMAC(SaltedPassword, "Server Key").
    pub fn server_key(&self) -> &Secret<Vec<u8>> {
        &self.server_key
    }
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .field("stored_key", &self.stored_key)
            .field("server_key", &self.server_key)
            .finish_non_exhaustive()
    }
}

/// CRAM-MD5 server credentials: the MD5 chaining states (16 bytes each, the four state words
/// little-endian) after absorbing the HMAC key XOR ipad and XOR opad blocks (RFC 2104 §2).
///
/// MD5 comes from RustCrypto's `md-5` crate because ring has no MD5; its state export is what
/// makes storing the HMAC state instead of the password possible. CRAM-MD5 uses the password
/// as given (no SASLprep): RFC 2195 predates SASLprep and other implementations hash the raw
/// bytes.
#[derive(Clone)]
pub struct CramMd5Credentials {
    inner: Secret<[u8; 16]>,
    outer: Secret<[u8; 16]>,
}

impl CramMd5Credentials {
    /// Derives the HMAC-MD5 states from a password.
    pub fn derive(password: &str) -> Self {
        let mut key = [0u8; 64];
        if password.len() > 64 {
            use md5::Digest as _;
            key[..16].copy_from_slice(&md5::Md5::digest(password.as_bytes()));
        } else {
            key[..password.len()].copy_from_slice(password.as_bytes());
        }
        let state = |pad: u8| {
            let block: [u8; 64] = std::array::from_fn(|i| key[i] ^ pad);
            let mut core = md5::block_api::Md5Core::default();
            core.update_blocks(&[block.into()]);
            let serialized = core.serialize();
            let mut state = [0u8; 16];
            state.copy_from_slice(&serialized[..16]);
            Secret::new(state)
        };
        CramMd5Credentials { inner: state(0x36), outer: state(0x5c) }
    }

    /// Rebuilds credentials from the stored inner and outer states.
    pub fn from_parts(inner: [u8; 16], outer: [u8; 16]) -> Self {
        CramMd5Credentials { inner: Secret::new(inner), outer: Secret::new(outer) }
    }

    /// The MD5 state after the inner (ipad) key block.
    pub fn inner_state(&self) -> &Secret<[u8; 16]> {
        &self.inner
    }

    /// The MD5 state after the outer (opad) key block.
    pub fn outer_state(&self) -> &Secret<[u8; 16]> {
        &self.outer
    }

    /// HMAC-MD5(password, challenge), computed from the stored states.
    pub(crate) fn digest(&self, challenge: &[u8]) -> [u8; 16] {
        use md5::Digest as _;
        let inner_digest = Self::resume(self.inner.expose()).chain_update(challenge).finalize();
        Self::resume(self.outer.expose()).chain_update(inner_digest).finalize().into()
    }

    /// An MD5 hasher that has absorbed exactly one block and is in `state`.
    fn resume(state: &[u8; 16]) -> md5::Md5 {
        use md5::digest::block_api::CoreProxy as _;
        let mut serialized =
            md5::digest::common::hazmat::SerializedState::<md5::block_api::Md5Core>::default();
        serialized[..16].copy_from_slice(state);
        serialized[16..].copy_from_slice(&1u64.to_le_bytes());
        // Deserializing an Md5Core cannot fail: every 24-byte value is a valid state.
        let core = md5::block_api::Md5Core::deserialize(&serialized).unwrap_or_default();
        md5::Md5::compose(core, Default::default())
    }
}

impl fmt::Debug for CramMd5Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CramMd5Credentials")
            .field("inner", &self.inner)
            .field("outer", &self.outer)
            .finish()
    }
}

/// An Argon2id password hash in PHC string form, for PLAIN and LOGIN.
#[derive(Clone)]
pub struct PasswordHash(Secret<String>);

impl PasswordHash {
    /// Hashes a password (SASLprep'd) with default parameters and a fresh salt.
    pub fn derive(password: &str) -> Result<Self, CredentialsError> {
        Self::derive_with(password, &DeriveParams::default())
    }

    /// Hashes a password (SASLprep'd) with the given Argon2id cost and a fresh salt.
    pub fn derive_with(password: &str, params: &DeriveParams) -> Result<Self, CredentialsError> {
        let prepared = saslprep(password)?;
        let params =
            argon2::Params::new(params.argon2_memory_kib, params.argon2_passes, 1, None)
                .map_err(|_| CredentialsError::Malformed { reason: "invalid Argon2 parameters" })?;
        let hasher =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = crate::random_bytes::<16>();
        let hash = hasher
            .hash_password_with_salt(prepared.as_bytes(), &salt)
            .map_err(|_| CredentialsError::Malformed { reason: "Argon2 hashing failed" })?;
        Ok(PasswordHash(Secret::new(hash.to_string())))
    }

    /// A stored PHC string, checked for syntax.
    pub fn from_phc(phc: &str) -> Result<Self, CredentialsError> {
        argon2::password_hash::phc::PasswordHash::new(phc)
            .map_err(|_| CredentialsError::Malformed { reason: "invalid PHC string" })?;
        Ok(PasswordHash(Secret::new(phc.to_string())))
    }

    /// The PHC string, for storing.
    pub fn phc(&self) -> &Secret<String> {
        &self.0
    }

    /// Whether `password` (SASLprep'd when possible) matches; the comparison is constant-time
    /// inside the argon2 crate.
    pub fn verify(&self, password: &str) -> bool {
        argon2::Argon2::default()
            .verify_password(prepared(password).as_bytes(), self.0.expose().as_str())
            .is_ok()
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PasswordHash").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn cheap() -> DeriveParams {
        DeriveParams {
            scram_iterations: NonZeroU32::new(4096).unwrap(),
            argon2_memory_kib: 64,
            argon2_passes: 1,
        }
    }

    #[test]
    fn cram_md5_state_matches_rfc_2195() {
        // RFC 2195 §2: secret "tanstaaftanstaaf".
        let credentials = CramMd5Credentials::derive("tanstaaftanstaaf");
        let digest = credentials.digest(b"<1896.697170952@postoffice.reston.mci.net>");
        assert_eq!(hex(&digest), "b913a602c7eda7a495b4e6e7334d3890");
    }

    #[test]
    fn cram_md5_long_key_is_hashed_first() {
        // RFC 2202 test case 6: key = 80 bytes of 0xaa is not valid UTF-8, so use RFC 2104's
        // rule directly: a long key equals its MD5 as key.
        let long = "k".repeat(100);
        use md5::Digest as _;
        let short: [u8; 16] = md5::Md5::digest(long.as_bytes()).into();
        let a = CramMd5Credentials::derive(&long).digest(b"challenge");
        // HMAC with the 16-byte MD5 as key, computed through the same construction.
        let mut key = [0u8; 64];
        key[..16].copy_from_slice(&short);
        let inner = md5::Md5::new()
            .chain_update(key.map(|b| b ^ 0x36))
            .chain_update(b"challenge")
            .finalize();
        let b: [u8; 16] = md5::Md5::new()
            .chain_update(key.map(|b| b ^ 0x5c))
            .chain_update(inner)
            .finalize()
            .into();
        assert_eq!(a, b);
    }

    #[test]
    fn password_hash_verifies_and_hides() {
        let hash = PasswordHash::derive_with("pencil", &cheap()).unwrap();
        assert!(hash.phc().expose().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(hash.verify("pencil"));
        assert!(!hash.verify("Pencil"));
        assert!(!format!("{hash:?}").contains("argon2"));
        let again = PasswordHash::from_phc(hash.phc().expose()).unwrap();
        assert!(again.verify("pencil"));
        assert!(PasswordHash::from_phc("plaintext").is_err());
    }

    #[test]
    fn saslprep_maps_and_refuses() {
        // RFC 4013 §3 examples.
        assert_eq!(saslprep("I\u{00AD}X").unwrap(), "IX");
        assert_eq!(saslprep("user").unwrap(), "user");
        assert_eq!(saslprep("\u{00AA}").unwrap(), "a");
        assert_eq!(saslprep("\u{2168}").unwrap(), "IX");
        assert!(saslprep("\u{0007}").is_err());
        assert!(saslprep("\u{0627}\u{0031}").is_err());
        // Non-ASCII space maps to space.
        assert_eq!(saslprep("a\u{00A0}b").unwrap(), "a b");
    }

    #[test]
    fn derive_prepares_password_and_refuses_prohibited() {
        let params = cheap();
        let a = StoredCredentials::derive_with("I\u{00AD}X", &params).unwrap();
        let scram = a.scram_sha256.as_ref().unwrap();
        let b = ScramCredentials::derive(ScramHash::Sha256, "IX", scram.salt(), scram.iterations())
            .unwrap();
        assert_eq!(scram.stored_key().expose(), b.stored_key().expose());
        assert!(a.password_hash.as_ref().unwrap().verify("IX"));
        assert!(matches!(
            StoredCredentials::derive_with("bell\u{0007}", &params),
            Err(CredentialsError::Prohibited { .. })
        ));
        assert_eq!(
            StoredCredentials::derive_with("", &params).unwrap_err(),
            CredentialsError::Empty
        );
        let debug = format!("{a:?}");
        assert!(!debug.contains(&hex(b.stored_key().expose())));
        assert!(debug.contains("Secret(***)"));
    }

    #[test]
    fn from_parts_checks_sizes() {
        let iterations = NonZeroU32::new(4096).unwrap();
        assert!(
            ScramCredentials::from_parts(
                ScramHash::Sha256,
                vec![1],
                iterations,
                vec![0; 20],
                vec![0; 32]
            )
            .is_err()
        );
        assert!(
            ScramCredentials::from_parts(
                ScramHash::Sha1,
                vec![],
                iterations,
                vec![0; 20],
                vec![0; 20]
            )
            .is_err()
        );
        assert!(
            ScramCredentials::from_parts(
                ScramHash::Sha1,
                vec![1],
                iterations,
                vec![0; 20],
                vec![0; 20]
            )
            .is_ok()
        );
    }

    pub(crate) fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
