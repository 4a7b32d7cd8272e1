//! The header encoders round-trip: address lists, dates and RFC 2047 encoded words parse back
//! to what was encoded, and header fields are their own bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| message::fuzzing::header_roundtrip(data));
