//! SCRAM (RFC 5802, RFC 7677): the key derivation and the message syntax shared by the client
//! and server sides.
//!
//! ```text
//! SaltedPassword  := Hi(Normalize(password), salt, i)      ; PBKDF2 with HMAC-H
//! ClientKey       := HMAC(SaltedPassword, "Client Key")
//! StoredKey       := H(ClientKey)
//! AuthMessage     := client-first-message-bare + "," + server-first-message + "," +
//!                    client-final-message-without-proof
//! ClientSignature := HMAC(StoredKey, AuthMessage)
//! ClientProof     := ClientKey XOR ClientSignature
//! ServerKey       := HMAC(SaltedPassword, "Server Key")
//! ServerSignature := HMAC(ServerKey, AuthMessage)
//! ```

use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The hash function of a SCRAM mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScramHash {
    /// SHA-1, for SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SHA-256, for SCRAM-SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    /// The size of keys and signatures: the hash output size.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    fn hmac_algorithm(self) -> ring::hmac::Algorithm {
        match self {
            ScramHash::Sha1 => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => ring::hmac::HMAC_SHA256,
        }
    }

    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        let key = ring::hmac::Key::new(self.hmac_algorithm(), key);
        ring::hmac::sign(&key, data).as_ref().to_vec()
    }

    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            ScramHash::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => &ring::digest::SHA256,
        };
        ring::digest::digest(algorithm, data).as_ref().to_vec()
    }

    /// `Hi()`: PBKDF2 with HMAC of this hash, output size = hash size.
    pub(crate) fn salted_password(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: NonZeroU32,
    ) -> Vec<u8> {
        let algorithm = match self {
            ScramHash::Sha1 => ring::pbkdf2::PBKDF2_HMAC_SHA1,
            ScramHash::Sha256 => ring::pbkdf2::PBKDF2_HMAC_SHA256,
        };
        let mut out = vec![0u8; self.output_len()];
        ring::pbkdf2::derive(algorithm, iterations, salt, password, &mut out);
        out
    }

    pub(crate) fn client_key(self, salted_password: &[u8]) -> Vec<u8> {
        self.hmac(salted_password, b"Client Key")
    }

    pub(crate) fn server_key(self, salted_password: &[u8]) -> Vec<u8> {
        self.hmac(salted_password, b"Server Key")
    }
}

/// The GS2 channel binding flag (RFC 5802 §7: `gs2-cbind-flag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CbindFlag {
    /// `n`: the client does not support channel binding.
    NotSupported,
    /// `y`: the client supports channel binding but thinks the server does not.
    ServerLacksSupport,
    /// `p=<cb-name>`: the client binds to the named channel.
    Bound(String),
}

/// A parsed client-first-message.
#[derive(Debug)]
pub(crate) struct ClientFirst {
    pub(crate) cbind: CbindFlag,
    pub(crate) authzid: Option<String>,
    /// `gs2-header` as sent, including its trailing comma: it is echoed in `c=`.
    pub(crate) gs2_header: String,
    /// `client-first-message-bare` as sent: part of the AuthMessage.
    pub(crate) bare: String,
    pub(crate) username: String,
    pub(crate) nonce: String,
}

/// Why a SCRAM message could not be parsed (mapped onto each side's error type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyntaxError {
    Malformed(&'static str),
    MandatoryExtension,
}

type Parsed<T> = Result<T, SyntaxError>;

fn malformed<T>(reason: &'static str) -> Parsed<T> {
    Err(SyntaxError::Malformed(reason))
}

