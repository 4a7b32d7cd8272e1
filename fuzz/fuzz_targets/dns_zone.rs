//! MockResolver zone text: never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    let _ = dns::MockResolver::from_zone(text);
});
