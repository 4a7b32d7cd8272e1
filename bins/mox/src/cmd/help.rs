//! `mox help [command ...]`: the command list, or one command's usage and full help.

use std::io::Write as _;

use crate::cmd::{Run, usage_error};
use crate::context::Context;

/// Prints help about matching commands.
///
/// Without a command, lists all commands with the first line of their help text, and the
/// global options. If the words name a command group (e.g. "spf"), its commands are listed.
/// If they name a single command, its usage and full help text is printed.
#[derive(Debug, clap::Args)]
pub(crate) struct Help {
    /// Words of a command, e.g. "spf check".
    #[arg(value_name = "command")]
    command: Vec<String>,
}

impl Run for Help {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let text = help_text(&self.command).ok_or_else(|| {
            usage_error(format!(
                "unknown command \"{}\"; run \"mox help\" for the list of commands",
                self.command.join(" ")
            ))
        })?;
        ctx.stdout().write_all(text.as_bytes())?;
        Ok(())
    }
}

/// The help for the command named by `words`: the full command list for no words, the
/// commands of a group, or a command's usage and full help. None if no command has that name.
pub(crate) fn help_text(words: &[String]) -> Option<String> {
    let root = crate::cli::command();
    if words.is_empty() {
        return Some(command_list(&root));
    }
    let mut command = &root;
    for word in words {
        command = command.find_subcommand(word)?;
    }
    if command.has_subcommands() {
        let mut text = String::new();
        list_commands(command, &mut text);
        Some(text)
    } else {
        Some(command.clone().render_long_help().to_string())
    }
}

/// What `mox help` prints: usage, every command with its summary, the global options.
pub(crate) fn command_list(root: &clap::Command) -> String {
    let mut text = String::from("usage: mox [global options] command ...\n\ncommands:\n");
    list_commands(root, &mut text);
    text.push_str("\nglobal options (before the command; -flag and --flag both work):\n");
    for arg in root.get_arguments().filter(|a| a.is_global_set() && a.get_long() != Some("help")) {
        let name = arg.get_long().unwrap_or_else(|| arg.get_id().as_str());
        let value = arg
            .get_value_names()
            .map(|names| names.iter().map(|n| format!(" {n}")).collect::<String>())
            .unwrap_or_default();
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        text.push_str(&format!("  -{name}{value}\n\t{help}\n"));
    }
    text.push_str("\nRun \"mox help command ...\" for the usage and full help of a command.\n");
    text
}

/// Appends the commands under `command` (recursively), mox-like: the usage line, then the
/// summary indented.
fn list_commands(command: &clap::Command, text: &mut String) {
    for sub in command.get_subcommands() {
        if sub.has_subcommands() {
            list_commands(sub, text);
            continue;
        }
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage);
        let summary = summary(sub);
        text.push_str(&format!("  {usage}\n\t{summary}\n"));
    }
}

/// The first line of a command's help text (clap drops a trailing period).
fn summary(command: &clap::Command) -> String {
    command.get_about().map(|a| a.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOptions;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn list_has_every_command_with_its_summary_and_the_global_options() {
        let text = help_text(&[]).expect("list");
        assert!(text.contains("  mox version\n\tPrints this mox version\n"), "{text}");
        assert!(text.contains("  mox help [command]...\n\tPrints help about matching commands\n"));
        for flag in ["-config file", "-loglevel level", "-dns-server ip[:port]"] {
            assert!(text.contains(&format!("  {flag}\n\t")), "{flag} missing: {text}");
        }
        assert!(!text.contains("-help"), "{text}");
    }

    #[test]
    fn one_command_gets_usage_and_full_help() {
        let text = help_text(&words(&["help"])).expect("help");
        assert!(text.starts_with("usage: mox help [command]...\n"), "{text}");
        assert!(text.contains("\nPrints help about matching commands.\n\nWithout a command"), "{text}");
        assert!(help_text(&words(&["nosuch"])).is_none());
        assert!(help_text(&words(&["version", "extra"])).is_none());
    }

    #[tokio::test]
    async fn unknown_command_is_a_usage_error() {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        let err = Help { command: words(&["nosuch", "cmd"]) }.run(&ctx).await.expect_err("unknown");
        assert!(err.is::<crate::cmd::UsageError>());
        assert_eq!(
            err.to_string(),
            "unknown command \"nosuch cmd\"; run \"mox help\" for the list of commands"
        );
        assert!(printed.lock().expect("not poisoned").is_empty());
    }
}
