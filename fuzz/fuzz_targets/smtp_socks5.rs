//! SOCKS5 method selection and CONNECT replies on arbitrary bytes: never panics, lengths within the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpclient::fuzzing::socks5(data));
