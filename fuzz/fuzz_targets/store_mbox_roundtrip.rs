//! mbox reading, flag headers and line endings on arbitrary bytes; write/read round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| store::fuzzing::mbox_roundtrip(data));
