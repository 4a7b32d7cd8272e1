//! SMTP reply parsing and EHLO capabilities on arbitrary bytes: never panics, always progresses.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpclient::fuzzing::reply(data));
