//! Tokenizing (MIME, HTML stripping, words and n-grams): never panics, words are never empty
//! or longer than three words of the longest length.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junk::fuzzing::tokenize(data));
