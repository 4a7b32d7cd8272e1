//! A logged-in IMAP session fed arbitrary bytes: answers, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapserver::fuzzing::session(data));
