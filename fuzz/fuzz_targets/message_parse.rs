//! Message::parse on arbitrary bytes: never panics, every offset in bounds and ordered, and every
//! part decodes (see message::fuzzing::message_parse for the invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| message::fuzzing::message_parse(data));
