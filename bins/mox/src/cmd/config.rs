//! `mox config ...`: describe, check and change the configuration.

use std::io::Write as _;

use crate::cmd::Run;
use crate::context::Context;

/// Describe, check and change the configuration.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Config {
    DescribeSendmail(DescribeSendmail),
}

impl Run for Config {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Config::DescribeSendmail(c) => c.run(ctx).await,
        }
    }
}

/// Describe configuration for mox when invoked as sendmail.
///
/// Prints an annotated moxsubmit.conf with every key, its documentation and an example
/// value. Save it as /etc/moxsubmit.conf (or the file named by MOXSUBMIT_CONF) and edit it;
/// see "mox help sendmail".
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox config describe-sendmail >/etc/moxsubmit.conf")]
pub(crate) struct DescribeSendmail {}

impl Run for DescribeSendmail {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        ctx.stdout().write_all(::sendmail::SubmitConfig::describe().as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOptions;

    #[tokio::test]
    async fn describe_sendmail_prints_a_parsable_example() {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        DescribeSendmail {}.run(&ctx).await.expect("describe-sendmail");
        let text = String::from_utf8(printed.lock().expect("lock").clone()).expect("UTF-8");
        let config = ::sendmail::SubmitConfig::parse(&text, "describe".as_ref()).expect("parses back");
        assert_eq!(config.port, 465);
        assert!(text.contains("# Address for MAIL FROM in SMTP and From-header in message.\nFrom: "), "{text}");
    }
}
