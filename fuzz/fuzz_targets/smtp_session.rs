//! The SMTP client session driven by arbitrary replies: errors, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpclient::fuzzing::session(data));
