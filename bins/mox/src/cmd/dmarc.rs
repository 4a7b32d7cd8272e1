//! `mox dmarc lookup|parsereportmsg`.

use std::io::Write as _;
use std::path::PathBuf;

use dmarc::Discovery;

use crate::cmd::{Run, usage_error};
use crate::context::Context;

/// Look up DMARC policies, verify messages against them, and read DMARC reports.
///
/// DMARC (RFC 7489) lets the owner of the domain in a message's From header publish, as a DNS
/// TXT record at _dmarc.<domain>, what receivers should do with mail that passes neither SPF
/// nor DKIM for that domain, and where to send reports about it.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Dmarc {
    Lookup(Lookup),
    Parsereportmsg(Parsereportmsg),
}

impl Run for Dmarc {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Dmarc::Lookup(c) => c.run(ctx).await,
            Dmarc::Parsereportmsg(c) => c.run(ctx).await,
        }
    }
}

/// Lookup dmarc policy for domain, a DNS TXT record at _dmarc.<domain>, validate and print it.
///
/// As a receiving mail server does (RFC 7489 §6.6.3): if the domain has no DMARC record, the
/// record of its organizational domain (found with the Public Suffix List) is used, so the
/// domain the record was found at is printed with it, followed by whether the DNS answer was
/// DNSSEC-verified. Problems that receivers work around (an invalid pct= or adkim=, a bad URI
/// in rua=, ...) are printed as warnings. Fails when there is no record, more than one, or an
/// unusable one.
#[derive(Debug, clap::Args)]
pub(crate) struct Lookup {
    /// Domain whose DMARC policy is looked up, as in the From header, e.g. example.com.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Lookup {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = dns::Domain::parse(&self.domain)
            .map_err(|e| usage_error(format!("domain {:?}: {e}", self.domain)))?;
        let resolver = ctx.resolver()?;
        match dmarc::lookup(&*resolver, &domain).await {
            Discovery::Found(found) => {
                let mut out = ctx.stdout();
                for problem in &found.problems {
                    writeln!(out, "warning: {problem}")?;
                }
                writeln!(out, "dmarc record at domain {}: {}", found.domain, found.txt)?;
                let dnssec = if found.authentic { "with dnssec" } else { "without dnssec" };
                writeln!(out, "({dnssec})")?;
                Ok(())
            }
            Discovery::NoRecord { queried } => {
                let names: Vec<String> = queried.iter().map(|n| n.to_string()).collect();
                anyhow::bail!("dmarc lookup for {domain}: no DMARC record at {}", names.join(" or "))
            }
            Discovery::MultipleRecords { domain: at, records } => anyhow::bail!(
                "dmarc lookup for {domain}: {} DMARC records at _dmarc.{at}, there must be one: {}",
                records.len(),
                records.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
            ),
            Discovery::Invalid { domain: at, txt, error } => {
                anyhow::bail!("dmarc lookup for {domain}: invalid record at _dmarc.{at}: {error} (in {txt:?})")
            }
            Discovery::TempError(error) => anyhow::bail!("dmarc lookup for {domain}: {error}"),
        }
    }
}

/// Parse a DMARC report from an email message, and print its extracted details.
///
/// DMARC reports are periodically mailed, if requested in the DMARC DNS record of a domain.
/// Reports are sent by mail servers that received messages with our domain in a From header.
/// This may or may not be legitimate email. DMARC reports contain summaries of evaluations of
/// DMARC and DKIM/SPF, which can help understand email deliverability problems.
///
/// The report may be an XML, gzip or zip attachment anywhere in the message; a saved report
/// file (.xml, .xml.gz, .zip) is read as well. Each report is printed as JSON, with the
/// element names of the report's XML schema (RFC 7489 Appendix C).
#[derive(Debug, clap::Args)]
pub(crate) struct Parsereportmsg {
    /// Message files (or report files) to parse.
    #[arg(value_name = "message", required = true)]
    messages: Vec<PathBuf>,
}

