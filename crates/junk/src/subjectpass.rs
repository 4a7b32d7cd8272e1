//! SubjectPass (mox's `subjectpass` package): a first-time sender whose message looks like
//! spam is refused with a token; sending the message again with the token in its subject
//! gets it accepted, for a configured period.
//!
//! A token is `(pass:` base64url(4 bytes: version 0 in the top 4 bits and the signing time
//! in seconds in the remaining 36, then the first 12 bytes of HMAC-SHA256(key, those 4 bytes
//! ‖ the From address)) `)`, as mox makes it, so a token a sender got from mox works here
//! the same way. Keys are per recipient address: [`address_key`] derives one from the
//! account's secret ([`account_secret`], a file in the account directory).
//!
//! ```
//! use junk::subjectpass::{generate, verify, Invalid};
//!
//! let key = b"per-address key";
//! let token = generate(key, "sender@example.org", 1_700_000_000);
//! let subject = format!("Re: our meeting {token}");
//! assert_eq!(verify(key, &subject, "sender@example.org", 1_700_000_100, 3600), Ok(()));
//! assert_eq!(verify(key, &subject, "other@example.org", 1_700_000_100, 3600), Err(Invalid::Mismatch));
//! assert_eq!(verify(key, &subject, "sender@example.org", 1_700_010_000, 3600), Err(Invalid::Expired));
//! ```

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use ring::hmac;

use crate::Error;

/// Why a subject has no valid token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// No `(pass:...)` in the subject.
    Absent,
    /// Not a token of ours (bad base64, length or version).
    Malformed,
    /// Signed for another address or with another key.
    Mismatch,
    /// Older than the period.
    Expired,
}

/// The token for a message from `from` (the From address, as `localpart@domain`), signed at
/// `unix` seconds: `(pass:...)`, to append to [`crate::decision::SUBJECT_PASS_EXPLANATION`].
pub fn generate(key: &[u8], from: &str, unix: i64) -> String {
    let t = unix.max(0) as u64;
    let head = [((t >> 32) & 0x0f) as u8, (t >> 24) as u8, (t >> 16) as u8, (t >> 8) as u8];
    let mut buf = head.to_vec();
    buf.extend_from_slice(&mac(key, &head, from));
    format!("(pass:{})", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// Checks the token in `subject` for a message from `from`, at `now` seconds, valid for
/// `period_secs` after signing.
pub fn verify(
    key: &[u8],
    subject: &str,
    from: &str,
    now: i64,
    period_secs: u64,
) -> Result<(), Invalid> {
    let (_, rest) = subject.split_once("(pass:").ok_or(Invalid::Absent)?;
    let (token, _) = rest.split_once(')').ok_or(Invalid::Absent)?;
    let buf = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| Invalid::Malformed)?;
    if buf.len() != 16 || buf[0] >> 4 != 0 {
        return Err(Invalid::Malformed);
    }
    let tag = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut msg = buf[..4].to_vec();
    msg.extend_from_slice(from.as_bytes());
    let want = hmac::sign(&tag, &msg);
    if !constant_time_eq(&want.as_ref()[..12], &buf[4..]) {
        return Err(Invalid::Mismatch);
    }
    let signed = i64::from(buf[0] & 0x0f) << 32
        | i64::from(buf[1]) << 24
        | i64::from(buf[2]) << 16
        | i64::from(buf[3]) << 8;
    if now.saturating_sub(signed) > i64::try_from(period_secs).unwrap_or(i64::MAX) {
        return Err(Invalid::Expired);
    }
    Ok(())
}

/// The key for tokens to recipient `address` of an account with secret `secret`.
pub fn address_key(secret: &[u8], address: &str) -> Vec<u8> {
    let k = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::sign(&k, address.to_lowercase().as_bytes()).as_ref().to_vec()
}

/// The account's SubjectPass secret, in `subjectpass.key` in the account directory; made (32
/// random bytes, written and flushed, readable by the owner only) the first time.
pub fn account_secret(account_dir: &Path) -> Result<Vec<u8>, Error> {
    let path = account_dir.join("subjectpass.key");
    match std::fs::read(&path) {
        Ok(k) if k.len() == 32 => return Ok(k),
        Ok(_) => return Err(Error::Corrupt { path, what: "subjectpass key" }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&path, "read subjectpass key", e)),
    }
    let mut key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
        .map_err(|_| Error::io(&path, "generate subjectpass key", std::io::Error::other("rng")))?;
    let tmp = account_dir.join("subjectpass.key.tmp");
    let write = || -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(account_dir)?.sync_all()
    };
    write().map_err(|e| Error::io(&path, "write subjectpass key", e))?;
    // Two deliveries may race to make the key: the file that won is the key.
    std::fs::read(&path).map_err(|e| Error::io(&path, "read subjectpass key", e))
}

fn mac(key: &[u8], head: &[u8; 4], from: &str) -> [u8; 12] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut msg = head.to_vec();
    msg.extend_from_slice(from.as_bytes());
    let tag = hmac::sign(&k, &msg);
    let mut out = [0u8; 12];
    out.copy_from_slice(&tag.as_ref()[..12]);
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout of mox's `subjectpass.Generate`: version and time in the first 4 bytes,
    /// then 12 bytes of HMAC-SHA256. The pinned token was computed with Python's `hmac` and
    /// `base64` modules following mox's Go code.
    #[test]
    fn token_format_matches_mox() {
        let t = generate(b"test", "mjl@mox.example", 1_700_000_000);
        assert_eq!(t, "(pass:AGVT8fSwsN3PzG5zfXGYxg)");
        assert!(t.starts_with("(pass:") && t.ends_with(')'), "{t}");
        let raw =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&t[6..t.len() - 1]).unwrap();
        assert_eq!(raw.len(), 16);
        // 1700000000 = 0x6553_F100: version 0, time bits 0x0_6553F1.
        assert_eq!(&raw[..4], &[0x00, 0x65, 0x53, 0xf1]);
        assert_eq!(
            verify(b"test", &format!("x {t} y"), "mjl@mox.example", 1_700_000_000, 1),
            Ok(())
        );
        assert_eq!(
            verify(b"other", &t, "mjl@mox.example", 1_700_000_000, 1),
            Err(Invalid::Mismatch)
        );
        assert_eq!(verify(b"test", "no token", "a@b", 0, 1), Err(Invalid::Absent));
        assert_eq!(verify(b"test", "(pass:!!)", "a@b", 0, 1), Err(Invalid::Malformed));
    }

    #[test]
    fn account_secret_is_made_once() {
        let d = tempfile::tempdir().unwrap();
        let a = account_secret(d.path()).unwrap();
        assert_eq!(a.len(), 32);
        assert_eq!(account_secret(d.path()).unwrap(), a);
        assert_ne!(address_key(&a, "a@b.example"), address_key(&a, "c@b.example"));
        assert_eq!(address_key(&a, "A@b.example"), address_key(&a, "a@b.example"));
    }
}
