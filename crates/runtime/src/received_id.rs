//! Received IDs: the public form of a connection id, as mox puts it in `Received:` headers
//! and SMTP replies, and as `mox cid` turns back into the connection id of the logs.
//!
//! The connection id counts connections, so publishing it would tell how busy a server is. mox
//! encrypts it instead: one AES-128 block holding 8 random bytes and the id (big-endian),
//! under a per-installation key, written as unpadded base64url (22 characters). Only the
//! holder of the key (the file `receivedid.key` in the data directory: 16 bytes key, 8 bytes
//! random) can turn it back, and the random half shows whether the key was the right one.
//!
//! ```
//! use runtime::received_id::ReceivedIdKey;
//!
//! let key = ReceivedIdKey::from_file_data(&[7u8; 24])?;
//! let id = key.encode(0x18f0c2a1b23);
//! assert_eq!(id.len(), 22);
//! assert_eq!(key.decode(&id)?, 0x18f0c2a1b23);
//! # Ok::<(), runtime::received_id::ReceivedIdError>(())
//! ```

use aes::Aes128;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use base64::Engine as _;

/// The size of `receivedid.key`: an AES-128 key and 8 random bytes.
pub const KEY_FILE_SIZE: usize = 16 + 8;

/// The key of `receivedid.key`, for encoding and decoding received IDs.
#[derive(Clone)]
pub struct ReceivedIdKey {
    cipher: Aes128,
    random: [u8; 8],
}

/// Why a received ID or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceivedIdError {
    /// The key file does not have 24 bytes.
    #[error("bad key data: got {got} bytes, expect 16+8=24")]
    KeyLength {
        /// The size found.
        got: usize,
    },
    /// The ID is not unpadded base64url.
    #[error("decode base64: {0}")]
    Base64(String),
    /// The ID does not decode to one AES block.
    #[error("bad length, got {got}, expect 16")]
    Length {
        /// The decoded size.
        got: usize,
    },
    /// The ID was not made with this key (or was altered).
    #[error("rand mismatch: the id was not made with this installation's receivedid.key")]
    RandomMismatch,
}

impl ReceivedIdKey {
    /// The key from the contents of `receivedid.key`.
    pub fn from_file_data(data: &[u8]) -> Result<ReceivedIdKey, ReceivedIdError> {
        if data.len() != KEY_FILE_SIZE {
            return Err(ReceivedIdError::KeyLength { got: data.len() });
        }
        let cipher = Aes128::new_from_slice(&data[..16])
            .map_err(|_| ReceivedIdError::KeyLength { got: data.len() })?;
        let mut random = [0u8; 8];
        random.copy_from_slice(&data[16..]);
        Ok(ReceivedIdKey { cipher, random })
    }

    /// The key of the data directory's `receivedid.key`, which is created (24 random bytes,
    /// mode 0660, flushed) if it does not exist yet, as `mox serve` does at startup. An
    /// existing file of the wrong size is an error: replacing it would make earlier IDs
    /// undecodable.
    pub fn load_or_create(data_dir: &std::path::Path) -> std::io::Result<ReceivedIdKey> {
        use std::io::Write as _;
        let path = data_dir.join("receivedid.key");
        let invalid = |e: ReceivedIdError| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
        };
        match std::fs::read(&path) {
            Ok(data) => return ReceivedIdKey::from_file_data(&data).map_err(invalid),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            Err(_) => {}
        }
        let mut data = [0u8; KEY_FILE_SIZE];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut data)
            .map_err(|_| std::io::Error::other("no randomness for receivedid.key"))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o660);
        match options.open(&path) {
            Ok(mut f) => {
                f.write_all(&data)?;
                f.sync_all()?;
                ReceivedIdKey::from_file_data(&data).map_err(invalid)
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                ReceivedIdKey::from_file_data(&std::fs::read(&path)?).map_err(invalid)
            }
            Err(e) => Err(e),
        }
    }

    /// The received ID of connection id `cid`.
    pub fn encode(&self, cid: u64) -> String {
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&self.random);
        block[8..].copy_from_slice(&cid.to_be_bytes());
        let mut block = block.into();
        self.cipher.encrypt_block(&mut block);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(block)
    }

    /// The connection id in a received ID.
    pub fn decode(&self, id: &str) -> Result<u64, ReceivedIdError> {
        let data = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id.trim())
            .map_err(|e| ReceivedIdError::Base64(e.to_string()))?;
        let data: [u8; 16] =
            data.try_into().map_err(|d: Vec<u8>| ReceivedIdError::Length { got: d.len() })?;
        let mut block = data.into();
        self.cipher.decrypt_block(&mut block);
        let block: [u8; 16] = block.into();
        if block[..8] != self.random {
            return Err(ReceivedIdError::RandomMismatch);
        }
        let mut cid = [0u8; 8];
        cid.copy_from_slice(&block[8..]);
        Ok(u64::from_be_bytes(cid))
    }
}

