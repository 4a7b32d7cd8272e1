//! moxsubmit.conf parsing on arbitrary text: errors, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sendmail::fuzzing::config(data));
