//! Canonicalization: never panics; the streaming body canonicalizer gives the same bytes for
//! any chunking (the first input byte picks the chunk size); canonicalizing twice changes
//! nothing.
#![no_main]

use dkim::{BodyCanonicalizer, Canon};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    for canon in [Canon::Simple, Canon::Relaxed] {
        let whole = dkim::canonicalize_body(canon, body);
        let mut chunked = Vec::new();
        let mut c = BodyCanonicalizer::new(canon);
        for chunk in body.chunks(usize::from(first % 64) + 1) {
            c.update(chunk, &mut chunked);
        }
        c.finish(&mut chunked);
        assert_eq!(whole, chunked);
        assert_eq!(dkim::canonicalize_body(canon, &whole), whole);
        let _ = dkim::canonicalize_header(canon, body);
    }
});
