//! Maildir file names and dovecot-keywords files on arbitrary text; flag letters round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| store::fuzzing::maildir_names(text));
