//! Entry points for the fuzz targets in `fuzz/`: each parses its input and asserts the
//! invariants that must hold for any input. Not a stable API.

use crate::Domain;

/// Parses `text` as a domain: the fast path for plain host names gives exactly what the
/// general parser gives (both forms, or the same error), and a parsed name's ASCII and Unicode
/// forms both parse back to it (both forms again, not just the ASCII form equality compares).
///
/// # Panics
///
/// If an invariant does not hold: that is a bug in this crate.
pub fn domain_parse(text: &str) {
    let parsed = Domain::parse(text);
    let general = Domain::parse_any(text);
    let forms = |r: &Result<Domain, _>| {
        r.as_ref().map(|d| (d.ascii().to_string(), d.unicode().to_string())).ok()
    };
    assert_eq!(forms(&parsed), forms(&general), "{text:?}");
    assert_eq!(parsed.as_ref().err(), general.as_ref().err(), "{text:?}");
    if let Ok(domain) = parsed {
        for form in [domain.ascii(), domain.unicode()] {
            let again = Domain::parse(form);
            assert_eq!(forms(&again), forms(&Ok(domain.clone())), "{text:?} then {form:?}");
        }
        assert_eq!(domain.is_internationalized(), domain.ascii() != domain.unicode());
    }
}
