//! From the process arguments to a parsed command line, the way mox takes them: Go-style
//! single-dash long flags, mox-like help layout, one-line usage errors.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, CommandFactory as _, FromArgMatches as _};

use crate::cmd::Command;
use crate::context::GlobalOptions;

/// The whole command line: global options, then a command.
#[derive(Debug, clap::Parser)]
#[command(name = "mox", bin_name = "mox")]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) options: GlobalOptions,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// How a command's help is laid out: usage, arguments and flags, then the help text (as mox).
const HELP_TEMPLATE: &str = "usage: {usage}\n\n{all-args}\n\n{about}\n";
/// The same for a command without arguments and flags (clap would leave blank lines).
const HELP_TEMPLATE_NO_ARGS: &str = "usage: {usage}\n\n{about}\n";

/// The clap command tree with mox's conventions applied to every command, built (global
/// options propagated, binary names set) so it can be inspected.
pub(crate) fn command() -> clap::Command {
    let mut command = with_conventions(Cli::command());
    command.build();
    command
}

/// What parsing the arguments came to.
// Made once per process and matched at once: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Parsed {
    /// Run this command.
    Run { options: GlobalOptions, command: Command },
    /// Help was asked for with `-h`/`--help`: print this to stdout, exit 0.
    Help(String),
    /// `mox --help` or `mox` alone: print the command list (stdout with status 0 when asked
    /// for, else stderr with status 2).
    CommandList { asked: bool },
    /// A usage error: print this to stderr, exit 2.
    UsageError(String),
}

/// Parses the process arguments (including the program name).
pub(crate) fn parse(args: Vec<OsString>) -> Parsed {
    let mut command = command();
    let normalized = normalize_go_flags(&command, args);
    match command.try_get_matches_from_mut(normalized.args) {
        Ok(matches) => match Cli::from_arg_matches(&matches) {
            Ok(Cli { command: None, .. }) => Parsed::CommandList { asked: false },
            Ok(Cli { options, command: Some(command) }) => Parsed::Run { options, command },
            Err(err) => Parsed::UsageError(usage_error_text(&err, &normalized.path)),
        },
        Err(err) => match err.kind() {
            ErrorKind::DisplayHelp if normalized.path.is_empty() => {
                Parsed::CommandList { asked: true }
            }
            // `mox CMD -h` prints what `mox help CMD` prints.
            ErrorKind::DisplayHelp => match crate::cmd::help_text(&normalized.path) {
                Some(text) => Parsed::Help(text),
                None => Parsed::Help(err.render().to_string()),
            },
            ErrorKind::DisplayVersion => Parsed::Help(err.render().to_string()),
            // A command group without its subcommand (`mox spf`): list the group's commands,
            // as mox does.
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
                match crate::cmd::help_text(&normalized.path) {
                    Some(text) if !normalized.path.is_empty() => Parsed::UsageError(text),
                    _ => Parsed::CommandList { asked: false },
                }
            }
            _ => Parsed::UsageError(usage_error_text(&err, &normalized.path)),
        },
    }
}

/// Sets mox's conventions on `command` and all its subcommands: one help layout, help always
/// long (mox shows a command's full help on `-h`), the `-h`/`--help` flag not listed, and no
/// `help` subcommands (`mox help` is a command of its own).
fn with_conventions(command: clap::Command) -> clap::Command {
    let names: Vec<String> = command.get_subcommands().map(|s| s.get_name().to_string()).collect();
    let has_args = command.has_subcommands() || command.get_arguments().any(|a| !a.is_hide_set());
    // A command that defines -h or --help itself (as sendmail-like commands may) keeps it.
    let own_help = command.get_arguments().any(|a| {
        a.get_id() == "help" || a.get_short() == Some('h') || a.get_long() == Some("help")
    });
    let mut command = command
        .help_template(if has_args { HELP_TEMPLATE } else { HELP_TEMPLATE_NO_ARGS })
        .disable_help_subcommand(true)
        .disable_version_flag(true);
    if !own_help {
        command = command
            .disable_help_flag(true)
            .arg(Arg::new("help").short('h').long("help").action(ArgAction::HelpLong).hide(true));
    }
    names.iter().fold(command, |command, name| command.mut_subcommand(name, with_conventions))
}

/// The arguments rewritten for clap, and the command words found in them.
#[derive(Debug, PartialEq)]
struct Normalized {
    args: Vec<OsString>,
    /// The (sub)command names, e.g. `["spf", "check"]`.
    path: Vec<String>,
}

