//! Finding a protocol's one policy record among the TXT records at a name.

use crate::Domain;
use crate::resolver::{LookupError, Resolver};

/// What [`select_txt`] found among the TXT records at a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtSelection {
    /// Exactly one record was selected.
    One {
        /// The record, its strings concatenated.
        text: String,
        /// Whether the answer was DNSSEC-authenticated.
        authentic: bool,
    },
    /// No record was selected: the name does not exist or has no TXT records (`reason` says
    /// which), or (`reason` is `None`) none of its TXT records is of this protocol.
    Absent {
        /// NXDOMAIN or "no TXT records", when that is why.
        reason: Option<LookupError>,
    },
    /// Several records were selected, which the protocols treat as an error or as no policy.
    Several {
        /// The selected records.
        texts: Vec<String>,
    },
}

/// Looks up the TXT records at `name` and keeps those `is_record` accepts — the version test of
/// SPF (`v=spf1`, RFC 7208 §4.5), DMARC (`v=DMARC1`, RFC 7489 §6.6.3), MTA-STS (`v=STSv1`,
/// RFC 8461 §3.1) or TLSRPT (`v=TLSRPTv1`, RFC 8460 §3): records of other protocols at the same
/// name are ignored. `Err` only for temporary failures.
pub async fn select_txt(
    resolver: &dyn Resolver,
    name: &Domain,
    is_record: impl Fn(&str) -> bool,
) -> Result<TxtSelection, LookupError> {
    let found = match resolver.lookup_txt(name).await {
        Ok(found) => found,
        Err(e) if e.is_not_found() => return Ok(TxtSelection::Absent { reason: Some(e) }),
        Err(e) => return Err(e),
    };
    let mut texts: Vec<String> = found.records.into_iter().filter(|t| is_record(t)).collect();
    Ok(match texts.len() {
        0 => TxtSelection::Absent { reason: None },
        1 => TxtSelection::One { text: texts.remove(0), authentic: found.authentic },
        _ => TxtSelection::Several { texts },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockResolver;

    fn select(zone: &str, name: &str) -> Result<TxtSelection, LookupError> {
        let resolver = MockResolver::from_zone(zone).unwrap();
        let name = Domain::parse(name).unwrap();
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(select_txt(
            &resolver,
            &name,
            |t| t.starts_with("v=x1"),
        ))
    }

    #[test]
    fn selects_the_protocols_records() {
        let zone = r#"
            one.example      TXT "v=x1; a" "=b"
            one.example      TXT "google-site-verification=abc"
            one.example      AUTHENTIC
            two.example      TXT "v=x1; a"
            two.example      TXT "v=x1; b"
            other.example    TXT "v=spf1 -all"
            broken.example   TXT SERVFAIL
        "#;
        assert_eq!(
            select(zone, "one.example"),
            Ok(TxtSelection::One { text: "v=x1; a=b".into(), authentic: true })
        );
        assert_eq!(
            select(zone, "two.example"),
            Ok(TxtSelection::Several { texts: vec!["v=x1; a".into(), "v=x1; b".into()] })
        );
        assert_eq!(select(zone, "other.example"), Ok(TxtSelection::Absent { reason: None }));
        assert!(matches!(
            select(zone, "missing.example"),
            Ok(TxtSelection::Absent { reason: Some(LookupError::NxDomain { .. }) })
        ));
        assert!(select(zone, "broken.example").unwrap_err().is_temporary());
    }
}
