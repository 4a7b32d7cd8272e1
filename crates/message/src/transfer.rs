//! Content-Transfer-Encoding decoders (RFC 2045 §6.7 quoted-printable, §6.8 base64), lenient as
//! mail readers must be: garbage in base64 is skipped, broken quoted-printable escapes are kept
//! literally.

/// Decodes base64, ignoring every byte outside the alphabet (line endings, spaces, garbage) and
/// stopping at the first `=` pad. Trailing bits that do not make a whole byte are dropped.
///
/// ```
/// assert_eq!(message::decode_base64(b"aGVs\r\nbG8=\r\n"), b"hello");
/// assert_eq!(message::decode_base64(b"aG!V*sbG8"), b"hello");
/// ```
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    // Fast path over whole 4-byte groups of alphabet characters (the bulk of a base64 body).
    let mut i = 0;
    while i < input.len() {
        if bits == 0 && i + 4 <= input.len() {
            let (a, b, c, d) = (
                BASE64[input[i] as usize],
                BASE64[input[i + 1] as usize],
                BASE64[input[i + 2] as usize],
                BASE64[input[i + 3] as usize],
            );
            if (a | b | c | d) & 0x80 == 0 {
                let n = (u32::from(a) << 18)
                    | (u32::from(b) << 12)
                    | (u32::from(c) << 6)
                    | u32::from(d);
                out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
                i += 4;
                continue;
            }
        }
        let byte = input[i];
        i += 1;
        if byte == b'=' {
            break;
        }
        let v = BASE64[byte as usize];
        if v & 0x80 != 0 {
            continue;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decodes quoted-printable: `=XX` hex escapes (either case), soft line breaks (`=` at the end
/// of a line, with or without trailing whitespace before the line ending), and whitespace at the
/// end of lines removed (RFC 2045 §6.7 rule 3). A `=` not followed by two hex digits or a line
/// ending is kept as it is.
///
/// ```
/// assert_eq!(message::decode_quoted_printable(b"caf=C3=A9 =\r\nau lait=3d\r\n"), "café au lait=\r\n".as_bytes());
/// ```
pub fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        match b {
            b'=' => {
                if let (Some(&h), Some(&l)) = (input.get(i + 1), input.get(i + 2))
                    && let (Some(h), Some(l)) = (hex_value(h), hex_value(l))
                {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                // Soft line break: "=" then optional whitespace then a line ending (or the end).
                let mut j = i + 1;
                while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
                    j += 1;
                }
                if j == input.len() {
                    i = j;
                } else if input[j] == b'\n' {
                    i = j + 1;
                } else if input[j] == b'\r' && input.get(j + 1) == Some(&b'\n') {
                    i = j + 2;
                } else {
                    out.push(b'=');
                    i += 1;
                }
            }
            b' ' | b'\t' => {
                // Whitespace before a line ending was added in transport: drop it.
                let mut j = i;
                while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
                    j += 1;
                }
                let at_line_end = j == input.len()
                    || input[j] == b'\n'
                    || (input[j] == b'\r' && input.get(j + 1) == Some(&b'\n'));
                if !at_line_end {
                    out.extend_from_slice(&input[i..j]);
                }
                i = j;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The RFC 2047 "Q" encoding: quoted-printable where `_` is a space.
pub(crate) fn decode_q(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(&h), Some(&l)) = (input.get(i + 1), input.get(i + 2))
                    && let (Some(h), Some(l)) = (hex_value(h), hex_value(l))
                {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Alphabet values; 0xff marks bytes outside the alphabet.
static BASE64: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(decode_base64(b""), b"");
        assert_eq!(decode_base64(b"Zg=="), b"f");
        assert_eq!(decode_base64(b"Zm8="), b"fo");
        assert_eq!(decode_base64(b"Zm9v"), b"foo");
        assert_eq!(decode_base64(b"Zm9vYg"), b"foob");
        assert_eq!(decode_base64(b"Zm9v\r\nYmFy\r\n"), b"foobar");
        assert_eq!(decode_base64(b" Z m 9 v "), b"foo");
        // Stops at padding, as the data after it is not base64 of this part.
        assert_eq!(decode_base64(b"Zg==Zm9v"), b"f");
        // Garbage characters are ignored.
        assert_eq!(decode_base64(b"Z\x00m\xff9-v"), b"foo");
        let all: Vec<u8> = (0..=255).collect();
        let encoded = b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";
        assert_eq!(decode_base64(encoded), all);
    }

    #[test]
    fn quoted_printable() {
        let cases: [(&[u8], &[u8]); 9] = [
            (b"plain", b"plain"),
            (b"a=3Db", b"a=b"),
            (b"a=3db", b"a=b"),
            (b"soft=\r\nbreak", b"softbreak"),
            (b"soft=\nbreak", b"softbreak"),
            (b"soft= \t\r\nbreak", b"softbreak"),
            (b"trailing  \r\nspace\t\nx", b"trailing\r\nspace\nx"),
            (b"bad=zz=4", b"bad=zz=4"),
            (b"end=", b"end"),
        ];
        for (input, want) in cases {
            assert_eq!(
                decode_quoted_printable(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(decode_quoted_printable(b"a b"), b"a b");
    }

    #[test]
    fn q_encoding() {
        assert_eq!(decode_q(b"caf=C3=A9_au_lait"), "café au lait".as_bytes());
        assert_eq!(decode_q(b"=4"), b"=4");
    }
}
