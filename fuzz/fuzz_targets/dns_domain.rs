//! Domain::parse on arbitrary text: never panics, and a parsed name parses again to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(domain) = dns::Domain::parse(text) {
        assert_eq!(dns::Domain::parse(domain.ascii()).as_ref(), Ok(&domain));
        assert_eq!(dns::Domain::parse(domain.unicode()).as_ref(), Ok(&domain));
    }
});
