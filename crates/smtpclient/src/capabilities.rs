//! The service extensions a server announces in its EHLO reply (RFC 5321 §4.1.1.1).
//!
//! ```text
//! ehlo-ok-rsp  = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!              / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                *( "250-" ehlo-line CRLF )
//!                "250" SP ehlo-line CRLF )
//! ehlo-line    = ehlo-keyword *( SP ehlo-param )
//! ```

use crate::reply::Reply;

/// What the server supports, from its EHLO reply. After HELO, everything is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The server's name from the first line.
    pub server_name: String,
    /// PIPELINING (RFC 2920): MAIL, RCPT and DATA may be sent in one batch.
    pub pipelining: bool,
    /// SIZE (RFC 1870): `Some(limit)`, where 0 means no announced limit.
    pub size: Option<u64>,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// AUTH (RFC 4954): the mechanism names offered, uppercased.
    pub auth: Vec<String>,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// REQUIRETLS (RFC 8689).
    pub requiretls: bool,
    /// CHUNKING (RFC 3030): BDAT.
    pub chunking: bool,
    /// BINARYMIME (RFC 3030).
    pub binary_mime: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// Every extension line as sent (keyword and parameters), for logging and the rest.
    pub lines: Vec<String>,
}

impl Capabilities {
    /// Reads the extensions from a successful EHLO reply. Unknown keywords are kept only in
    /// [`lines`](Capabilities::lines); malformed parameters are ignored, never fatal.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        let mut lines = reply.lines().iter();
        caps.server_name =
            lines.next().and_then(|l| l.split(' ').next()).unwrap_or_default().to_string();
        for line in lines {
            caps.lines.push(line.clone());
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else { continue };
            let keyword = keyword.to_ascii_uppercase();
            // Old servers announce "AUTH=PLAIN LOGIN" (before RFC 4954 was final).
            let (keyword, first_param) = match keyword.split_once('=') {
                Some((k, p)) => (k.to_string(), Some(p.to_string())),
                None => (keyword, None),
            };
            let params: Vec<String> =
                first_param.into_iter().chain(words.map(str::to_string)).collect();
            match keyword.as_str() {
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => {
                    caps.size = Some(params.first().and_then(|p| p.parse().ok()).unwrap_or(0))
                }
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "STARTTLS" => caps.starttls = true,
                "AUTH" => {
                    for mechanism in params {
                        let mechanism = mechanism.to_ascii_uppercase();
                        if !mechanism.is_empty() && !caps.auth.contains(&mechanism) {
                            caps.auth.push(mechanism);
                        }
                    }
                }
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                "REQUIRETLS" => caps.requiretls = true,
                "CHUNKING" => caps.chunking = true,
                "BINARYMIME" => caps.binary_mime = true,
                "DSN" => caps.dsn = true,
                _ => {}
            }
        }
        caps
    }

    /// Whether the server offers a SASL mechanism (by name, case-insensitively).
    pub fn offers_auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::parse_reply;

    #[test]
    fn postfix_style_ehlo() {
        let text = b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN login\r\n250-AUTH=PLAIN LOGIN CRAM-MD5\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
        let (reply, _) = parse_reply(text).unwrap().unwrap();
        let caps = Capabilities::from_ehlo(&reply);
        assert_eq!(caps.server_name, "mx.example.org");
        assert!(
            caps.pipelining
                && caps.starttls
                && caps.eight_bit_mime
                && caps.smtputf8
                && caps.chunking
                && caps.dsn
        );
        assert!(caps.enhanced_status_codes && !caps.requiretls && !caps.binary_mime);
        assert_eq!(caps.size, Some(10240000));
        assert_eq!(caps.auth, ["PLAIN", "LOGIN", "CRAM-MD5"]);
        assert!(caps.offers_auth("cram-md5"));
        assert_eq!(caps.lines.len(), 12);
    }

    #[test]
    fn size_without_limit_and_junk() {
        let (reply, _) =
            parse_reply(b"250-x\r\n250-SIZE\r\n250-\r\n250 REQUIRETLS\r\n").unwrap().unwrap();
        let caps = Capabilities::from_ehlo(&reply);
        assert_eq!(caps.size, Some(0));
        assert!(caps.requiretls);
        let (reply, _) = parse_reply(b"250 x\r\n").unwrap().unwrap();
        assert_eq!(
            Capabilities::from_ehlo(&reply),
            Capabilities { server_name: "x".into(), ..Default::default() }
        );
    }
}
