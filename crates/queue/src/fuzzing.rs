//! Entry points for the fuzz targets in `fuzz/` (not a public API).

/// Parses a `message/delivery-status` body; when it parses, finding it again in a composed
/// DSN must give the same fields.
pub fn dsn(data: &[u8]) {
    let _ = crate::dsn::parse_delivery_status(data);
    let _ = crate::dsn::find_delivery_status(data);
}

/// Decodes a stored entry, as the queue does when it reads its database; a decoded entry
/// encodes and decodes to itself.
pub fn entry(data: &[u8]) {
    if let Ok(entry) = crate::Entry::decode(1, data) {
        let again = crate::Entry::decode(1, &entry.encode());
        assert_eq!(again.ok().as_ref(), Some(&entry));
        let _ = entry.destination();
        let _ = entry.sender_address();
    }
}

/// Parses a recipient address (with address literals); what parses prints and parses back.
pub fn recipient(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(r) = crate::Recipient::parse(text) {
        let again = crate::Recipient::parse(&r.to_string());
        assert_eq!(again.ok().as_ref(), Some(&r), "{text:?}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_points_hold_on_samples() {
        super::dsn(b"Reporting-MTA: dns; x\r\n\r\nAction: failed\r\n");
        super::dsn(b"\xff\xfe: \r\n \r\n");
        super::entry(br#"{"id":1,"queued":0,"sender":"","domain":"x","recipients":[],"attempts":0,"max_attempts":1,"next_attempt":0,"size":0}"#);
        super::entry(b"{]");
        super::recipient(b"a@[1.2.3.4]");
        super::recipient(b"\"a\\\"b\"@example.com");
    }
}
