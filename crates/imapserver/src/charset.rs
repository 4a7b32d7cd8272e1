//! Charsets of SEARCH, SORT and THREAD strings (`CHARSET` argument, RFC 9051 §6.4.4): UTF-8 and
//! US-ASCII always, and the labels of the WHATWG Encoding Standard (ISO-8859-*, windows-125x,
//! ...) through `encoding_rs`.

/// Decodes search strings of one charset.
#[derive(Debug, Clone, Copy)]
pub struct Decoder(&'static encoding_rs::Encoding);

/// The decoder for a charset name, or `None` if unknown (BADCHARSET).
pub fn decoder(charset: &str) -> Option<Decoder> {
    if charset.eq_ignore_ascii_case("US-ASCII") || charset.eq_ignore_ascii_case("UTF-8") {
        return Some(Decoder(encoding_rs::UTF_8));
    }
    encoding_rs::Encoding::for_label(charset.as_bytes()).map(Decoder)
}

impl Decoder {
    /// Decodes bytes (invalid sequences become U+FFFD).
    pub fn decode(self, b: &[u8]) -> String {
        self.0.decode_without_bom_handling(b).0.into_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn charsets() {
        assert_eq!(super::decoder("utf-8").unwrap().decode("é".as_bytes()), "é");
        assert_eq!(super::decoder("ISO-8859-1").unwrap().decode(b"\xe9"), "é");
        assert!(super::decoder("X-UNKNOWN").is_none());
    }
}
