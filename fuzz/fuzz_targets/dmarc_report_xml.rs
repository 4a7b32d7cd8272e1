//! DMARC aggregate report files (XML, gzip, zip): never panics, decompression bounded.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dmarc::fuzzing::report_xml(data));
