//! Byte tests on eight bytes at once ("SIMD within a register"), for skipping over runs of
//! ordinary bytes in header fields and tag values. Each test is exact for the word as a whole:
//! it says whether some byte qualifies, not which (a borrow can mark bytes after the first).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `p`, if there are eight.
#[inline(always)]
pub(crate) fn word_at(bytes: &[u8], p: usize) -> Option<u64> {
    let chunk: &[u8; 8] = bytes.get(p..p.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(*chunk))
}

/// Whether a byte of `w` is below `n` (`n` at most 128).
#[inline(always)]
pub(crate) fn has_below(w: u64, n: u8) -> bool {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH != 0
}

/// Whether a byte of `w` equals `b`.
#[inline(always)]
pub(crate) fn has_byte(w: u64, b: u8) -> bool {
    has_below(w ^ (ONES * u64::from(b)), 1)
}

/// `w` with the ASCII capital letters in it made small.
#[inline(always)]
pub(crate) fn to_ascii_lowercase(w: u64) -> u64 {
    let heptets = w & !HIGH;
    // High bit of each byte: at least 'A', and at least 'Z' + 1 (for bytes below 0x80).
    let ge_a = heptets.wrapping_add(ONES * (0x80 - u64::from(b'A')));
    let gt_z = heptets.wrapping_add(ONES * (0x80 - u64::from(b'Z') - 1));
    let upper = ge_a & !gt_z & !w & HIGH;
    w | (upper >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn against_bytewise_checks() {
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Words of random bytes, and of bytes near the interesting values.
            let w = if i % 2 == 0 {
                x
            } else {
                let near =
                    [0x00u8, 0x01, 0x1f, 0x20, 0x21, 0x3b, 0x40, 0x41, 0x5a, 0x5b, 0x7f, 0x80];
                let mut b = [0u8; 8];
                for (k, v) in b.iter_mut().enumerate() {
                    *v = near[((x >> (k * 5)) % near.len() as u64) as usize];
                }
                u64::from_le_bytes(b)
            };
            let bytes = w.to_le_bytes();
            for n in [1u8, 0x21, 0x80] {
                assert_eq!(has_below(w, n), bytes.iter().any(|&b| b < n), "{w:x} {n}");
            }
            for b in [0u8, b';', 0x7f, b'\n'] {
                assert_eq!(has_byte(w, b), bytes.contains(&b), "{w:x} {b}");
            }
            let lower = u64::from_le_bytes(bytes.map(|b| b.to_ascii_lowercase()));
            assert_eq!(to_ascii_lowercase(w), lower, "{w:x}");
        }
        assert_eq!(word_at(b"12345678", 0), Some(u64::from_le_bytes(*b"12345678")));
        assert_eq!(word_at(b"12345678", 1), None);
        assert_eq!(word_at(b"", usize::MAX), None);
    }
}
