//! `mox sendmail`, and `mox` invoked as `sendmail`.

use std::ffi::OsString;
use std::io::Read;

use crate::cmd::Run;
use crate::context::Context;

/// Sendmail is a drop-in replacement for /usr/sbin/sendmail to deliver emails sent by unix processes like cron.
///
/// If invoked as "sendmail", it will act as sendmail for sending messages. Its intention is to
/// let processes like cron send emails. Messages are submitted to an actual mail server over
/// SMTP. The destination mail server and credentials are configured in /etc/moxsubmit.conf (or
/// the file in $MOXSUBMIT_CONF), see mox config describe-sendmail. The From message header is
/// rewritten to the configured address. When the addressee appears to be a local user, because
/// without @, the message is sent to the configured default address.
///
/// If submitting an email fails, it is added to a directory moxsubmit.failures in the user's
/// home directory, and the exit status is not zero.
///
/// Most flags are ignored to fake compatibility with other sendmail implementations. One or
/// more recipients or the -t flag are required. With -t, recipients are taken from the To, Cc
/// and Bcc headers (and Bcc is removed). -F sets the name in the From header. -bi and -bp do
/// nothing. The message is read until the end of input; a line with a single dot does not end
/// it. TLS certificates are verified against the built-in roots and $SSL_CERT_FILE (or the
/// system bundle).
///
/// /etc/moxsubmit.conf should be group-readable and not readable by others and this binary
/// should be setgid that group:
///
///     groupadd moxsubmit
///     install -m 2755 -o root -g moxsubmit mox /usr/sbin/sendmail
///     touch /etc/moxsubmit.conf
///     chown root:moxsubmit /etc/moxsubmit.conf
///     chmod 640 /etc/moxsubmit.conf
///     # edit /etc/moxsubmit.conf
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox sendmail [-Fname] [ignoredflags] [-t] [<message]", verbatim_doc_comment)]
pub(crate) struct Sendmail {
    /// Flags and recipients, as for sendmail.
    #[arg(value_name = "args", trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

impl Run for Sendmail {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let mut stdin = LazyStdin { ctx, data: None };
        let mut stderr = std::io::stderr();
        let env = ::sendmail::Environment::from_process();
        let outcome = ::sendmail::run(&self.args, &mut stdin, &mut ctx.stdout(), &mut stderr, &env).await;
        match outcome.message {
            Some(message) if outcome.exit_code != 0 => Err(anyhow::anyhow!(message)),
            Some(message) => {
                eprintln!("mox: {message}");
                Ok(())
            }
            None if outcome.exit_code != 0 => Err(anyhow::anyhow!("sendmail failed")),
            None => Ok(()),
        }
    }
}

/// `mox` started as `sendmail` (a symlink or copy named so): sendmail's command line and exit
/// statuses (sysexits.h), without mox's global options.
pub(crate) fn run_as_sendmail(args: Vec<OsString>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sendmail: starting: {e}");
            return std::process::ExitCode::from(::sendmail::EX_TEMPFAIL);
        }
    };
    let env = ::sendmail::Environment::from_process();
    let outcome = runtime.block_on(::sendmail::run(
        &args,
        &mut std::io::stdin(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
        &env,
    ));
    if let Some(message) = outcome.message {
        eprintln!("sendmail: {message}");
    }
    std::process::ExitCode::from(outcome.exit_code)
}

/// Standard input, read only when sendmail asks for it (`-bp` does not).
struct LazyStdin<'a> {
    ctx: &'a Context,
    data: Option<std::io::Cursor<Vec<u8>>>,
}

impl Read for LazyStdin<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.is_none() {
            let data = self.ctx.read_stdin().map_err(std::io::Error::other)?;
            self.data = Some(std::io::Cursor::new(data));
        }
        self.data.as_mut().map_or(Ok(0), |d| d.read(buf))
    }
}
