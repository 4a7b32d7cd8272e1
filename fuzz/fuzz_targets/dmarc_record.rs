//! DMARC records: strict and lenient parsing agree, errors point into the input, and every
//! record written back parses to itself (see dmarc::fuzzing::record).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dmarc::fuzzing::record(data));
