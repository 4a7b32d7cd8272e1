//! MTA-STS TXT records: never panics, and a parsed record written back parses to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(record) = mtasts::Record::parse(text) {
        assert_eq!(mtasts::Record::parse(&record.to_string()).ok(), Some(record));
    }
});
