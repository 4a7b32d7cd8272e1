//! The `mox` binary as users run it: arguments, environment, output streams, exit codes.

use std::process::{Command, Output, Stdio};

/// Runs the built `mox` with `args` and only the environment variables in `env` of those that
/// change its behaviour.
fn mox_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mox"));
    command.args(args).stdin(Stdio::null());
    for name in ["MOXCONF", "MOX_LOG", "MOX_DNS_SERVER", "NO_COLOR"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().expect("running mox")
}

fn mox(args: &[&str]) -> Output {
    mox_env(args, &[])
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// The debug line `main` logs with the resolved global options.
fn options_log_line(output: &Output) -> Option<String> {
    stderr(output).lines().find(|l| l.contains("global options")).map(str::to_string)
}

#[test]
fn version_prints_the_cargo_version_on_stdout_only() {
    let output = mox(&["version"]);
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    let first = out.lines().next().expect("a line");
    assert!(
        first == env!("CARGO_PKG_VERSION")
            || first.starts_with(concat!(env!("CARGO_PKG_VERSION"), " (")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(stderr(&output), "");
}

#[test]
fn help_lists_the_commands_with_summaries() {
    let output = mox(&["help"]);
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    assert!(out.starts_with("usage: mox [global options] command ...\n"), "{out}");
    assert!(out.contains("\n  mox version\n\tPrints this mox version\n"), "{out}");
    assert!(out.contains("\n  mox help [command]...\n\tPrints help about matching commands\n"));
    assert!(out.contains("\n  -config file\n"), "{out}");
    assert_eq!(stderr(&output), "");

    // The same list for `mox -h`, `mox --help` and mox's `mox -help`.
    for flag in ["-h", "--help", "-help"] {
        let output = mox(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert_eq!(stdout(&output), out, "{flag}");
    }
}

#[test]
fn no_command_prints_the_list_to_stderr_with_status_2() {
    let output = mox(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("\n  mox version\n"), "{}", stderr(&output));
}

#[test]
fn help_version_prints_usage_and_full_help() {
    let output = mox(&["help", "version"]);
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    assert!(
        out.starts_with("usage: mox version\n\nPrints this mox version.\n\nThe first line"),
        "{out}"
    );
    for flag in ["-h", "--help", "-help"] {
        let output = mox(&["version", flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert_eq!(stdout(&output), out, "version {flag}");
    }
}

#[test]
fn unknown_command_is_one_line_and_status_2() {
    let output = mox(&["nosuchcommand"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "mox: unknown command \"nosuchcommand\"; run \"mox help\" for the list of commands\n"
    );

    let output = mox(&["versio"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("(did you mean \"version\"?)"), "{}", stderr(&output));

    let output = mox(&["help", "nosuchcommand"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "mox: unknown command \"nosuchcommand\"; run \"mox help\" for the list of commands\n"
    );
}

#[test]
fn extra_arguments_are_a_usage_error_with_the_usage() {
    let output = mox(&["version", "extra"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("mox: unexpected argument 'extra'"), "{err}");
    assert!(lines[0].ends_with("run \"mox help version\" for its usage"), "{err}");
    assert_eq!(lines[1], "usage: mox version");
}

#[test]
fn single_and_double_dash_global_options() {
    for args in [
        &["-config", "/tmp/single.conf", "-loglevel", "debug", "version"][..],
        &["-config=/tmp/single.conf", "-loglevel=debug", "version"],
        &["--config", "/tmp/single.conf", "--loglevel=debug", "version"],
        &["version", "-config", "/tmp/single.conf", "-loglevel", "debug"],
    ] {
        let output = mox(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
        let line = options_log_line(&output).unwrap_or_else(|| panic!("{args:?}: no debug line"));
        assert!(line.contains("config=/tmp/single.conf"), "{args:?}: {line}");
        // Logs never mix into results.
        assert!(stdout(&output).starts_with(env!("CARGO_PKG_VERSION")), "{args:?}");
    }
}

#[test]
fn bad_loglevel_is_a_usage_error_naming_the_levels() {
    let output = mox(&["-loglevel", "loud", "version"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown log level \"loud\""), "{err}");
    assert!(err.contains("error, info, debug, trace, traceauth, tracedata"), "{err}");
}

#[test]
fn default_level_is_info_so_debug_lines_are_hidden() {
    let output = mox(&["version"]);
    assert!(options_log_line(&output).is_none(), "{}", stderr(&output));
}

#[test]
fn moxconf_is_honoured_and_the_flag_wins() {
    let output = mox_env(&["-loglevel", "debug", "version"], &[("MOXCONF", "/etc/from-env.conf")]);
    let line = options_log_line(&output).expect("debug line");
    assert!(line.contains("config=/etc/from-env.conf"), "{line}");

    let output = mox_env(
        &["-config", "/etc/from-flag.conf", "-loglevel", "debug", "version"],
        &[("MOXCONF", "/etc/from-env.conf")],
    );
    let line = options_log_line(&output).expect("debug line");
    assert!(line.contains("config=/etc/from-flag.conf"), "{line}");

    // Unset or empty: mox's default.
    for env in [&[][..], &[("MOXCONF", "")]] {
        let output = mox_env(&["-loglevel", "debug", "version"], env);
        let line = options_log_line(&output).expect("debug line");
        assert!(line.contains("config=config/mox.conf"), "{line}");
    }
}

#[test]
fn mox_log_sets_default_and_per_crate_levels() {
    let shown = |mox_log: &str, args: &[&str]| {
        let output = mox_env(args, &[("MOX_LOG", mox_log)]);
        assert_eq!(output.status.code(), Some(0), "{mox_log}: {}", stderr(&output));
        options_log_line(&output).is_some()
    };
    assert!(shown("debug", &["version"]));
    assert!(shown("info,mox=debug", &["version"]));
    assert!(!shown("info,spf=debug", &["version"]));
    // -loglevel sets the default over MOX_LOG's; per-crate entries stay.
    assert!(!shown("debug", &["-loglevel", "info", "version"]));
    assert!(shown("mox=debug", &["-loglevel", "error", "version"]));

    let output = mox_env(&["version"], &[("MOX_LOG", "info,spf=loud")]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.starts_with("mox: MOX_LOG: unknown log level \"loud\""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn dns_server_is_only_checked_when_a_command_needs_dns() {
    // `version` does no lookups, so a bad --dns-server is no reason to fail it; commands that
    // look up call Context::resolver(), which rejects it (unit-tested in context.rs).
    let output = mox(&["--dns-server", "junk", "-loglevel", "debug", "version"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(options_log_line(&output).expect("debug line").contains("dns_server=junk"));

    let output =
        mox_env(&["-loglevel", "debug", "version"], &[("MOX_DNS_SERVER", "192.0.2.53:5353")]);
    let line = options_log_line(&output).expect("debug line");
    assert!(line.contains("dns_server=192.0.2.53:5353"), "{line}");

    let output = mox(&["-dns-server", "192.0.2.1", "-loglevel", "debug", "version"]);
    assert!(options_log_line(&output).expect("debug line").contains("dns_server=192.0.2.1"));
}

#[test]
fn closed_stdout_is_not_reported_as_an_error() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_mox"))
        .arg("version")
        .env_remove("MOX_LOG")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("running mox");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "");
}