/// ```text
/// client-first-message = gs2-header client-first-message-bare
/// gs2-header      = gs2-cbind-flag "," [ authzid ] ","
/// gs2-cbind-flag  = ("p=" cb-name) / "n" / "y"
/// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
/// ```
pub(crate) fn parse_client_first(message: &[u8]) -> Parsed<ClientFirst> {
    let message = std::str::from_utf8(message).or(malformed("not UTF-8"))?;
    let (flag, rest) =
        message.split_once(',').ok_or(SyntaxError::Malformed("missing gs2 header"))?;
    let cbind = match flag {
        "n" => CbindFlag::NotSupported,
        "y" => CbindFlag::ServerLacksSupport,
        _ => match flag.strip_prefix("p=") {
            Some(name) if !name.is_empty() && name.bytes().all(is_cb_name_char) => {
                CbindFlag::Bound(name.to_string())
            }
            _ => return malformed("invalid channel binding flag"),
        },
    };
    let (authzid, bare) =
        rest.split_once(',').ok_or(SyntaxError::Malformed("missing gs2 header"))?;
    let authzid = match authzid {
        "" => None,
        _ => match authzid.strip_prefix("a=") {
            Some(name) => Some(decode_saslname(name)?),
            None => return malformed("invalid authzid"),
        },
    };
    let gs2_header = message[..message.len() - bare.len()].to_string();

    let mut fields = bare.split(',');
    let mut username = fields.next().unwrap_or_default();
    if username.starts_with("m=") {
        return Err(SyntaxError::MandatoryExtension);
    }
    username = username.strip_prefix("n=").ok_or(SyntaxError::Malformed("missing username"))?;
    let username = decode_saslname(username)?;
    let nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .ok_or(SyntaxError::Malformed("missing nonce"))?;
    check_nonce(nonce)?;
    check_extensions(fields)?;
    Ok(ClientFirst {
        cbind,
        authzid,
        gs2_header,
        bare: bare.to_string(),
        username,
        nonce: nonce.to_string(),
    })
}

/// A parsed server-first-message.
#[derive(Debug)]
pub(crate) struct ServerFirst<'a> {
    pub(crate) nonce: &'a str,
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: u64,
}

/// ```text
/// server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
/// ```
pub(crate) fn parse_server_first(message: &str) -> Parsed<ServerFirst<'_>> {
    let mut fields = message.split(',');
    let mut first = fields.next().unwrap_or_default();
    if first.starts_with("m=") {
        return Err(SyntaxError::MandatoryExtension);
    }
    first = first.strip_prefix("r=").ok_or(SyntaxError::Malformed("missing nonce"))?;
    check_nonce(first)?;
    let salt = fields
        .next()
        .and_then(|f| f.strip_prefix("s="))
        .ok_or(SyntaxError::Malformed("missing salt"))?;
    let salt = BASE64.decode(salt).or(malformed("invalid base64 salt"))?;
    if salt.is_empty() {
        return malformed("empty salt");
    }
    let iterations = fields
        .next()
        .and_then(|f| f.strip_prefix("i="))
        .ok_or(SyntaxError::Malformed("missing iteration count"))?;
    if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return malformed("invalid iteration count");
    }
    let iterations = iterations.parse().unwrap_or(u64::MAX);
    check_extensions(fields)?;
    Ok(ServerFirst { nonce: first, salt, iterations })
}

/// A parsed client-final-message.
#[derive(Debug)]
pub(crate) struct ClientFinal<'a> {
    pub(crate) channel_binding: Vec<u8>,
    pub(crate) nonce: &'a str,
    /// `client-final-message-without-proof`: part of the AuthMessage.
    pub(crate) without_proof: &'a str,
    pub(crate) proof: Vec<u8>,
}

/// ```text
/// client-final-message-without-proof = channel-binding "," nonce ["," extensions]
/// client-final-message = client-final-message-without-proof "," proof
/// ```
pub(crate) fn parse_client_final(message: &[u8]) -> Parsed<ClientFinal<'_>> {
    let message = std::str::from_utf8(message).or(malformed("not UTF-8"))?;
    let (without_proof, proof) =
        message.rsplit_once(",p=").ok_or(SyntaxError::Malformed("missing proof"))?;
    let proof = BASE64.decode(proof).or(malformed("invalid base64 proof"))?;
    let mut fields = without_proof.split(',');
    let channel_binding = fields
        .next()
        .and_then(|f| f.strip_prefix("c="))
        .ok_or(SyntaxError::Malformed("missing channel binding"))?;
    let channel_binding =
        BASE64.decode(channel_binding).or(malformed("invalid base64 channel binding"))?;
    let nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .ok_or(SyntaxError::Malformed("missing nonce"))?;
    check_extensions(fields)?;
    Ok(ClientFinal { channel_binding, nonce, without_proof, proof })
}

/// A parsed server-final-message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ServerFinal {
    Verifier(Vec<u8>),
    Error(String),
}

