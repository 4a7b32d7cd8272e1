//! The Organizational Domain (RFC 7489 §3.2), found with the Public Suffix List.

use dns::Domain;

/// The Organizational Domain of `domain`: its public suffix plus one label (RFC 7489 §3.2), so
/// `a.b.example.co.uk` gives `example.co.uk`.
///
/// The suffix comes from the Public Suffix List (both its ICANN and its private section, as
/// mail receivers commonly use it) compiled into this crate by the `psl` crate; a name under a
/// top-level domain the list does not know is treated as if its last label were a suffix (the
/// list's `*` rule). A name that is itself a public suffix (`com`, `co.uk`) is its own
/// organizational domain: it then aligns only with itself, never with a domain under it, which
/// is what §3.1.1 asks ("d=com would never allow an "in alignment" result").
///
/// ```
/// use dmarc::organizational_domain;
/// use dns::Domain;
///
/// let org = |name| organizational_domain(&Domain::parse(name).unwrap()).to_string();
/// assert_eq!(org("a.b.c.d.example.com"), "example.com");
/// assert_eq!(org("mail.example.co.uk"), "example.co.uk");
/// assert_eq!(org("com"), "com");
/// # Ok::<(), dns::DomainError>(())
/// ```
pub fn organizational_domain(domain: &Domain) -> Domain {
    // psl matches ASCII labels (A-labels for IDN suffixes are in its list).
    let Some(registrable) = psl::domain(domain.ascii().as_bytes()) else {
        return domain.clone();
    };
    let registrable_labels = registrable.as_bytes().split(|&b| b == b'.').count();
    let skip = domain.labels().count().saturating_sub(registrable_labels);
    // Walking up parents keeps the Domain valid and avoids re-parsing text.
    let mut org = domain.clone();
    for _ in 0..skip {
        match org.parent() {
            Some(parent) => org = parent,
            None => break,
        }
    }
    org
}

/// Whether two domains are aligned under `mode` (RFC 7489 §3.1.1, §3.1.2): equal for strict, the
/// same organizational domain for relaxed. Domains compare case-insensitively ([`Domain`] is
/// lowercased).
pub fn is_aligned(mode: crate::Alignment, from: &Domain, other: &Domain) -> bool {
    match mode {
        crate::Alignment::Strict => from == other,
        crate::Alignment::Relaxed => {
            from == other || organizational_domain(from) == organizational_domain(other)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Alignment;

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    #[test]
    fn organizational_domains() {
        for (name, org) in [
            ("example.com", "example.com"),
            ("a.b.c.d.example.com", "example.com"),
            ("cbg.bounces.example.com", "example.com"),
            ("example.co.uk", "example.co.uk"),
            ("www.example.co.uk", "example.co.uk"),
            ("co.uk", "co.uk"),
            ("com", "com"),
            // An unknown TLD: the "*" rule.
            ("mail.example.unknowntld", "example.unknowntld"),
            // IDN: the list holds A-labels too.
            ("почта.пример.рф", "пример.рф"),
            ("mail.xn--e1afmkfd.xn--p1ai", "пример.рф"),
            // Wildcard and exception rules (*.ck, !www.ck).
            ("a.b.example.ck", "b.example.ck"),
            ("a.www.ck", "www.ck"),
            // The private section: github.io is a public suffix.
            ("user.github.io", "user.github.io"),
            ("www.user.github.io", "user.github.io"),
            ("_dmarc.example.com", "example.com"),
        ] {
            assert_eq!(organizational_domain(&d(name)), d(org), "{name}");
        }
    }

    #[test]
    fn alignment_rfc7489_appendix_b1() {
        // B.1.1 example 2 and B.1.2 example 2: parent domain, relaxed only.
        assert!(is_aligned(Alignment::Relaxed, &d("example.com"), &d("child.example.com")));
        assert!(!is_aligned(Alignment::Strict, &d("example.com"), &d("child.example.com")));
        assert!(is_aligned(Alignment::Relaxed, &d("child.example.com"), &d("example.com")));
        assert!(!is_aligned(Alignment::Strict, &d("child.example.com"), &d("example.com")));
        // Example 1: identical.
        assert!(is_aligned(Alignment::Strict, &d("Example.COM"), &d("example.com")));
        // Example 3: unrelated.
        assert!(!is_aligned(Alignment::Relaxed, &d("child.example.com"), &d("example.net")));
        assert!(!is_aligned(Alignment::Relaxed, &d("child.example.com"), &d("sample.net")));
        // §3.1.1: d=com never aligns.
        assert!(!is_aligned(Alignment::Relaxed, &d("example.com"), &d("com")));
        // Siblings under a public suffix are different organizations.
        assert!(!is_aligned(Alignment::Relaxed, &d("a.github.io"), &d("b.github.io")));
        assert!(is_aligned(Alignment::Relaxed, &d("x.a.github.io"), &d("a.github.io")));
    }
}
