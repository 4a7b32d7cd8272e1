//! Queue entries decoded from arbitrary stored bytes: never panics; what decodes round-trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| queue::fuzzing::entry(data));