/// For the fuzz target `runtime_received_id`: the first 24 bytes are a key, the rest an ID to
/// decode (must not panic); and every cid encoded with the key decodes to itself.
#[doc(hidden)]
pub fn fuzz_round_trip(data: &[u8]) {
    let Some((key, rest)) = data.split_at_checked(KEY_FILE_SIZE) else { return };
    let Ok(key) = ReceivedIdKey::from_file_data(key) else { return };
    let _ = key.decode(&String::from_utf8_lossy(rest));
    let mut cid = [0u8; 8];
    let n = rest.len().min(8);
    cid[..n].copy_from_slice(&rest[..n]);
    let cid = u64::from_be_bytes(cid);
    assert_eq!(key.decode(&key.encode(cid)), Ok(cid));
}

impl std::fmt::Debug for ReceivedIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.write_str("ReceivedIdKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key mox's own tests use (mox-/recvid.go init): "0123456701234567" and "01234567".
    fn mox_test_key() -> ReceivedIdKey {
        ReceivedIdKey::from_file_data(b"012345670123456701234567").expect("key")
    }

    #[test]
    fn round_trip_and_wrong_key() {
        let key = mox_test_key();
        for cid in [0, 1, 0x18f0c2a1b23, u64::MAX] {
            let id = key.encode(cid);
            assert_eq!(id.len(), 22, "{id}");
            assert_eq!(key.decode(&id), Ok(cid));
        }
        let other = ReceivedIdKey::from_file_data(&[1u8; 24]).expect("key");
        assert_eq!(other.decode(&key.encode(5)), Err(ReceivedIdError::RandomMismatch));
    }

    #[test]
    fn matches_aes_128_as_specified() {
        // FIPS-197 appendix C.1: AES-128 of 00112233..ff under key 000102..0f.
        let mut data = (0u8..16).collect::<Vec<u8>>();
        data.extend_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]);
        let key = ReceivedIdKey::from_file_data(&data).expect("key");
        let id = key.encode(0x8899_aabb_ccdd_eeff);
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&id).expect("b64");
        let expected = [
            0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
            0xc5, 0x5a,
        ];
        assert_eq!(raw, expected);
    }

    #[test]
    fn key_file_is_created_once_and_then_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = ReceivedIdKey::load_or_create(dir.path()).expect("created");
        let data = std::fs::read(dir.path().join("receivedid.key")).expect("written");
        assert_eq!(data.len(), KEY_FILE_SIZE);
        let again = ReceivedIdKey::load_or_create(dir.path()).expect("loaded");
        assert_eq!(again.decode(&first.encode(42)), Ok(42));
        std::fs::write(dir.path().join("receivedid.key"), b"short").expect("write");
        let err = ReceivedIdKey::load_or_create(dir.path()).expect_err("bad size");
        assert!(err.to_string().contains("expect 16+8=24"), "{err}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let key = mox_test_key();
        assert_eq!(
            ReceivedIdKey::from_file_data(&[0u8; 16]).err(),
            Some(ReceivedIdError::KeyLength { got: 16 })
        );
        assert!(matches!(key.decode("!!"), Err(ReceivedIdError::Base64(_))));
        assert_eq!(key.decode("AAAA"), Err(ReceivedIdError::Length { got: 3 }));
    }
}
