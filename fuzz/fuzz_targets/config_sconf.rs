//! The sconf reader, as mox.conf and as domains.conf: never panics; what reads without problems
//! is written and read back equal.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        config::fuzzing::sconf_round_trip(text);
    }
});