/// Rewrites Go-style single-dash long flags (`-config x`, `-loglevel=debug`) to `--config x`,
/// as Go's flag package accepts both, so every clap long flag of every command also works with
/// one dash. Only a word naming a long flag of the command at that point is rewritten; short
/// flags, values of flags, and everything after `--` are left alone. `command` must be built.
fn normalize_go_flags(command: &clap::Command, args: Vec<OsString>) -> Normalized {
    let mut current = command;
    let mut path = Vec::new();
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    out.extend(args.next()); // The program name.

    let mut next_is_value = false;
    let mut rest_is_positional = false;
    for arg in args {
        let Some(word) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if next_is_value || rest_is_positional {
            next_is_value = false;
            out.push(arg);
            continue;
        }
        if word == "--" {
            rest_is_positional = true;
        } else if let Some(long) = word.strip_prefix("--") {
            next_is_value = !long.contains('=') && long_arg(current, long).is_some_and(takes_value);
        } else if let Some(flag) = word.strip_prefix('-').filter(|f| f.chars().count() > 1) {
            let (name, value) = match flag.split_once('=') {
                Some((name, _)) => (name, true),
                None => (flag, false),
            };
            if let Some(arg) = long_arg(current, name) {
                next_is_value = !value && takes_value(arg);
                out.push(format!("-{word}").into());
                continue;
            }
        } else if let Some(short) = word.strip_prefix('-').and_then(|f| f.chars().next()) {
            next_is_value =
                current.get_arguments().any(|a| a.get_short() == Some(short) && takes_value(a));
        } else if let Some(sub) = current.find_subcommand(word) {
            current = sub;
            path.push(sub.get_name().to_string());
        }
        out.push(arg);
    }
    Normalized { args: out, path }
}

fn long_arg<'a>(command: &'a clap::Command, name: &str) -> Option<&'a Arg> {
    command.get_arguments().find(|a| {
        a.get_long() == Some(name)
            || a.get_all_aliases().is_some_and(|aliases| aliases.contains(&name))
    })
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// A clap error as mox prints usage errors: one line with what is wrong and where to read
/// more, then the usage of the command when there is one.
fn usage_error_text(err: &clap::Error, path: &[String]) -> String {
    let help_hint = if path.is_empty() || is_about_global_option(err) {
        "run \"mox help\" for the list of commands".to_string()
    } else {
        format!("run \"mox help {}\" for its usage", path.join(" "))
    };

    if err.kind() == ErrorKind::InvalidSubcommand {
        let given = match err.get(ContextKind::InvalidSubcommand) {
            Some(ContextValue::String(given)) => given.clone(),
            _ => String::new(),
        };
        let suggestion = match err.get(ContextKind::SuggestedSubcommand) {
            Some(ContextValue::String(s)) => format!(" (did you mean \"{s}\"?)"),
            Some(ContextValue::Strings(s)) if !s.is_empty() => {
                format!(" (did you mean \"{}\"?)", s.join("\" or \""))
            }
            _ => String::new(),
        };
        let command = path.iter().map(|w| format!("{w} ")).collect::<String>();
        let hint = if path.is_empty() {
            help_hint
        } else {
            format!("run \"mox help {}\" for its commands", path.join(" "))
        };
        return format!("mox: unknown command \"{command}{given}\"{suggestion}; {hint}\n");
    }

    // clap's rendering: "error: what\n  details\n\n  tip: ...\n\nUsage: ...\n\nFor more ...".
    let rendered = err.render().to_string();
    let mut message = Vec::new();
    let mut tips = Vec::new();
    let mut usage = None;
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u.to_string());
        } else if line.starts_with("For more information") {
            continue;
        } else if let Some(tip) = line.strip_prefix("tip: ") {
            tips.push(tip.to_string());
        } else if usage.is_none() {
            message.push(line.strip_prefix("error: ").unwrap_or(line).to_string());
        }
    }
    let mut text = format!("mox: {}", message.join(" "));
    if !tips.is_empty() {
        text.push_str(&format!(" ({})", tips.join("; ")));
    }
    text.push_str(&format!("; {help_hint}\n"));
    if let Some(usage) = usage.filter(|_| !path.is_empty()) {
        text.push_str(&format!("usage: {usage}\n"));
    }
    text
}

