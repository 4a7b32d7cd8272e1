//! Client::step for every mechanism on arbitrary server challenges: errors, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sasl::fuzzing::client(data));
