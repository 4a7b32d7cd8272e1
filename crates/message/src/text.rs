//! Small byte and text helpers shared by the parsers.

use std::borrow::Cow;

pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Bytes as text: UTF-8 when valid (RFC 6532 allows UTF-8 in headers), otherwise Windows-1252,
/// the usual guess for raw 8-bit header bytes, which maps every byte to some character.
pub(crate) fn bytes_to_text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(b).0,
    }
}
