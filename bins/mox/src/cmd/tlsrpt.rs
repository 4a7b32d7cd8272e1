//! `mox tlsrpt lookup|parsereportmsg`: SMTP TLS Reporting (RFC 8460), with the `tlsrpt` crate.

use std::io::Write as _;
use std::path::PathBuf;

use crate::cmd::{Run, domain_arg};
use crate::context::Context;

/// Look up TLSRPT records and read TLS reports.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Tlsrpt {
    Lookup(Lookup),
    Parsereportmsg(Parsereportmsg),
}

impl Run for Tlsrpt {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Tlsrpt::Lookup(c) => c.run(ctx).await,
            Tlsrpt::Parsereportmsg(c) => c.run(ctx).await,
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
        let domain = domain_arg("domain", &self.domain)?;
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

/// Parse and print the TLSRPT in the message.
///
/// The report is printed in formatted JSON. Each message file is read whole (at most 15 MiB);
/// the report is the message's application/tlsrpt+gzip or application/tlsrpt+json part (RFC
/// 8460 section 5.3), base64 or otherwise encoded, gzipped or not. A file that cannot be read or
/// holds no valid report is reported on stderr with its name; the others are still printed, and
/// the exit status is 1.
#[derive(Debug, clap::Args)]
pub(crate) struct Parsereportmsg {
    /// Message files (RFC 5322, as saved from a mail client or a Maildir) holding a report.
    #[arg(value_name = "message", required = true)]
    messages: Vec<PathBuf>,
}

impl Run for Parsereportmsg {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let mut failed = 0;
        for path in &self.messages {
            match read_report(path) {
                Ok(report) => writeln!(ctx.stdout(), "{}", report.to_json_pretty())?,
                Err(e) => {
                    failed += 1;
                    tracing::error!("{}: {e:#}", path.display());
                }
            }
        }
        match failed {
            0 => Ok(()),
            1 if self.messages.len() == 1 => {
                anyhow::bail!("{}: no valid TLS report", self.messages[0].display())
            }
            n => anyhow::bail!("{n} of {} messages without a valid TLS report", self.messages.len()),
        }
    }
}

fn read_report(path: &std::path::Path) -> anyhow::Result<::tlsrpt::Report> {
    use anyhow::Context as _;
    let data = std::fs::read(path).context("reading message")?;
    Ok(::tlsrpt::parse_report_message(&data)?)
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

    fn testdata(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tlsrpt").join(name)
    }

    #[tokio::test]
    async fn parsereportmsg_prints_formatted_json() {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        let command = Parsereportmsg {
            messages: vec![testdata("rfc8460-section-5.3.1.eml"), testdata("google-report.eml")],
        };
        command.run(&ctx).await.expect("parse");
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone()).expect("utf-8");
        assert!(printed.starts_with("{\n  \"organization-name\": \"Company-X\",\n  \"date-range\": {\n"), "{printed}");
        assert!(printed.contains("\n}\n{\n  \"organization-name\": \"Google Inc.\",\n"), "{printed}");
        assert!(printed.contains("\"failure-reason-code\": \"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED\""), "{printed}");
        assert!(printed.ends_with("}\n"), "{printed}");
    }

    #[tokio::test]
    async fn parsereportmsg_reports_bad_files_and_goes_on() {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        let command = Parsereportmsg {
            messages: vec![testdata("README.md"), testdata("plain-json-report.eml"), testdata("missing.eml")],
        };
        let err = command.run(&ctx).await.expect_err("two bad files");
        assert_eq!(err.to_string(), "2 of 3 messages without a valid TLS report");
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone()).expect("utf-8");
        assert!(printed.contains("\"organization-name\": \"Microsoft Corporation\""), "{printed}");
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
