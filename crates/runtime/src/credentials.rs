//! The encoding of `sasl::StoredCredentials` kept in an account's database: one line per
//! mechanism family, text, versioned by its first line, so it can be read by people
//! debugging and extended without breaking old accounts.
//!
//! ```text
//! mox-rs credentials v1
//! scram-sha-1 <salt base64> <iterations> <stored key base64> <server key base64>
//! scram-sha-256 <salt base64> <iterations> <stored key base64> <server key base64>
//! cram-md5 <inner state base64> <outer state base64>
//! password <PHC string, e.g. $argon2id$v=19$...>
//! ```

use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sasl::{CramMd5Credentials, PasswordHash, ScramCredentials, ScramHash, StoredCredentials};

const HEADER: &str = "mox-rs credentials v1";

/// Stored credentials that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored login credentials are malformed: {reason}")]
pub struct MalformedCredentials {
    /// What is wrong.
    pub reason: String,
}

/// Encodes credentials for [`store::Account::set_login_credentials`].
pub fn encode(c: &StoredCredentials) -> Vec<u8> {
    let mut out = format!("{HEADER}\n");
    for (name, s) in [("scram-sha-1", &c.scram_sha1), ("scram-sha-256", &c.scram_sha256)] {
        if let Some(s) = s {
            out += &format!(
                "{name} {} {} {} {}\n",
                BASE64.encode(s.salt()),
                s.iterations(),
                BASE64.encode(s.stored_key().expose()),
                BASE64.encode(s.server_key().expose())
            );
        }
    }
    if let Some(c) = &c.cram_md5 {
        out += &format!(
            "cram-md5 {} {}\n",
            BASE64.encode(c.inner_state().expose()),
            BASE64.encode(c.outer_state().expose())
        );
    }
    if let Some(p) = &c.password_hash {
        out += &format!("password {}\n", p.phc().expose());
    }
    out.into_bytes()
}

/// Decodes what [`encode`] wrote.
pub fn decode(data: &[u8]) -> Result<StoredCredentials, MalformedCredentials> {
    let bad = |reason: &str| MalformedCredentials { reason: reason.to_string() };
    let text = std::str::from_utf8(data).map_err(|_| bad("not UTF-8"))?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(bad("unknown format (first line)"));
    }
    let b64 = |s: Option<&str>| -> Result<Vec<u8>, MalformedCredentials> {
        BASE64.decode(s.ok_or_else(|| bad("missing field"))?).map_err(|_| bad("bad base64"))
    };
    let mut out = StoredCredentials::default();
    for line in lines {
        let mut f = line.split(' ');
        match f.next() {
            Some(kind @ ("scram-sha-1" | "scram-sha-256")) => {
                let hash = if kind == "scram-sha-1" { ScramHash::Sha1 } else { ScramHash::Sha256 };
                let salt = b64(f.next())?;
                let iterations: NonZeroU32 = f
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("bad SCRAM iteration count"))?;
                let (stored, server) = (b64(f.next())?, b64(f.next())?);
                let s = ScramCredentials::from_parts(hash, salt, iterations, stored, server)
                    .map_err(|e| bad(&e.to_string()))?;
                if kind == "scram-sha-1" {
                    out.scram_sha1 = Some(s);
                } else {
                    out.scram_sha256 = Some(s);
                }
            }
            Some("cram-md5") => {
                let state = |v: Vec<u8>| -> Result<[u8; 16], MalformedCredentials> {
                    v.try_into().map_err(|_| bad("CRAM-MD5 state is not 16 bytes"))
                };
                let inner = state(b64(f.next())?)?;
                let outer = state(b64(f.next())?)?;
                out.cram_md5 = Some(CramMd5Credentials::from_parts(inner, outer));
            }
            Some("password") => {
                let phc = f.next().ok_or_else(|| bad("missing password hash"))?;
                out.password_hash =
                    Some(PasswordHash::from_phc(phc).map_err(|e| bad(&e.to_string()))?);
            }
            // Lines of later versions' mechanisms are skipped rather than refused, so an
            // account written by a newer version still logs in with what this one knows.
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sasl::DeriveParams;

    fn cheap() -> DeriveParams {
        DeriveParams {
            scram_iterations: NonZeroU32::new(16).unwrap(),
            argon2_memory_kib: 64,
            argon2_passes: 1,
        }
    }

    #[test]
    fn round_trip_keeps_every_mechanism_working() {
        let c = StoredCredentials::derive_with("correct horse", &cheap()).unwrap();
        let back = decode(&encode(&c)).unwrap();
        assert!(back.password_hash.as_ref().unwrap().verify("correct horse"));
        assert!(!back.password_hash.as_ref().unwrap().verify("wrong"));
        for h in [ScramHash::Sha1, ScramHash::Sha256] {
            let (a, b) = (c.scram(h).unwrap(), back.scram(h).unwrap());
            assert_eq!(a.salt(), b.salt());
            assert_eq!(a.iterations(), b.iterations());
            assert_eq!(a.stored_key().expose(), b.stored_key().expose());
            assert_eq!(a.server_key().expose(), b.server_key().expose());
        }
        let (a, b) = (c.cram_md5.as_ref().unwrap(), back.cram_md5.as_ref().unwrap());
        assert_eq!(a.inner_state().expose(), b.inner_state().expose());
        assert_eq!(a.outer_state().expose(), b.outer_state().expose());
        assert!(!String::from_utf8(encode(&back)).unwrap().contains("correct horse"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"something else\n",
            b"mox-rs credentials v1\nscram-sha-1 !!! 4096 a b\n",
            b"mox-rs credentials v1\nscram-sha-256 c2FsdA== 0 AA== AA==\n",
            b"mox-rs credentials v1\ncram-md5 AA== AA==\n",
            b"mox-rs credentials v1\npassword notphc\n",
            b"\xff",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        let future = decode(b"mox-rs credentials v1\nscram-sha-512 x y z\n").unwrap();
        assert!(future.scram_sha1.is_none() && future.password_hash.is_none());
    }
}
