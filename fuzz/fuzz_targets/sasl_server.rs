//! Server::step for every mechanism on arbitrary client messages: errors, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sasl::fuzzing::server(data));
