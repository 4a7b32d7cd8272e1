//! The sendmail command line, as cron, anacron, mdadm, smartd and scripts use it.
//!
//! `-t` (recipients from the header) and `-F name` (the sender's full name) matter; `-bi` and
//! `-bp` are answered without sending; the other common flags (`-i`, `-oi`, `-oem`, `-odi`,
//! `-f addr`, `-B 8BITMIME`, `-v`, ...) are accepted and ignored, as mox does. Flags that take a
//! value take it attached (`-FCron`) or as the next argument (`-F Cron`).

use std::ffi::OsString;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Send the message on standard input (the default, `-bm`).
    Send(Invocation),
    /// `-bi` (newaliases): nothing to do.
    Newaliases,
    /// `-bp` (mailq): there is no queue; mail goes out at once or to moxsubmit.failures.
    ListQueue,
}

/// A send request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// Recipients from the arguments (commas separate several in one argument).
    pub recipients: Vec<String>,
    /// `-t`: take recipients from the To, Cc and Bcc headers too.
    pub recipients_from_header: bool,
    /// `-F name`: the sender's full name, for the From header.
    pub full_name: Option<String>,
}

/// A command line we cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The usage line, as mox prints it.
pub const USAGE: &str = "usage: sendmail [-Fname] [ignoredflags] [-t] [<message]";

/// Flags that take a value, attached or as the next argument.
const WITH_VALUE: &[char] =
    &['B', 'C', 'F', 'f', 'h', 'L', 'N', 'O', 'o', 'p', 'q', 'R', 'r', 'V', 'X', 'b', 'A'];

/// Parses the arguments after the program name.
pub fn parse(args: &[OsString]) -> Result<Mode, UsageError> {
    let mut invocation = Invocation::default();
    let mut mode = 'm';
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    let mut rest = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--" {
            rest.extend(args.by_ref());
            break;
        }
        let Some(flag) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            rest.push(arg);
            continue;
        };
        let mut chars = flag.chars();
        let letter = chars.next().unwrap_or_default();
        let attached: String = chars.collect();
        let value = if WITH_VALUE.contains(&letter) {
            if attached.is_empty() {
                Some(
                    args.next()
                        .ok_or_else(|| UsageError(format!("flag -{letter} needs a value")))?,
                )
            } else {
                Some(attached)
            }
        } else {
            None
        };
        match (letter, value) {
            ('t', _) => invocation.recipients_from_header = true,
            ('F', Some(name)) => invocation.full_name = Some(name).filter(|n| !n.is_empty()),
            ('b', Some(m)) => {
                mode = match m.as_str() {
                    "m" => 'm',
                    "i" => 'i',
                    "p" => 'p',
                    other => {
                        return Err(UsageError(format!(
                            "-b{other}: only sending (-bm), -bi and -bp are supported"
                        )));
                    }
                }
            }
            // Everything else is accepted and ignored: the envelope sender and the From
            // address are the configured ones.
            _ => {}
        }
    }
    match mode {
        'i' => return Ok(Mode::Newaliases),
        'p' => return Ok(Mode::ListQueue),
        _ => {}
    }
    for arg in rest {
        invocation
            .recipients
            .extend(arg.split(',').map(str::trim).filter(|r| !r.is_empty()).map(String::from));
    }
    if invocation.recipients.is_empty() && !invocation.recipients_from_header {
        return Err(UsageError(
            "no recipients: give at least one, or -t to take them from the message".into(),
        ));
    }
    Ok(Mode::Send(invocation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(args: &[&str]) -> Invocation {
        match parse(&args.iter().map(OsString::from).collect::<Vec<_>>()) {
            Ok(Mode::Send(invocation)) => invocation,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn common_invocations() {
        // Debian cron.
        let cron = send(&["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]);
        assert_eq!(
            cron,
            Invocation {
                recipients: vec!["root".into()],
                full_name: Some("CronDaemon".into()),
                ..Default::default()
            }
        );
        // anacron, and values as separate arguments.
        let anacron =
            send(&["-F", "Anacron", "-B", "8BITMIME", "-odi", "-f", "x@example.org", "root"]);
        assert_eq!(anacron.recipients, ["root"]);
        assert_eq!(anacron.full_name.as_deref(), Some("Anacron"));
        // -t, with and without extra recipients; "--" ends flags.
        assert!(send(&["-t"]).recipients_from_header);
        let mixed = send(&["-t", "-oi", "--", "-odd@example.org", "a@example.org, b@example.org"]);
        assert_eq!(mixed.recipients, ["-odd@example.org", "a@example.org", "b@example.org"]);
    }

    #[test]
    fn modes_and_errors() {
        assert_eq!(parse(&["-bi".into()]), Ok(Mode::Newaliases));
        assert_eq!(parse(&["-bp".into()]), Ok(Mode::ListQueue));
        assert!(parse(&["-bs".into()]).unwrap_err().0.contains("-bs"));
        assert!(parse(&["-i".into()]).unwrap_err().0.contains("no recipients"));
        assert!(parse(&["-F".into()]).unwrap_err().0.contains("-F needs a value"));
    }
}
