//! DKIM-Signature parsing: never panics, and a parsed signature written out as a header
//! (`Signature::to_header`, which leaves out the diagnostic z=) parses back to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(mut sig) = dkim::Signature::parse(data) {
        sig.copied_headers = None;
        let header = sig.to_header();
        let value = &header.as_bytes()["DKIM-Signature:".len()..header.len() - 2];
        assert_eq!(dkim::Signature::parse(value).as_ref(), Ok(&sig), "{header}");
    }
});
