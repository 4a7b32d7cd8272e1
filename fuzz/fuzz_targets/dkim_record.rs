//! DKIM key record parsing: never panics, and a parsed record written out parses back to
//! itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(record) = dkim::Record::parse(text) {
        let again = dkim::Record::parse(&record.to_string());
        assert_eq!(again.as_ref(), Ok(&record), "{record}");
        let _ = record.public_key();
    }
});
