//! `mox spf check|lookup|parse`.

use std::io::Write as _;
use std::net::IpAddr;

use crate::cmd::{Run, domain_arg, usage_error};
use crate::context::Context;

/// Check, look up and parse SPF records.
///
/// SPF (RFC 7208) lets a domain publish in DNS which IPs may send mail with the domain in the
/// SMTP MAIL FROM.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Spf {
    Check(Check),
    Lookup(Lookup),
    Parse(Parse),
}

impl Run for Spf {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Spf::Check(c) => c.run(ctx).await,
            Spf::Lookup(c) => c.run(ctx).await,
            Spf::Parse(c) => c.run(ctx).await,
        }
    }
}

/// Check the status of IP for the policy published in DNS for the domain.
///
/// IPs may be allowed to send for a domain, or disallowed, and several shades in between. If
/// not allowed, an explanation may be provided by the policy. If so, the explanation is
/// printed. The SPF mechanism that matched (if any) is also printed.
///
/// The check is for MAIL FROM user@domain and HELO domain, as an SMTP server would do it for
/// a client at IP. Printed: "error:" with the problem for none, temperror and permerror;
/// "explanation:" if the policy gives one; "status:" with the result (none, neutral, pass,
/// fail, softfail, temperror or permerror); "mechanism:" with the directive that decided.
#[derive(Debug, clap::Args)]
pub(crate) struct Check {
    /// Domain whose SPF policy is checked, e.g. example.com.
    #[arg(value_name = "domain")]
    domain: String,
    /// IP address of the sending host, IPv4 or IPv6.
    #[arg(value_name = "ip")]
    ip: String,
}

impl Run for Check {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = domain_arg("domain", &self.domain)?;
        let ip: IpAddr =
            self.ip.parse().map_err(|e| usage_error(format!("ip {:?}: {e}", self.ip)))?;
        let resolver = ctx.resolver()?;
        let verifier = spf::Verifier::new(&*resolver).with_receiver("localhost");
        let mail_from = format!("user@{}", domain.ascii());
        let verification = verifier.verify_mail_from(ip, domain.ascii(), &mail_from).await?;
        let evaluation = &verification.evaluation;
        let mut out = ctx.stdout();
        if let Some(problem) = &evaluation.problem {
            writeln!(out, "error: {problem}")?;
        }
        if let Some(explanation) = &evaluation.explanation {
            writeln!(out, "explanation: {explanation}")?;
        }
        writeln!(out, "status: {}", evaluation.result)?;
        if let Some(mechanism) = &evaluation.mechanism {
            writeln!(out, "mechanism: {mechanism}")?;
        }
        Ok(())
    }
}

/// Lookup the SPF record for the domain and print it.
///
/// The record is printed as published, followed by whether the DNS answer was
/// DNSSEC-verified. Fails when the domain has no SPF record, has several, or the one it has
/// does not parse.
#[derive(Debug, clap::Args)]
pub(crate) struct Lookup {
    /// Domain whose SPF record is looked up.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Lookup {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = domain_arg("domain", &self.domain)?;
        let resolver = ctx.resolver()?;
        match spf::lookup_record(&*resolver, &domain).await {
            spf::RecordLookup::Found { text, authentic, .. } => {
                let mut out = ctx.stdout();
                writeln!(out, "{text}")?;
                let dnssec = if authentic { "with dnssec" } else { "without dnssec" };
                writeln!(out, "({dnssec})")?;
                Ok(())
            }
            spf::RecordLookup::None { problem }
            | spf::RecordLookup::Temperror { problem }
            | spf::RecordLookup::Permerror { problem, .. } => {
                anyhow::bail!("spf lookup for {domain}: {problem}")
            }
        }
    }
}

/// Parse the record as SPF record. If valid, nothing is printed.
///
/// Otherwise the error, with its position in the record, is printed and the exit status is 1.
#[derive(Debug, clap::Args)]
pub(crate) struct Parse {
    /// The record, e.g. "v=spf1 mx -all" (quoted as one argument).
    #[arg(value_name = "txtrecord")]
    txtrecord: String,
}

