//! `mox config dnsrecords domain`: the DNS records a configured domain needs, as a zone file.

use std::io::Write as _;

use crate::cmd::{Run, domain_arg};
use crate::context::Context;
use crate::dns_records;

/// Prints annotated DNS records as zone file that should be created for the domain.
///
/// The zone file can be imported into existing DNS software. You should review the DNS
/// records, especially if your domain previously/currently has email configured.
///
/// The records: MX, SPF (for the domain and for the host itself), a DKIM record for each
/// configured selector (public key from its private key file), DMARC with reports to the
/// configured reporting address, MTA-STS and TLSRPT, the client settings name, the
/// autoconfig/autodiscover and SRV records email clients use to find their settings, DANE
/// (TLSA) records for the host keys of the public listener, and a CAA record when
/// certificates come from ACME.
///
/// Whether the domain's zone is DNSSEC-signed is looked up with the resolver (see
/// -dns-server): without DNSSEC, DANE records are printed commented out.
///
/// Check the records once they are in DNS with "mox config dnscheck domain".
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config dnsrecords domain")]
pub(crate) struct Dnsrecords {
    /// Domain, as configured in domains.conf.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Dnsrecords {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let domain = domain_arg("domain", &self.domain)?;
        let config = ctx.load_config()?;
        if config.domain(&domain).is_none() {
            anyhow::bail!("unknown domain {}", domain.unicode());
        }
        let resolver = ctx.resolver()?;
        let dnssec = dns_records::zone_is_signed(resolver.as_ref(), &domain).await?;
        let lines = dns_records::domain_records(&config, &domain, dns_records::Options { dnssec })?;
        ctx.stdout().write_all(dns_records::zone_text(&domain, &lines).as_bytes())?;
        Ok(())
    }
}
