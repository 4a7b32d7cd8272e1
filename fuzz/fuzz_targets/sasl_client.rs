//! Client::step for every mechanism on arbitrary server challenges: errors, never panics, gives
//! exactly the responses the mechanism defines, never accepts an unproven SCRAM server.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sasl::fuzzing::client(data);
});
