//! A whole SMTP server session on arbitrary bytes, in arbitrary chunks: never panics, every
//! reply is well-formed, input is consumed in order.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpserver::fuzzing::session(data));
