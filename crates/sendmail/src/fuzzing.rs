//! Entry points for the fuzz targets in `fuzz/` (not a stable API).

use std::path::Path;

use crate::{Invocation, SubmitConfig, compose};

/// moxsubmit.conf parsing on arbitrary text: errors, never panics.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SubmitConfig::parse(text, Path::new("fuzz.conf"));
    }
}

/// Composing arbitrary input with `-t`: the result has exactly one From (ours) and no Bcc.
pub fn compose_message(data: &[u8]) {
    let config = SubmitConfig {
        local_hostname: "host.example.org".into(),
        from: "cron@example.org".into(),
        default_destination: "admin@example.org".into(),
        ..Default::default()
    };
    let invocation = Invocation {
        recipients: vec!["root".into()],
        recipients_from_header: true,
        full_name: Some("Cron".into()),
    };
    if let Ok(prepared) = compose(data, &invocation, &config, 0, "id") {
        let header = message::Header::parse(&prepared.message);
        assert_eq!(header.get_all("from").count(), 1);
        assert!(header.get("bcc").is_none());
        assert!(!prepared.recipients.is_empty());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_points_hold_on_samples() {
        super::config(b"Host: x\nPort: 1\n");
        for sample in [
            &b"From: a\nBcc: b@example.net\nTo: root\n\nx"[..],
            b"",
            b"\n\n",
            b"From : x\r\nbcc:\r\n",
        ] {
            super::compose_message(sample);
        }
    }
}
