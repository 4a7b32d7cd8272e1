//! `mox`: administer and diagnose a mox-rs mail server, and check mail policies (SPF, DKIM,
//! DMARC, ...) from the command line.
//!
//! The binary is thin: `cli` turns the arguments into a command, `cmd` holds one module per
//! command group (see `cmd/mod.rs` for how to add one), `context` the global options and
//! shared resources, `logging` the log levels. The work itself is done by the crates.
//!
//! Exit status: 0 on success, 1 when a command fails, 2 on a usage error.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod context;
mod ctl;
mod dns_records;
mod host_keys;
mod logging;
mod progress;
mod serve;

use std::process::ExitCode;

use crate::cli::Parsed;
use crate::cmd::{Run as _, UsageError};
use crate::context::Context;

/// A command failed.
const EXIT_FAILURE: u8 = 1;
/// The command line is wrong.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    // Installed as /usr/sbin/sendmail: be sendmail (mox's behaviour).
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_default();
    if std::path::Path::new(&program).file_name().is_some_and(|name| name == "sendmail") {
        return cmd::run_as_sendmail(args.collect());
    }

    let (options, command) = match cli::parse(std::env::args_os().collect()) {
        Parsed::Run { options, command } => (options, command),
        Parsed::Help(text) => return print(&mut std::io::stdout(), &text, ExitCode::SUCCESS),
        Parsed::CommandList { asked } => {
            let text = cmd::command_list(&cli::command());
            return if asked {
                print(&mut std::io::stdout(), &text, ExitCode::SUCCESS)
            } else {
                print(&mut std::io::stderr(), &text, ExitCode::from(EXIT_USAGE))
            };
        }
        Parsed::UsageError(text) => {
            return print(&mut std::io::stderr(), &text, ExitCode::from(EXIT_USAGE));
        }
    };

    let spec = match logging::spec_from_env(options.loglevel) {
        Ok(spec) => spec,
        Err(err) => return fail(&err, EXIT_USAGE),
    };
    if let Err(err) = logging::init(&spec) {
        return fail(&err, EXIT_FAILURE);
    }

    let ctx = Context::new(options);
    tracing::debug!(
        config = %ctx.config_path().display(),
        dns_server = %ctx.dns_server().unwrap_or("system"),
        "global options"
    );

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&anyhow::Error::new(err).context("starting tokio"), EXIT_FAILURE),
    };
    match runtime.block_on(command.run(&ctx)) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader such as `head` has gone; like other Unix tools, stop quietly.
        Err(err) if context::is_stdout_closed(&err) => ExitCode::SUCCESS,
        Err(err) if err.is::<UsageError>() => fail(&err, EXIT_USAGE),
        Err(err) => fail(&err, EXIT_FAILURE),
    }
}

/// Prints `err` with its causes on one line, `mox: outer: inner`, and returns `code`.
fn fail(err: &anyhow::Error, code: u8) -> ExitCode {
    let line = format!("{err:#}").replace(['\r', '\n'], " ");
    eprintln!("mox: {line}");
    ExitCode::from(code)
}

fn print(out: &mut dyn std::io::Write, text: &str, code: ExitCode) -> ExitCode {
    // Help going to a closed pipe is no reason to fail.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    code
}
