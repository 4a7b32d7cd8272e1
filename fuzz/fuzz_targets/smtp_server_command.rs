//! The SMTP server's command parser: never panics; errors are well-formed replies.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpserver::fuzzing::command(data));
