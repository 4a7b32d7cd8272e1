//! Domain::parse on arbitrary text: never panics, the fast path for plain host names agrees
//! with the general parser, and a parsed name's ASCII and Unicode forms both parse back to it
//! (see dns::fuzzing::domain_parse).
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| dns::fuzzing::domain_parse(text));