impl Run for Parse {
    async fn run(self, _ctx: &Context) -> anyhow::Result<()> {
        spf::Record::parse(&self.txtrecord)
            .map_err(|e| anyhow::anyhow!("parsing record: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::GlobalOptions;

    const ZONE: &str = r#"
        example.com        TXT  "v=spf1 mx ip6:2001:db8::/32 -all exp=why.example.com"
        example.com        TXT  "some other record"
        example.com        MX   10 mail.example.com
        mail.example.com   A    192.0.2.25
        why.example.com    TXT  "%{i} is not one of %{d}'s mail servers"
        signed.example     TXT  "v=spf1 -all"
        signed.example     AUTHENTIC
        twice.example      TXT  "v=spf1 -all"
        twice.example      TXT  "v=spf1 +all"
        broken.example     TXT  "v=spf1 a:museum -all"
        down.example       TXT  SERVFAIL
    "#;

    async fn run(command: Spf) -> (anyhow::Result<()>, String) {
        let zone = dns::MockResolver::from_zone(ZONE).expect("zone");
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), Some(Arc::new(zone)), b"");
        let result = command.run(&ctx).await;
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone());
        (result, printed.expect("utf-8"))
    }

    fn check(domain: &str, ip: &str) -> Spf {
        Spf::Check(Check { domain: domain.into(), ip: ip.into() })
    }

    #[tokio::test]
    async fn check_prints_status_mechanism_and_explanation() {
        let (result, out) = run(check("example.com", "192.0.2.25")).await;
        result.expect("check");
        assert_eq!(out, "status: pass\nmechanism: mx\n");

        let (result, out) = run(check("example.com", "2001:db8::1")).await;
        result.expect("check");
        assert_eq!(out, "status: pass\nmechanism: ip6:2001:db8::/32\n");

        let (result, out) = run(check("example.com", "198.51.100.1")).await;
        result.expect("check");
        assert_eq!(
            out,
            "explanation: 198.51.100.1 is not one of example.com's mail servers\n\
             status: fail\nmechanism: -all\n"
        );
    }

    #[tokio::test]
    async fn check_prints_problems() {
        let (result, out) = run(check("nowhere.example", "192.0.2.1")).await;
        result.expect("check");
        assert!(out.starts_with("error: no SPF record: nowhere.example: domain does not exist"), "{out}");
        assert!(out.ends_with("\nstatus: none\n"), "{out}");

        let (result, out) = run(check("down.example", "192.0.2.1")).await;
        result.expect("check");
        assert!(out.contains("SERVFAIL"), "{out}");
        assert!(out.ends_with("\nstatus: temperror\n"), "{out}");

        let (result, out) = run(check("twice.example", "192.0.2.1")).await;
        result.expect("check");
        assert_eq!(out, "error: twice.example: 2 SPF records, there must be one\nstatus: permerror\n");
    }

    #[tokio::test]
    async fn check_rejects_bad_arguments() {
        let (result, _) = run(check("example.com", "192.0.2")).await;
        let err = result.expect_err("bad ip");
        assert!(err.downcast_ref::<crate::cmd::UsageError>().is_some());
        assert!(err.to_string().starts_with("ip \"192.0.2\": "), "{err}");
        let (result, _) = run(check("exa mple.com", "192.0.2.1")).await;
        assert!(result.expect_err("bad domain").to_string().starts_with("domain \"exa mple.com\""));
    }

    #[tokio::test]
    async fn lookup_prints_the_record_and_dnssec_status() {
        let lookup = |domain: &str| Spf::Lookup(Lookup { domain: domain.into() });
        let (result, out) = run(lookup("example.com")).await;
        result.expect("lookup");
        assert_eq!(
            out,
            "v=spf1 mx ip6:2001:db8::/32 -all exp=why.example.com\n(without dnssec)\n"
        );
        let (result, out) = run(lookup("signed.example")).await;
        result.expect("lookup");
        assert_eq!(out, "v=spf1 -all\n(with dnssec)\n");

        let (result, out) = run(lookup("broken.example")).await;
        let err = result.expect_err("invalid record");
        assert_eq!(out, "");
        assert_eq!(
            err.to_string(),
            "spf lookup for broken.example: broken.example: invalid record: domain-spec must \
             end in a macro or in \".\" and a valid top-level label at position 9 (in \"a:museum\")"
        );
        let (result, _) = run(lookup("twice.example")).await;
        assert!(result.expect_err("two records").to_string().contains("2 SPF records"));
    }

    #[tokio::test]
    async fn parse_is_silent_when_valid() {
        let parse = |record: &str| Spf::Parse(Parse { txtrecord: record.into() });
        let (result, out) = run(parse("v=spf1 ip4:192.0.2.0/24 include:_spf.example.com ~all")).await;
        result.expect("valid");
        assert_eq!(out, "");
        let (result, out) = run(parse("v=spf1 ip4:192.0.2.0/24 include -all")).await;
        assert_eq!(out, "");
        assert_eq!(
            result.expect_err("invalid").to_string(),
            "parsing record: missing domain-spec at position 31 (in \"include\")"
        );
        let (result, _) = run(parse("spf2.0/pra -all")).await;
        assert!(result.expect_err("not spf").to_string().contains("not an SPF record"));
    }
}
