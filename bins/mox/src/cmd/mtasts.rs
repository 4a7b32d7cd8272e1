//! `mox mtasts lookup`: MTA-STS (RFC 8461), with the `mtasts` crate.

use std::io::Write as _;

use crate::cmd::{Run, domain_arg};
use crate::context::Context;

/// Look up MTA-STS records and policies.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Mtasts {
    Lookup(Lookup),
}

impl Run for Mtasts {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Mtasts::Lookup(c) => c.run(ctx).await,
        }
    }
}

/// Lookup the MTASTS record and policy for the domain.
///
/// MTA-STS is a mechanism for a domain to specify if it requires TLS connections for delivering
/// email. If a domain has a valid MTA-STS DNS TXT record at _mta-sts.<domain> it signals it
/// implements MTA-STS. A policy can then be fetched at
/// https://mta-sts.<domain>/.well-known/mta-sts.txt. The policy specifies the mode (enforce,
/// testing, none), which MX servers support TLS and should be used, and how long the policy can
/// be cached.
///
/// The record is printed, then the policy. The policy is fetched as a sending mail server
/// would: the certificate must be valid for mta-sts.<domain>, redirects are not followed, the
/// content type must be text/plain, and the policy may be at most 64 KiB and take at most one
/// minute. When the record or policy cannot be had or is invalid, the problem is printed and
/// the exit status is 1.
#[derive(Debug, clap::Args)]
pub(crate) struct Lookup {
    /// Domain whose MTA-STS record and policy are looked up.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Lookup {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        lookup(ctx, &self.domain, &::mtasts::Fetcher::new()).await
    }
}

/// `mox mtasts lookup` with the policy fetched by `fetcher` (tests give one trusting their CA).
async fn lookup(ctx: &Context, domain: &str, fetcher: &::mtasts::Fetcher) -> anyhow::Result<()> {
    let domain = domain_arg("domain", domain)?;
    let resolver = ctx.resolver()?;
    let found = ::mtasts::lookup_record(resolver.as_ref(), &domain).await?;
    {
        let mut out = ctx.stdout();
        writeln!(out, "DNS TXT record _mta-sts.{}: {}", domain.ascii(), found.txt)?;
        if found.authentic {
            writeln!(out, "(DNSSEC-authenticated)")?;
        }
        writeln!(out)?;
    }
    let url = format!("https://mta-sts.{}{}", domain.ascii(), ::mtasts::WELL_KNOWN_PATH);
    let text = fetcher
        .fetch_text(resolver.as_ref(), &domain)
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("fetching policy at {url}")))?;
    let mut out = ctx.stdout();
    match ::mtasts::Policy::parse(&text) {
        Ok(policy) => {
            writeln!(out, "policy at {url}:")?;
            for line in policy.lines() {
                writeln!(out, "{line}")?;
            }
            Ok(())
        }
        Err(e) => {
            writeln!(out, "invalid policy at {url}:")?;
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                writeln!(out)?;
            }
            Err(anyhow::Error::new(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use test_support::{HttpsTestServer, TestCa, Validity, http_response};

    use super::*;
    use crate::context::GlobalOptions;

    const POLICY: &str =
        "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 86400\r\n";

    async fn run(zone: &str, domain: &str, body: Option<&'static str>) -> (anyhow::Result<()>, String) {
        let ca = TestCa::new().expect("ca");
        let config = ca.server_config(&["mta-sts.example.com"], Validity::Current).expect("config");
        let server = HttpsTestServer::start(config, move |_| {
            Some(match body {
                Some(body) => http_response("200 OK", Some("text/plain"), body.as_bytes()),
                None => http_response("404 Not Found", Some("text/plain"), b"not found"),
            })
        })
        .await
        .expect("server");
        let fetcher = ::mtasts::Fetcher::new()
            .with_roots(ca.roots())
            .with_connector(::mtasts::FixedConnector::new(server.addr()));
        let zone = dns::MockResolver::from_zone(zone).expect("zone");
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), Some(Arc::new(zone)), b"");
        let result = lookup(&ctx, domain, &fetcher).await;
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone()).expect("utf-8");
        (result, printed)
    }

    const RECORD: &str = "_mta-sts.example.com TXT \"v=STSv1; id=20240310\"";

    #[tokio::test]
    async fn prints_record_and_policy() {
        let (result, printed) = run(RECORD, "example.com", Some(POLICY)).await;
        result.expect("lookup");
        assert_eq!(
            printed,
            "DNS TXT record _mta-sts.example.com: v=STSv1; id=20240310\n\n\
             policy at https://mta-sts.example.com/.well-known/mta-sts.txt:\n\
             version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n"
        );
    }

    #[tokio::test]
    async fn invalid_policy_is_printed_with_the_problem() {
        let (result, printed) =
            run(RECORD, "example.com", Some("version: STSv1\nmode: enforce\nmax_age: 86400\n")).await;
        assert_eq!(
            result.expect_err("invalid").to_string(),
            "MTA-STS policy line 4: missing mx field, required unless mode is \"none\""
        );
        assert!(printed.ends_with("invalid policy at https://mta-sts.example.com/.well-known/mta-sts.txt:\nversion: STSv1\nmode: enforce\nmax_age: 86400\n"), "{printed}");
    }

    #[tokio::test]
    async fn missing_record_or_policy_is_an_error() {
        let (result, printed) = run("example.com TXT \"v=spf1 -all\"", "example.com", Some(POLICY)).await;
        assert_eq!(
            result.expect_err("no record").to_string(),
            "example.com: no MTA-STS record at _mta-sts.example.com"
        );
        assert_eq!(printed, "");
        let (result, printed) = run(RECORD, "example.com", None).await;
        assert_eq!(
            format!("{:#}", result.expect_err("404")),
            "fetching policy at https://mta-sts.example.com/.well-known/mta-sts.txt: policy host mta-sts.example.com answered with HTTP status 404, 200 is required"
        );
        assert!(printed.starts_with("DNS TXT record _mta-sts.example.com: "), "{printed}");
    }
}
