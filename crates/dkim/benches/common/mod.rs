//! What the `dkim` bench and the `verify_profile` example share: the message, the key, a
//! resolver answering from memory, and the pieces of the ring limit. Included by both with
//! `mod common;` / `#[path]`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use dns::{Domain, Lookup, LookupError, LookupResult, Mx, Resolver, Tlsa};

pub(crate) fn key_pem() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim/keys/rsa2048.pem");
    std::fs::read_to_string(path).unwrap()
}

/// A message of about `size` bytes: a text part and a base64 attachment, CRLF lines.
pub(crate) fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: Jane Doe <jane@example.org>\r\nTo: Bob <bob@example.net>\r\n\
        Cc: Carol <carol@example.net>\r\nSubject: Quarterly figures, as promised\r\n\
        Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <bench@example.org>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    // Prose, with now and then what relaxed canonicalization rewrites: a tab, two spaces,
    // trailing whitespace, an empty line.
    for i in 0..40 {
        let line = match i % 8 {
            3 => format!("Line {i} of the text part:\tnumbers  and a trailing space \r\n"),
            7 => "\r\n".to_string(),
            _ => format!("Line {i} of the text part, in plain sentences like most mail has.\r\n"),
        };
        m.extend_from_slice(line.as_bytes());
    }
    m.extend_from_slice(
        b"\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u32 = 1;
    while m.len() + 80 < size {
        for _ in 0..76 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            m.push(B64[(x >> 16) as usize % 64]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

/// Answers TXT lookups for one name from memory, like a resolver's cache; nothing else.
pub(crate) struct Cached {
    pub(crate) name: Domain,
    pub(crate) txt: String,
}

#[dns::async_trait]
impl Resolver for Cached {
    async fn lookup_txt(&self, name: &Domain) -> LookupResult<String> {
        if *name == self.name {
            Ok(Lookup { records: vec![self.txt.clone()], authentic: false })
        } else {
            Err(LookupError::NxDomain { name: name.clone(), authentic: false })
        }
    }
    async fn lookup_a(&self, name: &Domain) -> LookupResult<Ipv4Addr> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_aaaa(&self, name: &Domain) -> LookupResult<Ipv6Addr> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_mx(&self, name: &Domain) -> LookupResult<Mx> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_ptr(&self, ip: IpAddr) -> LookupResult<Domain> {
        Err(LookupError::NxDomain { name: Domain::reverse_lookup_name(ip), authentic: false })
    }
    async fn lookup_cname(&self, name: &Domain) -> LookupResult<Domain> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
    async fn lookup_tlsa(&self, name: &Domain) -> LookupResult<Tlsa> {
        Err(LookupError::NxDomain { name: name.clone(), authentic: false })
    }
}

/// What a verifier without a cache must do with the key record to verify: find `p=`, decode
/// its base64, and take the RSAPublicKey out of the SubjectPublicKeyInfo (for RSA-2048 the
/// part after a fixed 24-byte prefix, which is checked).
pub(crate) fn key_from_txt(txt: &str) -> Vec<u8> {
    use base64::Engine;
    const SPKI_RSA_2048: [u8; 24] = [
        0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
        0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00,
    ];
    let p = txt.find("p=").map(|i| &txt[i + 2..]).unwrap();
    let mut spki = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
    assert_eq!(spki[..24], SPKI_RSA_2048);
    spki.drain(..24);
    spki
}

/// RFC 6376 §3.7 for a message whose header fields are all signed once: each field
/// canonicalized, then the DKIM-Signature field (`sig_field`) with an empty b= and no CRLF.
pub(crate) fn signed_header_data(msg: &[u8], sig_field: &str) -> Vec<u8> {
    use dkim::{Canon, canonicalize_header};
    let mut data = Vec::new();
    for field in message::Header::parse(msg).iter() {
        data.extend(canonicalize_header(Canon::Relaxed, field.raw()));
    }
    let without_b = &sig_field[..sig_field.rfind("b=").unwrap() + 2];
    data.extend(canonicalize_header(Canon::Relaxed, without_b.as_bytes()));
    data.truncate(data.len() - 2);
    data
}

pub(crate) fn pkcs8_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}
