//! Server::step for every mechanism on arbitrary client messages: errors, never panics, and
//! never authenticates without the password.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sasl::fuzzing::server(data);
});
