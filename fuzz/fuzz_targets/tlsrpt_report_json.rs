//! TLSRPT JSON reports (plain or gzipped): never panics, and a parsed report written back as
//! JSON parses to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(report) = tlsrpt::Report::parse_any(data) {
        assert_eq!(tlsrpt::Report::parse(report.to_json().as_bytes()).ok(), Some(report));
    }
});