impl Run for Parsereportmsg {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        for path in &self.messages {
            let data = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            let feedback = match dmarc::report::parse_message(&data) {
                // Not a message with a report: perhaps a report file saved from one.
                Err(dmarc::Error::NoReport) => dmarc::report::parse_file(&data),
                other => other,
            }
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let json = serde_json::to_string_pretty(&feedback)?;
            writeln!(ctx.stdout(), "{json}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::GlobalOptions;

    const ZONE: &str = r#"
        _dmarc.example.com       TXT  "v=DMARC1; p=reject; sp=quarantine; " "rua=mailto:dmarc@example.com"
        _dmarc.signed.example    TXT  "v=DMARC1; p=none"
        _dmarc.signed.example    AUTHENTIC
        _dmarc.sloppy.example    TXT  "v=DMARC1; p=quarantine; pct=110; rua=mailto:d@sloppy.example,dmarc@sloppy.example"
        _dmarc.twice.example     TXT  "v=DMARC1; p=none"
        _dmarc.twice.example     TXT  "v=DMARC1; p=reject"
        _dmarc.broken.example    TXT  "v=DMARC1; p=always"
        _dmarc.down.example      TXT  SERVFAIL
    "#;

    async fn run(command: Dmarc) -> (anyhow::Result<()>, String) {
        let zone = dns::MockResolver::from_zone(ZONE).expect("zone");
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), Some(Arc::new(zone)), b"");
        let result = command.run(&ctx).await;
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone());
        (result, printed.expect("utf-8"))
    }

    fn lookup(domain: &str) -> Dmarc {
        Dmarc::Lookup(Lookup { domain: domain.into() })
    }

    #[tokio::test]
    async fn lookup_prints_record_and_where_it_was_found() {
        let (result, out) = run(lookup("example.com")).await;
        result.expect("lookup");
        assert_eq!(
            out,
            "dmarc record at domain example.com: v=DMARC1; p=reject; sp=quarantine; \
             rua=mailto:dmarc@example.com\n(without dnssec)\n"
        );
        // A subdomain without its own record: the organizational domain's.
        let (result, out) = run(lookup("News.Example.com")).await;
        result.expect("lookup");
        assert!(out.starts_with("dmarc record at domain example.com: v=DMARC1; p=reject"), "{out}");

        let (result, out) = run(lookup("signed.example")).await;
        result.expect("lookup");
        assert_eq!(out, "dmarc record at domain signed.example: v=DMARC1; p=none\n(with dnssec)\n");

        let (result, out) = run(lookup("sloppy.example")).await;
        result.expect("lookup");
        assert_eq!(
            out,
            "warning: invalid value \"110\" for pct= at position 28: expected a percentage from 0 to 100\n\
             warning: invalid report URI \"dmarc@sloppy.example\" in rua= at position 61: no scheme (such as mailto:)\n\
             dmarc record at domain sloppy.example: v=DMARC1; p=quarantine; pct=110; \
             rua=mailto:d@sloppy.example,dmarc@sloppy.example\n(without dnssec)\n"
        );
    }

    #[tokio::test]
    async fn lookup_failures() {
        for (domain, want) in [
            (
                "mail.nowhere.example",
                "dmarc lookup for mail.nowhere.example: no DMARC record at \
                 _dmarc.mail.nowhere.example or _dmarc.nowhere.example",
            ),
            (
                "twice.example",
                "dmarc lookup for twice.example: 2 DMARC records at _dmarc.twice.example, there \
                 must be one: \"v=DMARC1; p=none\", \"v=DMARC1; p=reject\"",
            ),
            (
                "broken.example",
                "dmarc lookup for broken.example: invalid record at _dmarc.broken.example: \
                 invalid value \"always\" for p= at position 12: expected none, quarantine or \
                 reject (in \"v=DMARC1; p=always\")",
            ),
        ] {
            let (result, out) = run(lookup(domain)).await;
            assert_eq!(out, "");
            assert_eq!(result.expect_err(domain).to_string(), want);
        }
        let (result, _) = run(lookup("down.example")).await;
        let err = result.expect_err("servfail").to_string();
        assert!(err.starts_with("dmarc lookup for down.example: _dmarc.down.example: temporary"), "{err}");
        let (result, _) = run(lookup("exa mple.com")).await;
        let err = result.expect_err("bad domain");
        assert!(err.downcast_ref::<crate::cmd::UsageError>().is_some());
    }

    fn testdata(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dmarc").join(name)
    }

    #[tokio::test]
    async fn parsereportmsg_prints_json() {
        let command = Dmarc::Parsereportmsg(Parsereportmsg {
            messages: vec![testdata("rfc7489-appendix-b5.eml"), testdata("yahoo-gzip.eml")],
        });
        let (result, out) = run(command).await;
        result.expect("parse");
        let reports: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&out)
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("JSON values");
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0]["report_metadata"]["report_id"], "2002.02.15.1");
        assert_eq!(reports[0]["records"][0]["auth_results"]["dkim"][0]["human_result"], "body hash mismatch");
        assert_eq!(reports[1]["report_metadata"]["org_name"], "Yahoo");
        assert_eq!(reports[1]["records"][1]["row"]["source_ip"], "2001:db8::2:1");
        assert!(out.starts_with("{\n  \"report_metadata\": {\n    \"org_name\": \"mail.receiver.example\","), "{out}");

        // A saved report file.
        let command = Dmarc::Parsereportmsg(Parsereportmsg {
            messages: vec![testdata("google.com!example.com!1703721600!1703807999.zip")],
        });
        let (result, out) = run(command).await;
        result.expect("parse");
        assert!(out.contains("\"org_name\": \"google.com\""), "{out}");
    }

    #[tokio::test]
    async fn parsereportmsg_errors_name_the_file() {
        let command = Dmarc::Parsereportmsg(Parsereportmsg { messages: vec![testdata("no-report.eml")] });
        let (result, _) = run(command).await;
        let err = result.expect_err("no report").to_string();
        assert!(err.ends_with("no-report.eml: no DMARC report found in message"), "{err}");
        let command = Dmarc::Parsereportmsg(Parsereportmsg { messages: vec![testdata("missing.eml")] });
        let (result, _) = run(command).await;
        let err = result.expect_err("missing").to_string();
        assert!(err.starts_with("reading ") && err.contains("missing.eml: "), "{err}");
    }
}
