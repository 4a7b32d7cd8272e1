//! `mox-sendmail`: a drop-in `/usr/sbin/sendmail` that submits messages from cron and other
//! local programs to a real mail server over SMTP.
//!
//! **Not implemented yet.** Until it is, it prints its usage and a note that nothing was sent,
//! and exits with status 69 (`EX_UNAVAILABLE` from sysexits.h), so a caller such as cron
//! reports the failure instead of believing the message went out. It does not read the message.
#![forbid(unsafe_code)]

use std::process::ExitCode;

/// sysexits.h `EX_UNAVAILABLE`: "a service is unavailable".
const EX_UNAVAILABLE: u8 = 69;

/// What it will do, as mox's `sendmail` help describes it.
const USAGE: &str = "\
usage: sendmail [-Fname] [ignoredflags] [-t] [<message]

Sendmail is a drop-in replacement for /usr/sbin/sendmail to deliver emails sent by unix
processes like cron.

Messages are submitted to an actual mail server over SMTP. The destination mail server and
credentials are configured in /etc/moxsubmit.conf, see \"mox config describe-sendmail\". The
From message header is rewritten to the configured address. When the addressee appears to be a
local user, because without @, the message is sent to the configured default address.

If submitting an email fails, it is added to a directory moxsubmit.failures in the user's home
directory.

Most flags are ignored to fake compatibility with other sendmail implementations. A single
recipient is required, or the -t flag.
";

fn main() -> ExitCode {
    eprintln!("{USAGE}");
    eprintln!("mox-sendmail: submission is not implemented yet; no message was sent");
    ExitCode::from(EX_UNAVAILABLE)
}
