//! MTA-STS policy files: never panics, and a parsed policy written back parses to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(policy) = mtasts::Policy::parse(text) {
        assert_eq!(mtasts::Policy::parse(&policy.to_string()).ok(), Some(policy));
    }
});