/// Whether the error is about one of the global options (so the command's help won't help).
fn is_about_global_option(err: &clap::Error) -> bool {
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return false;
    };
    // clap names the argument as "--loglevel <level>".
    let long = arg.split_whitespace().next().unwrap_or_default().trim_start_matches('-');
    Cli::command().get_arguments().any(|a| a.get_long() == Some(long) && a.is_global_set())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        std::iter::once("mox").chain(words.iter().copied()).map(OsString::from).collect()
    }

    fn normalize(words: &[&str]) -> (Vec<String>, Vec<String>) {
        let n = normalize_go_flags(&command(), args(words));
        let out = n.args.iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
        (out, n.path)
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        let (out, path) = normalize(&["-config", "x.conf", "-loglevel=debug", "version"]);
        assert_eq!(out, ["--config", "x.conf", "--loglevel=debug", "version"]);
        assert_eq!(path, ["version"]);

        let (out, _) = normalize(&["-dns-server", "192.0.2.1", "help", "-help"]);
        assert_eq!(out, ["--dns-server", "192.0.2.1", "help", "--help"]);
    }

    #[test]
    fn values_short_flags_and_positionals_are_left_alone() {
        // A value that looks like a flag stays a value.
        let (out, _) = normalize(&["-config", "-loglevel", "version"]);
        assert_eq!(out, ["--config", "-loglevel", "version"]);
        let (out, _) = normalize(&["--config", "-loglevel", "version"]);
        assert_eq!(out, ["--config", "-loglevel", "version"]);
        // Not a flag of this command: clap reports it.
        let (out, _) = normalize(&["-verbose", "version"]);
        assert_eq!(out, ["-verbose", "version"]);
        // After "--" everything is positional.
        let (out, _) = normalize(&["help", "--", "-config"]);
        assert_eq!(out, ["help", "--", "-config"]);
        // Short flags and "-" (stdin) are clap's.
        let (out, _) = normalize(&["-h", "-"]);
        assert_eq!(out, ["-h", "-"]);
    }

    #[test]
    fn command_path_is_found() {
        assert_eq!(normalize(&["-loglevel", "debug", "help", "version"]).1, ["help"]);
        assert!(normalize(&["nosuchcommand"]).1.is_empty());
    }

    /// A tree shaped like the ones other command groups add: `mox demo check [--id id]
    /// [--verbose] domain ip`, `mox demo lookup domain` (not "spf": that group exists).
    fn group_tree() -> clap::Command {
        let check = clap::Command::new("check")
            .about("Check the status of IP")
            .arg(Arg::new("id").long("id").value_name("id"))
            .arg(Arg::new("verbose").long("verbose").action(ArgAction::SetTrue))
            .arg(Arg::new("domain").value_name("domain").required(true))
            .arg(Arg::new("ip").value_name("ip").required(true));
        let lookup = clap::Command::new("lookup").about("Lookup").arg(Arg::new("domain"));
        let demo = clap::Command::new("demo").about("Demo").subcommand(check).subcommand(lookup);
        let mut tree = with_conventions(Cli::command().subcommand(demo));
        tree.build();
        tree
    }

    fn normalize_in(tree: &clap::Command, words: &[&str]) -> (Vec<String>, Vec<String>) {
        let n = normalize_go_flags(tree, args(words));
        let out = n.args.iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
        (out, n.path)
    }

    #[test]
    fn subcommand_flags_are_normalized_at_their_level() {
        let tree = group_tree();
        let words = ["-loglevel", "debug", "demo", "check", "-id", "-5", "-verbose", "a"];
        let (out, path) = normalize_in(&tree, &words);
        assert_eq!(out, ["--loglevel", "debug", "demo", "check", "--id", "-5", "--verbose", "a"]);
        assert_eq!(path, ["demo", "check"]);
        // -id is check's flag, not lookup's; global flags work at every level.
        let (out, path) = normalize_in(&tree, &["demo", "lookup", "-id", "-config=x"]);
        assert_eq!(out, ["demo", "lookup", "-id", "--config=x"]);
        assert_eq!(path, ["demo", "lookup"]);
        // A positional that happens to be a subcommand's name elsewhere is no subcommand.
        assert_eq!(normalize_in(&tree, &["demo", "check", "lookup", "ip"]).1, ["demo", "check"]);

        let mut tree = tree;
        let normalized = normalize_go_flags(&tree, args(&["demo", "check", "-id=7", "d", "i"]));
        let matches = tree.try_get_matches_from_mut(normalized.args).expect("parses");
        let (_, demo) = matches.subcommand().expect("demo");
        let (_, check) = demo.subcommand().expect("check");
        assert_eq!(check.get_one::<String>("id").map(String::as_str), Some("7"));
    }

    #[test]
    fn usage_errors_in_a_group_name_the_command() {
        let mut tree = group_tree();
        let mut err = |words: &[&str]| {
            let n = normalize_go_flags(&tree, args(words));
            let e = tree.try_get_matches_from_mut(n.args).expect_err("usage error");
            usage_error_text(&e, &n.path)
        };
        assert_eq!(
            err(&["demo", "chek"]),
            "mox: unknown command \"demo chek\" (did you mean \"check\"?); \
             run \"mox help demo\" for its commands\n"
        );
        assert_eq!(
            err(&["demo", "check", "example.com"]),
            "mox: the following required arguments were not provided: <ip>; \
             run \"mox help demo check\" for its usage\n\
             usage: mox demo check <domain> <ip>\n"
        );
        let text = err(&["demo", "check", "-id"]);
        assert!(text.starts_with("mox: a value is required for '--id <id>'"), "{text}");
    }

    #[test]
    fn a_command_may_keep_its_own_h_flag() {
        // (Named so as not to clash with the real `sendmail` command.)
        let sendmail = clap::Command::new("fake-sendmail")
            .about("Sendmail")
            .disable_help_flag(true)
            .arg(Arg::new("header").short('h').action(ArgAction::SetTrue));
        let mut tree = with_conventions(Cli::command().subcommand(sendmail));
        let matches =
            tree.try_get_matches_from_mut(["mox", "fake-sendmail", "-h"]).expect("parses");
        let (_, sendmail) = matches.subcommand().expect("fake-sendmail");
        assert!(sendmail.get_flag("header"));
    }

    fn parsed(words: &[&str]) -> Parsed {
        parse(args(words))
    }

    #[test]
    fn global_options_parse_in_both_spellings_and_positions() {
        for words in [
            &["-config", "a.conf", "-loglevel", "debug", "version"][..],
            &["--config=a.conf", "--loglevel", "debug", "version"],
            &["version", "-config", "a.conf", "-loglevel=debug"],
        ] {
            let Parsed::Run { options, command } = parsed(words) else {
                panic!("{words:?} must parse")
            };
            assert_eq!(options.config.as_deref(), Some(std::path::Path::new("a.conf")));
            assert_eq!(options.loglevel, Some(crate::logging::Level::Debug));
            assert!(matches!(command, Command::Version(_)));
        }
    }

    #[test]
    fn bad_loglevel_is_a_one_line_usage_error() {
        let Parsed::UsageError(text) = parsed(&["-loglevel", "loud", "version"]) else {
            panic!("must be a usage error")
        };
        let first = text.lines().next().unwrap_or_default();
        assert!(first.starts_with("mox: invalid value 'loud' for '--loglevel <level>'"), "{text}");
        assert!(first.contains("unknown log level \"loud\""), "{text}");
        assert!(first.ends_with("; run \"mox help\" for the list of commands"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[test]
    fn unknown_command_is_one_line_with_suggestion_and_hint() {
        let Parsed::UsageError(text) = parsed(&["versoin"]) else { panic!("usage error") };
        assert_eq!(
            text,
            "mox: unknown command \"versoin\" (did you mean \"version\"?); \
             run \"mox help\" for the list of commands\n"
        );
    }

    #[test]
    fn help_flags_and_no_command() {
        assert!(matches!(parsed(&[]), Parsed::CommandList { asked: false }));
        assert!(matches!(parsed(&["--help"]), Parsed::CommandList { asked: true }));
        assert!(matches!(parsed(&["-help"]), Parsed::CommandList { asked: true }));
        let Parsed::Help(text) = parsed(&["version", "-h"]) else { panic!("help") };
        assert!(text.starts_with("usage: mox version\n"), "{text}");
    }

    #[test]
    fn every_command_follows_the_conventions() {
        // clap's own consistency checks (duplicate flags, bad defaults) for the whole tree.
        command().debug_assert();
        fn check(command: &clap::Command) {
            assert!(command.find_subcommand("help").is_none() || command.get_name() == "mox");
            let about = command.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(!about.is_empty(), "{} has no summary (doc comment)", command.get_name());
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                let name = format!("{} {}", command.get_name(), arg.get_id());
                assert!(arg.get_help().is_some(), "{name} has no help (doc comment)");
            }
            command.get_subcommands().for_each(check);
        }
        command().get_subcommands().for_each(check);
    }
}
