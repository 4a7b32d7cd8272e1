//! `mox dmarc lookup|parsereportmsg|verify`.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use dmarc::Discovery;

use crate::cmd::{Run, domain_arg, usage_error};
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
    Verify(Verify),
}

impl Run for Dmarc {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Dmarc::Lookup(c) => c.run(ctx).await,
            Dmarc::Parsereportmsg(c) => c.run(ctx).await,
            Dmarc::Verify(c) => c.run(ctx).await,
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
        let domain = domain_arg("domain", &self.domain)?;
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

/// Parse an email message and evaluate it against the DMARC policy of the domain in the From-header.
///
/// mailfromaddress and helodomain are used for SPF validation. If both are empty, SPF
/// validation is skipped.
///
/// mailfromaddress should be the address used as MAIL FROM in the SMTP session. For DSN
/// messages, that address may be empty. The helo domain was specified at the beginning of the
/// SMTP transaction that delivered the message. These values can be found in message headers.
///
/// The message is read from standard input. The results are printed in Authentication-Results
/// form: spf= for the MAIL FROM identity (the HELO domain's when MAIL FROM is empty), dkim=
/// for each DKIM signature, and dmarc= with the policy that applies (p=) and what a receiver
/// does with the message (dis=), followed by the DMARC record that was applied. The record's
/// pct= is not sampled: the disposition is the one for a message the percentage selects.
#[derive(Debug, clap::Args)]
pub(crate) struct Verify {
    /// IP address of the SMTP client that delivered the message, IPv4 or IPv6.
    #[arg(value_name = "remoteip")]
    remoteip: String,
    /// The SMTP MAIL FROM address (angle brackets optional), or "" for a null reverse-path.
    #[arg(value_name = "mailfromaddress")]
    mailfromaddress: String,
    /// The domain the SMTP client gave in HELO/EHLO, or "".
    #[arg(value_name = "helodomain")]
    helodomain: String,
}

impl Run for Verify {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let ip: IpAddr = self
            .remoteip
            .parse()
            .map_err(|e| usage_error(format!("remoteip {:?}: {e}", self.remoteip)))?;
        let mail_from = self.mailfromaddress.trim();
        let mail_from = mail_from.strip_prefix('<').and_then(|m| m.strip_suffix('>')).unwrap_or(mail_from);
        let helo = self.helodomain.trim();
        let message = ctx.read_stdin()?;
        let resolver = ctx.resolver()?;

        // SPF for the MAIL FROM identity: the domain DMARC aligns with the From domain.
        let spf = if mail_from.is_empty() && helo.is_empty() {
            None
        } else {
            let verification = spf::Verifier::new(&*resolver)
                .verify_mail_from(ip, helo, mail_from)
                .await
                .map_err(|e| usage_error(format!("mailfromaddress {mail_from:?}: {e}")))?;
            Some(verification)
        };
        let signatures = dkim::verify(&*resolver, &message, &dkim::VerifyOptions::default())
            .await
            .map_err(|e| anyhow::anyhow!("dkim verification: {e}"))?;

        let spf_outcome = spf.as_ref().and_then(dmarc::SpfOutcome::from_spf);
        let dkim_outcomes: Vec<dmarc::DkimOutcome> =
            signatures.iter().filter_map(dmarc::DkimOutcome::from_dkim).collect();
        let header = message::Header::parse(&message);
        let evaluation = dmarc::verify(
            &*resolver,
            &header,
            spf_outcome.as_ref(),
            &dkim_outcomes,
            &mut dmarc::AlwaysApply,
        )
        .await;

