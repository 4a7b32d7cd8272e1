//! `mox tlsrpt lookup`: SMTP TLS Reporting (RFC 8460), with the `tlsrpt` crate.

use std::io::Write as _;

use crate::cmd::{Run, usage_error};
use crate::context::Context;

/// Look up TLSRPT records.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Tlsrpt {
    Lookup(Lookup),
}

impl Run for Tlsrpt {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Tlsrpt::Lookup(c) => c.run(ctx).await,
        }
    }
}

/// Lookup the TLSRPT record for the domain.
///
/// A TLSRPT record typically contains an email address where reports about TLS connectivity
/// should be sent. Mail servers attempting delivery to our domain should attempt to use TLS.
/// TLSRPT lets them report how many connections successfully used TLS, and what kind of errors
/// occurred otherwise.
///
/// The record is printed as found at _smtp._tls.<domain>, followed by its reporting addresses.
/// A missing or invalid record is an error (exit status 1).
#[derive(Debug, clap::Args)]
pub(crate) struct Lookup {
    /// Domain whose TLSRPT record is looked up.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Lookup {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = dns::Domain::parse(&self.domain)
            .map_err(|e| usage_error(format!("domain {:?}: {e}", self.domain)))?;
        let resolver = ctx.resolver()?;
        let found = ::tlsrpt::lookup_record(resolver.as_ref(), &domain).await?;
        let mut out = ctx.stdout();
        writeln!(out, "DNS TXT record _smtp._tls.{}: {}", domain.ascii(), found.txt)?;
        if found.authentic {
            writeln!(out, "(DNSSEC-authenticated)")?;
        }
        for rua in &found.record.rua {
            let how = match rua.scheme() {
                ::tlsrpt::RuaScheme::Mailto => "reports by email",
                ::tlsrpt::RuaScheme::Https => "reports by HTTPS POST",
                _ => "unsupported scheme, no reports",
            };
            writeln!(out, "rua: {rua} ({how})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::GlobalOptions;

    async fn run(zone: &str, domain: &str) -> (anyhow::Result<()>, String) {
        let zone = dns::MockResolver::from_zone(zone).expect("zone");
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), Some(Arc::new(zone)), b"");
        let result = Lookup { domain: domain.into() }.run(&ctx).await;
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone()).expect("utf-8");
        (result, printed)
    }

    #[tokio::test]
    async fn lookup_prints_record_and_destinations() {
        let zone = r#"
            _smtp._tls.example.com TXT "v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/tlsrpt"
            _smtp._tls.example.com AUTHENTIC
        "#;
        let (result, printed) = run(zone, "example.com").await;
        result.expect("lookup");
        assert_eq!(
            printed,
            "DNS TXT record _smtp._tls.example.com: v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/tlsrpt\n\
             (DNSSEC-authenticated)\n\
             rua: mailto:tls@example.com (reports by email)\n\
             rua: https://r.example/tlsrpt (reports by HTTPS POST)\n"
        );
    }

    #[tokio::test]
    async fn lookup_errors() {
        let (result, printed) = run("example.com TXT \"v=spf1 -all\"", "example.com").await;
        assert_eq!(
            result.expect_err("none").to_string(),
            "example.com: no TLSRPT record at _smtp._tls.example.com"
        );
        assert_eq!(printed, "");
        let (result, _) = run("_smtp._tls.example.com TXT \"v=TLSRPTv1; rua=tls@example.com\"", "example.com").await;
        assert!(result.expect_err("invalid").to_string().starts_with("TLSRPT record: invalid reporting URI"));
    }
}
