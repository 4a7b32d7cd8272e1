//! TLSRPT report messages (MIME, transfer encodings, gzip, JSON): never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tlsrpt::parse_report_message(data);
});
