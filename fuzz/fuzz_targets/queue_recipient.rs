//! Recipient addresses with address literals: never panics; what parses prints and parses back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| queue::fuzzing::recipient(data));
