//! `mox dnsbl check|checkhealth`: DNS blocklists (RFC 5782), with the `dnsbl` crate.

use std::io::Write as _;
use std::net::IpAddr;

use crate::cmd::{Run, domain_arg, usage_error};
use crate::context::Context;

/// Check an IP address in a DNS blocklist, or check a blocklist's health.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Dnsbl {
    Check(Check),
    Checkhealth(Checkhealth),
}

impl Run for Dnsbl {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Dnsbl::Check(c) => c.run(ctx).await,
            Dnsbl::Checkhealth(c) => c.run(ctx).await,
        }
    }
}

/// Test if IP is in the DNS blocklist of the zone, e.g. bl.spamcop.net.
///
/// If the IP is in the blocklist, the values of its A records and the explanation from its TXT
/// record are printed; the explanation is typically a URL with more information. An IPv6
/// address is looked up as 32 reversed nibbles; an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
/// is looked up as IPv6, so give the plain IPv4 address for IPv4 lists. A DNS failure is an
/// error (exit status 1): the list could not be asked.
#[derive(Debug, clap::Args)]
pub(crate) struct Check {
    /// DNS zone of the blocklist, e.g. bl.spamcop.net.
    #[arg(value_name = "zone")]
    zone: String,
    /// IPv4 or IPv6 address to check.
    #[arg(value_name = "ip")]
    ip: String,
}

impl Run for Check {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let zone = domain_arg("zone", &self.zone)?;
        let ip: IpAddr =
            self.ip.parse().map_err(|e| usage_error(format!("ip {:?}: {e}", self.ip)))?;
        let resolver = ctx.resolver()?;
        match ::dnsbl::lookup(resolver.as_ref(), &zone, ip).await? {
            ::dnsbl::Status::NotListed => writeln!(ctx.stdout(), "status: not listed")?,
            ::dnsbl::Status::Listed(listing) => {
                let mut out = ctx.stdout();
                writeln!(out, "status: listed")?;
                let addresses: Vec<String> =
                    listing.addresses.iter().map(|a| a.to_string()).collect();
                writeln!(out, "addresses: {}", addresses.join(", "))?;
                match &listing.explanation {
                    Some(explanation) => writeln!(out, "explanation: {explanation}")?,
                    None => writeln!(out, "explanation: (none)")?,
                }
            }
            ::dnsbl::Status::TempError(e) => {
                anyhow::bail!("dnsbl {zone}: {ip}: {e}")
            }
            other => anyhow::bail!("dnsbl {zone}: {ip}: {other}"),
        }
        Ok(())
    }
}

/// Check the health of the DNS blocklist represented by zone, e.g. bl.spamcop.net.
///
/// The health of a DNS blocklist can be checked by querying for 127.0.0.1 and 127.0.0.2 (RFC
/// 5782 section 5). The second must and the first must not be present. A list that lists
/// 127.0.0.1 answers every query, or refuses your DNS resolver with an A record; a list without
/// 127.0.0.2 has likely been shut down. Prints "healthy", or exits with status 1 and the problem.
#[derive(Debug, clap::Args)]
pub(crate) struct Checkhealth {
    /// DNS zone of the blocklist, e.g. bl.spamcop.net.
    #[arg(value_name = "zone")]
    zone: String,
}

impl Run for Checkhealth {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let zone = domain_arg("zone", &self.zone)?;
        let resolver = ctx.resolver()?;
        ::dnsbl::check_health(resolver.as_ref(), &zone).await?;
        writeln!(ctx.stdout(), "healthy")?;
        Ok(())
    }
}


#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::GlobalOptions;

    const ZONE: &str = r#"
        2.0.0.127.bl.example.org   A    127.0.0.2
        99.2.0.192.bl.example.org  A    127.0.0.2
        99.2.0.192.bl.example.org  A    127.0.0.4
        99.2.0.192.bl.example.org  TXT  "Dynamic address, see https://bl.example.org/?192.0.2.99"
        1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.org A 127.0.0.2
        7.2.0.192.bl.example.org   A    SERVFAIL
        1.0.0.127.wild.example.org A    127.0.0.2
        2.0.0.127.wild.example.org A    127.0.0.2
    "#;

    async fn run(command: impl Run) -> (anyhow::Result<()>, String) {
        let zone = dns::MockResolver::from_zone(ZONE).expect("zone");
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), Some(Arc::new(zone)), b"");
        let result = command.run(&ctx).await;
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone()).expect("utf-8");
        (result, printed)
    }

    fn check(zone: &str, ip: &str) -> Check {
        Check { zone: zone.into(), ip: ip.into() }
    }

    #[tokio::test]
    async fn check_prints_listing_with_explanation() {
        let (result, printed) = run(check("bl.example.org", "192.0.2.99")).await;
        result.expect("check");
        assert_eq!(
            printed,
            "status: listed\naddresses: 127.0.0.2, 127.0.0.4\nexplanation: Dynamic address, see https://bl.example.org/?192.0.2.99\n"
        );
        let (result, printed) = run(check("bl.example.org", "2001:db8::1")).await;
        result.expect("check");
        assert_eq!(printed, "status: listed\naddresses: 127.0.0.2\nexplanation: (none)\n");
        let (result, printed) = run(check("BL.example.org.", "192.0.2.1")).await;
        result.expect("check");
        assert_eq!(printed, "status: not listed\n");
    }

    #[tokio::test]
    async fn check_errors() {
        let (result, printed) = run(check("bl.example.org", "192.0.2.7")).await;
        let message = format!("{:#}", result.expect_err("servfail"));
        assert!(message.starts_with("dnsbl bl.example.org: 192.0.2.7: "), "{message}");
        assert!(message.contains("SERVFAIL"), "{message}");
        assert_eq!(printed, "");
        let (result, _) = run(check("bl.example.org", "192.0.2")).await;
        let err = result.expect_err("bad ip");
        assert!(err.is::<crate::cmd::UsageError>());
        assert_eq!(err.to_string(), "ip \"192.0.2\": invalid IP address syntax");
        let (result, _) = run(check("bl..example.org", "192.0.2.1")).await;
        assert!(result.expect_err("bad zone").is::<crate::cmd::UsageError>());
    }

    #[tokio::test]
    async fn checkhealth() {
        let (result, printed) = run(Checkhealth { zone: "bl.example.org".into() }).await;
        result.expect("healthy");
        assert_eq!(printed, "healthy\n");
        let (result, printed) = run(Checkhealth { zone: "gone.example.org".into() }).await;
        assert_eq!(
            result.expect_err("unhealthy").to_string(),
            "dnsbl gone.example.org does not list the required test address 127.0.0.2"
        );
        assert_eq!(printed, "");
        let (result, _) = run(Checkhealth { zone: "wild.example.org".into() }).await;
        assert_eq!(
            result.expect_err("unhealthy").to_string(),
            "dnsbl wild.example.org lists the forbidden test address 127.0.0.1 (127.0.0.2)"
        );
    }
}
