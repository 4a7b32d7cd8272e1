//! iprev (RFC 8601 §3): does the client's address have a reverse name that resolves back to
//! it?

use std::net::IpAddr;

use dns::Resolver;

/// The iprev result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IprevStatus {
    /// A PTR name resolves back to the address.
    Pass,
    /// PTR names exist, none resolves back.
    Fail,
    /// A lookup failed temporarily.
    Temperror,
    /// No PTR record.
    Permerror,
}

impl IprevStatus {
    /// The result name for Authentication-Results.
    pub fn as_str(self) -> &'static str {
        match self {
            IprevStatus::Pass => "pass",
            IprevStatus::Fail => "fail",
            IprevStatus::Temperror => "temperror",
            IprevStatus::Permerror => "permerror",
        }
    }
}

/// The outcome of an iprev check.
#[derive(Debug, Clone)]
pub struct Iprev {
    /// The result.
    pub status: IprevStatus,
    /// The name that verified (for pass), else the first PTR name.
    pub name: Option<String>,
    /// Whether all answers were DNSSEC-authenticated.
    pub authentic: bool,
}

/// Checks iprev for `ip`.
pub async fn lookup(resolver: &dyn Resolver, ip: IpAddr) -> Iprev {
    let ptr = match resolver.lookup_ptr(ip).await {
        Ok(l) => l,
        Err(e) if e.is_not_found() => {
            return Iprev { status: IprevStatus::Permerror, name: None, authentic: false };
        }
        Err(_) => return Iprev { status: IprevStatus::Temperror, name: None, authentic: false },
    };
    let mut authentic = ptr.authentic;
    let mut temp = false;
    // Bound the work an attacker's PTR records can cause.
    for name in ptr.records.iter().take(10) {
        match resolver.lookup_ip(name).await {
            Ok(ips) => {
                authentic &= ips.authentic;
                if ips.records.iter().any(|a| a.to_canonical() == ip.to_canonical()) {
                    return Iprev {
                        status: IprevStatus::Pass,
                        name: Some(name.ascii().to_string()),
                        authentic,
                    };
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(_) => temp = true,
        }
    }
    let name = ptr.records.first().map(|d| d.ascii().to_string());
    let status = if temp { IprevStatus::Temperror } else { IprevStatus::Fail };
    Iprev { status, name, authentic }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results() {
        let zone = dns::MockResolver::from_zone(
            r#"
            1.2.0.192.in-addr.arpa  PTR  mail.example.org
            mail.example.org        A    192.0.2.1
            2.2.0.192.in-addr.arpa  PTR  other.example.org
            other.example.org       A    192.0.2.99
            3.2.0.192.in-addr.arpa  PTR  broken.example.org
            broken.example.org      A    SERVFAIL
            "#,
        )
        .unwrap();
        let check = |ip: &str| {
            let ip: IpAddr = ip.parse().unwrap();
            let zone = &zone;
            async move { lookup(zone, ip).await }
        };
        let r = check("192.0.2.1").await;
        assert_eq!((r.status, r.name.as_deref()), (IprevStatus::Pass, Some("mail.example.org")));
        assert_eq!(check("192.0.2.2").await.status, IprevStatus::Fail);
        assert_eq!(check("192.0.2.3").await.status, IprevStatus::Temperror);
        assert_eq!(check("192.0.2.4").await.status, IprevStatus::Permerror);
    }
}
