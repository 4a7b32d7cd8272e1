//! DMARC aggregate reports in messages, and the From author domain: never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dmarc::fuzzing::report_message(data));
