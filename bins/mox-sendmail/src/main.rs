//! `mox-sendmail`: a drop-in `/usr/sbin/sendmail` that submits messages from cron and other
//! local programs to a real mail server over SMTP, configured in `/etc/moxsubmit.conf` (or
//! `$MOXSUBMIT_CONF`) in mox's format. See the `sendmail` crate, and `mox help sendmail`.
//!
//! Exit status: 0 when submitted; 75 (EX_TEMPFAIL) when not, the message then being saved in
//! `~/moxsubmit.failures/`; 64 (EX_USAGE) for a command line it cannot act on; 74 (EX_IOERR)
//! when standard input cannot be read. Failures are one line on standard error.
//!
//! Logging: set `MOX_LOG=debug` (or `trace`; `traceauth` adds the SASL exchange) to see the
//! SMTP session on standard error.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let program = args
        .next()
        .and_then(|p| {
            std::path::Path::new(&p).file_name().map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "mox-sendmail".into());
    init_logging();
    let args: Vec<_> = args.collect();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{program}: starting: {e}");
            return ExitCode::from(sendmail::EX_TEMPFAIL);
        }
    };
    let env = sendmail::Environment::from_process();
    let outcome = runtime.block_on(sendmail::run(
        &args,
        &mut std::io::stdin(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
        &env,
    ));
    if let Some(message) = outcome.message {
        eprintln!("{program}: {message}");
    }
    ExitCode::from(outcome.exit_code)
}

/// Logs to stderr only when `MOX_LOG` asks (cron mails whatever appears there). `traceauth`
/// enables the SASL exchange, which is otherwise never printed.
fn init_logging() {
    let Some(spec) = std::env::var("MOX_LOG").ok().filter(|s| !s.is_empty()) else { return };
    let spec = match spec.as_str() {
        "traceauth" => "trace,traceauth=trace".to_string(),
        other => format!("{other},traceauth=off"),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
