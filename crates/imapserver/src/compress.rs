//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951, no zlib header) in both directions,
//! each write ending in a sync flush so the peer can decode everything sent so far.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The compression state of a connection.
#[derive(Debug)]
pub struct Deflate {
    compress: Compress,
    decompress: Decompress,
}

/// The peer sent data that is not valid DEFLATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateError;

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid DEFLATE data from client")
    }
}

impl std::error::Error for InflateError {}

impl Default for Deflate {
    fn default() -> Self {
        Deflate::new()
    }
}

impl Deflate {
    /// New state for both directions.
    pub fn new() -> Deflate {
        Deflate {
            compress: Compress::new(Compression::fast(), false),
            decompress: Decompress::new(false),
        }
    }

    /// Compresses `data` and sync-flushes, appending to `out`.
    pub fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut input = data;
        loop {
            out.reserve(input.len() / 2 + 64);
            let before_in = self.compress.total_in();
            // Compressing into a Vec with spare capacity cannot fail.
            let _ = self.compress.compress_vec(input, out, FlushCompress::Sync);
            let used = (self.compress.total_in() - before_in) as usize;
            input = &input[used..];
            // Done when all input is taken and the flush left room to spare.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
    }

    /// Decompresses `data`, appending to `out`.
    pub fn decompress(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), InflateError> {
        let mut input = data;
        loop {
            out.reserve(input.len() * 4 + 256);
            let before_in = self.decompress.total_in();
            let status = self
                .decompress
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| InflateError)?;
            let used = (self.decompress.total_in() - before_in) as usize;
            input = &input[used..];
            if status == Status::StreamEnd {
                return Ok(());
            }
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_pieces() {
        let mut a = Deflate::new();
        let mut b = Deflate::new();
        let mut wire = Vec::new();
        a.compress(b"a1 NOOP\r\n", &mut wire);
        let mut plain = Vec::new();
        // Arriving byte by byte still decodes to exactly what was sent.
        for byte in &wire {
            b.decompress(std::slice::from_ref(byte), &mut plain).unwrap();
        }
        assert_eq!(plain, b"a1 NOOP\r\n");
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let mut wire = Vec::new();
        a.compress(&big, &mut wire);
        let mut plain = Vec::new();
        b.decompress(&wire, &mut plain).unwrap();
        assert_eq!(plain, big);
        assert!(Deflate::new().decompress(b"\xff\xff\xff\xff", &mut Vec::new()).is_err());
    }
}
