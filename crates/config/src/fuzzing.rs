//! Entry points for the fuzz targets in `fuzz/` (not a stable API).

use std::path::Path;

/// Reads `text` as mox.conf and as domains.conf; what reads without problems is written and
/// read again, and must be equal (and written the same a second time).
pub fn sconf_round_trip(text: &str) {
    if let Ok(parsed) = crate::parse_static("fuzz", text) {
        let written = match crate::static_to_string(&parsed) {
            Ok(w) => w,
            Err(e) => panic!("parsed mox.conf does not write: {e}"),
        };
        match crate::parse_static("fuzz", &written) {
            Ok(again) => assert_eq!(again, parsed, "mox.conf round trip:\n{written}"),
            Err(e) => panic!("written mox.conf does not read: {e}\n{written}"),
        }
    }
    if let Ok(parsed) = crate::parse_dynamic("fuzz", text) {
        let written = match crate::dynamic_to_string(&parsed) {
            Ok(w) => w,
            Err(e) => panic!("parsed domains.conf does not write: {e}"),
        };
        match crate::parse_dynamic("fuzz", &written) {
            Ok(again) => {
                assert_eq!(again, parsed, "domains.conf round trip:\n{written}");
                assert_eq!(
                    crate::dynamic_to_string(&again).ok().as_deref(),
                    Some(written.as_str())
                );
            }
            Err(e) => panic!("written domains.conf does not read: {e}\n{written}"),
        }
    }
}

/// Loads mox.conf and domains.conf from `data`, split at the first NUL byte, as if in a
/// directory that does not exist (so no named file is read); then, if it loaded, the lookups.
pub fn load(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (static_text, dynamic_text) = text.split_once('\0').unwrap_or((&text, ""));
    let Ok(config) = crate::load_from_texts(
        Path::new("/nonexistent-fuzz-dir/mox.conf"),
        static_text,
        dynamic_text,
    ) else {
        return;
    };
    let _ = config.not_in_effect();
    for account in config.dynamic.accounts.values() {
        for address in account.destinations.keys() {
            let _ = config.account_for_login(address);
        }
    }
    if let Ok(lp) = message::Localpart::parse("postmaster") {
        let _ = config.lookup_address(&lp, None, crate::LookupOptions::DELIVERY);
    }
}
