//! Client against server for every mechanism with a username and password from the input: the
//! matching client is accepted as that username, a changed password and another channel refused.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sasl::fuzzing::exchange(data);
});
