//! Received IDs (mox's `cid`): decoding never panics, encode/decode round-trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| runtime::received_id::fuzz_round_trip(data));
