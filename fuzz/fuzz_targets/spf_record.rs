//! spf::Record::parse on arbitrary text: never panics, and a parsed record's canonical form
//! parses again to the same record (and is its own canonical form).
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(record) = spf::Record::parse(text) {
        let canonical = record.to_string();
        assert_eq!(spf::Record::parse(&canonical).as_ref(), Ok(&record), "{canonical:?}");
    }
});
