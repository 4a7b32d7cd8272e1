//! sendmail message composition with -t on arbitrary input: one From, no Bcc.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sendmail::fuzzing::compose_message(data));