        let mut out = ctx.stdout();
        match &spf {
            Some(verification) => writeln!(out, "{}", verification.authentication_result())?,
            None => writeln!(out, "spf: skipped, mailfromaddress and helodomain are empty")?,
        }
        for line in dkim::authentication_results(&signatures) {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "{}", evaluation.authentication_results())?;
        match &evaluation.discovery {
            Some(Discovery::Found(found)) => {
                writeln!(out, "dmarc record at domain {}: {}", found.domain, found.txt)?;
                for problem in &found.problems {
                    writeln!(out, "warning: {problem}")?;
                }
            }
            Some(Discovery::Invalid { domain, txt, error }) => {
                writeln!(out, "invalid dmarc record at domain {domain}: {error} (in {txt:?})")?
            }
            Some(Discovery::MultipleRecords { domain, records }) => {
                writeln!(out, "{} dmarc records at domain {domain}, there must be one", records.len())?
            }
            Some(Discovery::TempError(error)) => writeln!(out, "dmarc record lookup: {error}")?,
            Some(Discovery::NoRecord { .. }) | None => {}
        }
        if let Some(error) = &evaluation.author_error {
            writeln!(out, "no author domain: {error}")?;
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

    /// A message from example.com, signed by `signer_domain` with a fresh Ed25519 key, and a
    /// zone with that key, SPF for example.com (192.0.2.25 may send) and DMARC p=reject.
    fn signed(signer_domain: &str, from: &str) -> (dns::MockResolver, Vec<u8>) {
        let key = dkim::PrivateKey::generate_ed25519().expect("key");
        let record = dkim::Record::for_public_key(&key.public_key()).to_string();
        let signer = dkim::Signer::new(
            dns::Domain::parse(signer_domain).expect("domain"),
            dkim::Selector::parse("sel").expect("selector"),
            key,
        );
        let message = format!(
            "From: Jane <jane@{from}>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"
        );
        let headers =
            dkim::sign(&[signer], message.as_bytes(), std::time::SystemTime::now()).expect("sign");
        let zone = dns::MockResolver::from_zone(&format!(
            r#"sel._domainkey.{signer_domain} TXT "{record}"
               example.com TXT "v=spf1 ip4:192.0.2.25 -all"
               _dmarc.example.com TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
               _dmarc.slow.example TXT TIMEOUT"#
        ))
        .expect("zone");
        (zone, [headers.as_bytes(), message.as_bytes()].concat())
    }

    async fn verify(zone: dns::MockResolver, message: &[u8], args: [&str; 3]) -> (anyhow::Result<()>, String) {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), Some(Arc::new(zone)), message);
        let command = Verify {
            remoteip: args[0].into(),
            mailfromaddress: args[1].into(),
            helodomain: args[2].into(),
        };
        let result = command.run(&ctx).await;
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone());
        (result, printed.expect("utf-8"))
    }

    fn lines(out: &str) -> Vec<&str> {
        out.lines().collect()
    }

    #[tokio::test]
    async fn verify_dkim_pass_without_spf() {
        let (zone, message) = signed("example.com", "example.com");
        let (result, out) = verify(zone, &message, ["192.0.2.99", "", ""]).await;
        result.expect("verify");
        let out = lines(&out);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[0], "spf: skipped, mailfromaddress and helodomain are empty");
        assert!(out[1].starts_with("dkim=pass header.d=example.com header.s=sel header.a=ed25519-sha256 header.b="), "{out:?}");
        assert_eq!(out[2], "dmarc=pass (p=reject dis=none) header.from=example.com");
        assert_eq!(out[3], "dmarc record at domain example.com: v=DMARC1; p=reject; rua=mailto:dmarc@example.com");
    }

    #[tokio::test]
    async fn verify_spf_alignment_and_failures() {
        // Signed by a third party; SPF passes for example.com: aligned through SPF.
        let (zone, message) = signed("esp.example", "news.example.com");
        let (result, out) = verify(zone, &message, ["192.0.2.25", "<bounce@example.com>", "mail.esp.example"]).await;
        result.expect("verify");
        let out = lines(&out);
        assert_eq!(out[0], "spf=pass smtp.mailfrom=example.com");
        assert!(out[1].starts_with("dkim=pass header.d=esp.example"), "{out:?}");
        assert_eq!(out[2], "dmarc=pass (p=reject dis=none) header.from=news.example.com");

        // The same from another IP: SPF fails, DKIM is not aligned: reject.
        let (zone, message) = signed("esp.example", "news.example.com");
        let (result, out) = verify(zone, &message, ["198.51.100.1", "bounce@example.com", "mail.esp.example"]).await;
        result.expect("verify");
        let out = lines(&out);
        assert_eq!(out[0], "spf=fail smtp.mailfrom=example.com");
        assert_eq!(out[2], "dmarc=fail (p=reject dis=reject) header.from=news.example.com");

        // A null sender is checked with the HELO domain.
        let (zone, message) = signed("esp.example", "example.com");
        let (result, out) = verify(zone, &message, ["192.0.2.25", "", "example.com"]).await;
        result.expect("verify");
        let out = lines(&out);
        assert_eq!(out[0], "spf=pass smtp.mailfrom=example.com");
        assert_eq!(out[2], "dmarc=pass (p=reject dis=none) header.from=example.com");
    }

    #[tokio::test]
    async fn verify_unsigned_and_odd_messages() {
        let (zone, _) = signed("example.com", "example.com");
        let (result, out) = verify(zone, b"From: a@slow.example\r\n\r\nhi\r\n", ["192.0.2.1", "", ""]).await;
        result.expect("verify");
        let out = lines(&out);
        assert_eq!(out[1], "dkim=none");
        assert_eq!(out[2], "dmarc=temperror (DMARC record lookup failed) header.from=slow.example");
        assert!(out[3].starts_with("dmarc record lookup: _dmarc.slow.example: temporary"), "{out:?}");

        let (zone, _) = signed("example.com", "example.com");
        let (result, out) = verify(zone, b"Subject: no from\r\n\r\nhi\r\n", ["192.0.2.1", "", ""]).await;
        result.expect("verify");
        let out = lines(&out);
        assert_eq!(out[2..], ["dmarc=permerror (no From header)", "no author domain: message has no From header"]);
    }

    #[tokio::test]
    async fn verify_usage_errors() {
        let (zone, message) = signed("example.com", "example.com");
        let (result, _) = verify(zone, &message, ["192.0.2", "", ""]).await;
        let err = result.expect_err("bad ip");
        assert!(err.downcast_ref::<crate::cmd::UsageError>().is_some());
        assert!(err.to_string().starts_with("remoteip \"192.0.2\": "), "{err}");
        let (zone, message) = signed("example.com", "example.com");
        let (result, _) = verify(zone, &message, ["192.0.2.1", "no-at-sign", "mail.example.com"]).await;
        let err = result.expect_err("bad mail from");
        assert!(err.downcast_ref::<crate::cmd::UsageError>().is_some());
        assert!(err.to_string().starts_with("mailfromaddress \"no-at-sign\": "), "{err}");
    }
}
