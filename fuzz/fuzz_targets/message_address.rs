//! parse_address_list on arbitrary bytes: never panics, and a parsed list's Display form parses
//! back to the same list.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| message::fuzzing::address_list(data));
