//! SPF macro strings (RFC 7208 §7) on arbitrary text: parsing never panics, display round-trips,
//! and expansion stays within spf::MAX_EXPANSION_LENGTH plus one macro's value.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    let Ok(macros) = spf::MacroString::parse_explanation(text) else { return };
    assert_eq!(spf::MacroString::parse_explanation(&macros.to_string()).as_ref(), Ok(&macros));
    let values = spf::MacroValues {
        sender: "strong-bad+tag@email.example.com",
        local_part: "strong-bad+tag",
        sender_domain: "email.example.com",
        domain: "email.example.com",
        ip: std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xcb01]),
        validated_name: "mx.example.org",
        helo: "mx.example.org",
        receiver: "receiver.example",
        timestamp: 1_400_000_000,
    };
    if let Ok(expanded) = macros.expand(&values) {
        assert!(expanded.len() <= spf::MAX_EXPANSION_LENGTH);
    }
});
