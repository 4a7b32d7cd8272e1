//! Parse, encode, parse: every IMAP command that parses encodes back to the same command.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapserver::fuzzing::roundtrip(data));
