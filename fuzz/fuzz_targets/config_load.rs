//! Loading and checking mox.conf and domains.conf (split at the first NUL), then lookups:
//! never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| config::fuzzing::load(data));
