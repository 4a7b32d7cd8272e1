//! The IMAP command parser and framer on arbitrary input: errors, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapserver::fuzzing::command(data));
