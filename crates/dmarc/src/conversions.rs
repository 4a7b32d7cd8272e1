//! Results of this workspace's `spf` and `dkim` crates as DMARC input, behind the `spf` and
//! `dkim` features. Without them the crate depends on neither; other SPF and DKIM
//! implementations fill in [`SpfOutcome`] and [`DkimOutcome`] directly.

#[cfg(feature = "dkim")]
use crate::evaluate::{DkimOutcome, DkimResult};
#[cfg(feature = "spf")]
use crate::evaluate::{SpfOutcome, SpfResult};

#[cfg(feature = "spf")]
impl From<spf::SpfResult> for SpfResult {
    fn from(result: spf::SpfResult) -> SpfResult {
        match result {
            spf::SpfResult::None => SpfResult::None,
            spf::SpfResult::Neutral => SpfResult::Neutral,
            spf::SpfResult::Pass => SpfResult::Pass,
            spf::SpfResult::Fail => SpfResult::Fail,
            spf::SpfResult::Softfail => SpfResult::Softfail,
            spf::SpfResult::Temperror => SpfResult::Temperror,
            spf::SpfResult::Permerror => SpfResult::Permerror,
        }
    }
}

#[cfg(feature = "spf")]
impl SpfOutcome {
    /// The DMARC input for an SPF verification of the MAIL FROM identity (which is the HELO
    /// name's when MAIL FROM was empty, RFC 7208 §2.4): its result and the domain checked.
    /// None when the domain checked is not a valid DNS name (the result is then `none`, and
    /// there is nothing to align).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let zone = dns::MockResolver::from_zone(r#"example.com TXT "v=spf1 ip4:192.0.2.0/24 -all""#)?;
    /// let verification = spf::Verifier::new(&zone)
    ///     .verify_mail_from("192.0.2.1".parse()?, "mail.example.com", "bounce@example.com")
    ///     .await?;
    /// let outcome = dmarc::SpfOutcome::from_spf(&verification).unwrap();
    /// assert_eq!(outcome.result, dmarc::SpfResult::Pass);
    /// assert_eq!(outcome.domain.to_string(), "example.com");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_spf(verification: &spf::Verification) -> Option<SpfOutcome> {
        let domain = dns::Domain::parse(&verification.domain).ok()?;
        Some(SpfOutcome { result: verification.result().into(), domain })
    }
}

#[cfg(feature = "dkim")]
impl From<dkim::Status> for DkimResult {
    fn from(status: dkim::Status) -> DkimResult {
        match status {
            dkim::Status::None => DkimResult::None,
            dkim::Status::Pass => DkimResult::Pass,
            dkim::Status::Fail => DkimResult::Fail,
            dkim::Status::Neutral => DkimResult::Neutral,
            dkim::Status::Temperror => DkimResult::Temperror,
            dkim::Status::Permerror => DkimResult::Permerror,
            // A status added later is not a pass; neutral claims nothing.
            _ => DkimResult::Neutral,
        }
    }
}

#[cfg(feature = "dkim")]
impl DkimOutcome {
    /// The DMARC input for one verified DKIM signature: its status, `d=` and `s=`. None for a
    /// signature whose `d=` could not be read (it cannot align with anything).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let zone = dns::MockResolver::from_zone("")?;
    /// let msg = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA\r\n\
    ///             From: a@example.com\r\n\r\nhi\r\n";
    /// let results = dkim::verify(&zone, msg, &dkim::VerifyOptions::default()).await?;
    /// let outcome = dmarc::DkimOutcome::from_dkim(&results[0]).unwrap();
    /// // No key record for sel._domainkey.example.com.
    /// assert_eq!(outcome.result, dmarc::DkimResult::Permerror);
    /// assert_eq!((outcome.domain.ascii(), outcome.selector.as_deref()), ("example.com", Some("sel")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_dkim(result: &dkim::SignatureResult) -> Option<DkimOutcome> {
        Some(DkimOutcome {
            result: result.status.into(),
            domain: result.domain.clone()?,
            selector: result.selector.as_ref().map(|s| s.to_string()),
        })
    }
}

#[cfg(all(test, feature = "spf"))]
mod spf_tests {
    use super::*;

    #[tokio::test]
    async fn null_sender_uses_helo_and_bad_domains_give_nothing() {
        let zone = dns::MockResolver::from_zone(
            r#"mail.example.com TXT "v=spf1 ip4:192.0.2.1 -all"
               example.com TXT "v=spf1 -all""#,
        )
        .unwrap();
        let verifier = spf::Verifier::new(&zone);
        let ip = "192.0.2.1".parse().unwrap();
        let v = verifier.verify_mail_from(ip, "mail.example.com", "").await.unwrap();
        let outcome = SpfOutcome::from_spf(&v).unwrap();
        assert_eq!((outcome.result, outcome.domain.ascii()), (SpfResult::Pass, "mail.example.com"));
        let v = verifier.verify_mail_from(ip, "mail.example.com", "x@example.com").await.unwrap();
        assert_eq!(SpfOutcome::from_spf(&v).unwrap().result, SpfResult::Fail);
        let v = verifier.verify_mail_from(ip, "[192.0.2.1]", "").await.unwrap();
        assert_eq!(SpfOutcome::from_spf(&v), None);
    }
}