/// ```text
/// server-final-message = (server-error / verifier) ["," extensions]
/// ```
pub(crate) fn parse_server_final(message: &str) -> Parsed<ServerFinal> {
    let mut fields = message.split(',');
    let first = fields.next().unwrap_or_default();
    let parsed = if let Some(value) = first.strip_prefix("e=") {
        ServerFinal::Error(value.to_string())
    } else if let Some(verifier) = first.strip_prefix("v=") {
        ServerFinal::Verifier(BASE64.decode(verifier).or(malformed("invalid base64 verifier"))?)
    } else {
        return malformed("neither verifier nor error");
    };
    check_extensions(fields)?;
    Ok(parsed)
}

/// `saslname`: `=2C` and `=3D` stand for `,` and `=`; other `=` are invalid (RFC 5802 §5.1).
pub(crate) fn encode_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

fn decode_saslname(name: &str) -> Parsed<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let escape = rest.get(pos..pos + 3);
        match escape {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return malformed("invalid escape in saslname"),
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return malformed("empty name");
    }
    Ok(out)
}

/// `printable = %x21-2B / %x2D-7E`: a nonce has no comma (split already removed those).
fn check_nonce(nonce: &str) -> Parsed<()> {
    if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return malformed("invalid nonce");
    }
    Ok(())
}

/// `extensions = attr-val *("," attr-val)`, each `ALPHA "=" value`: ignored, but checked.
fn check_extensions<'a>(fields: impl Iterator<Item = &'a str>) -> Parsed<()> {
    for field in fields {
        let bytes = field.as_bytes();
        if bytes.len() < 2 || !bytes[0].is_ascii_alphabetic() || bytes[1] != b'=' {
            return malformed("invalid extension attribute");
        }
    }
    Ok(())
}

fn is_cb_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// A fresh nonce: 18 random bytes in base64 (printable, no comma).
pub(crate) fn random_nonce() -> String {
    BASE64.encode(crate::random_bytes::<18>())
}

pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslname_escapes_round_trip() {
        let name = "a=b,c";
        assert_eq!(encode_saslname(name), "a=3Db=2Cc");
        assert_eq!(decode_saslname(&encode_saslname(name)), Ok(name.to_string()));
        assert!(decode_saslname("a=4Fb").is_err());
        assert!(decode_saslname("a=").is_err());
    }

    #[test]
    fn client_first_parses_gs2_header() {
        let first = parse_client_first(b"p=tls-exporter,a=admin,n=us=2Cer,r=abc,x=ext").unwrap();
        assert_eq!(first.cbind, CbindFlag::Bound("tls-exporter".into()));
        assert_eq!(first.authzid.as_deref(), Some("admin"));
        assert_eq!(first.gs2_header, "p=tls-exporter,a=admin,");
        assert_eq!(first.bare, "n=us=2Cer,r=abc,x=ext");
        assert_eq!(first.username, "us,er");
        assert_eq!(first.nonce, "abc");
    }

    #[test]
    fn client_first_rejects_bad_input() {
        for bad in [
            &b""[..],
            b"n",
            b"n,",
            b"x,,n=u,r=a",
            b"p=,,n=u,r=a",
            b"n,,r=a",
            b"n,,n=u",
            b"n,,n=u,r=",
            b"n,b,n=u,r=a",
            b"n,,n=u,r=a,=x",
            b"\xff,,",
        ] {
            assert!(matches!(parse_client_first(bad), Err(SyntaxError::Malformed(_))), "{bad:?}");
        }
        assert_eq!(
            parse_client_first(b"n,,m=x,n=u,r=a").unwrap_err(),
            SyntaxError::MandatoryExtension
        );
    }

    #[test]
    fn server_first_and_final() {
        let first = parse_server_first("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
        assert_eq!((first.nonce, first.iterations, first.salt.len()), ("abcdef", 4096, 12));
        assert!(parse_server_first("r=abc,s=,i=1").is_err());
        assert!(parse_server_first("r=abc,s=QQ==,i=-1").is_err());
        assert_eq!(
            parse_server_first("m=x,r=abc,s=QQ==,i=1").unwrap_err(),
            SyntaxError::MandatoryExtension
        );
        assert_eq!(
            parse_server_final("e=invalid-proof"),
            Ok(ServerFinal::Error("invalid-proof".into()))
        );
        assert_eq!(parse_server_final("v=AAE="), Ok(ServerFinal::Verifier(vec![0, 1])));
        assert!(parse_server_final("x=1").is_err());
    }
}
