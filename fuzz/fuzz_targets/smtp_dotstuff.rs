//! Dot-stuffing round trip: never ends DATA early, CRLF only, unstuffs to the repaired input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpclient::fuzzing::dotstuff(data));
