//! DSN delivery-status parsing, alone and found in a message: never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| queue::fuzzing::dsn(data));
