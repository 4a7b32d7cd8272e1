//! The commands of `mox`, one module per command group.
//!
//! # Adding a command group
//!
//! Say you implement mox's `spf check|lookup|parse`:
//!
//! 1. Create `cmd/spf.rs` with the group as a clap `Subcommand` enum whose variants are the
//!    subcommands, and implement [`Run`] for it (and for each subcommand's argument struct):
//!
//!    ```ignore
//!    use std::io::Write;
//!
//!    use crate::cmd::{Run, domain_arg};
//!    use crate::context::Context;
//!
//!    /// Check, look up and parse SPF records.
//!    #[derive(Debug, clap::Subcommand)]
//!    pub(crate) enum Spf {
//!        Check(Check),
//!        Lookup(Lookup),
//!        Parse(Parse),
//!    }
//!
//!    impl Run for Spf {
//!        async fn run(self, ctx: &Context) -> anyhow::Result<()> {
//!            match self {
//!                Spf::Check(c) => c.run(ctx).await,
//!                Spf::Lookup(c) => c.run(ctx).await,
//!                Spf::Parse(c) => c.run(ctx).await,
//!            }
//!        }
//!    }
//!
//!    /// Lookup the SPF record for the domain and print it.
//!    ///
//!    /// (Further paragraphs are the long help, shown by `mox help spf lookup`.)
//!    #[derive(Debug, clap::Args)]
//!    pub(crate) struct Lookup {
//!        /// Domain whose SPF record is looked up.
//!        #[arg(value_name = "domain")]
//!        domain: String,
//!    }
//!
//!    impl Run for Lookup {
//!        async fn run(self, ctx: &Context) -> anyhow::Result<()> {
//!            let domain = domain_arg("domain", &self.domain)?;
//!            let resolver = ctx.resolver()?;
//!            // ... look up, then print results to ctx.stdout(), never with println!
//!            writeln!(ctx.stdout(), "...")?;
//!            Ok(())
//!        }
//!    }
//!    ```
//!
//!    A command without subcommands (like `version`) is a `clap::Args` struct instead of an enum.
//!
//! 2. Add **one line** to the `commands!` list below, in mox's order (`doc.go`):
//!    The line declares the module, adds the enum variant and its dispatch. The command's
//!    name is the type name in kebab-case (`Spf` → `spf`); give `#[command(name = "...")]`
//!    on the type where mox's name differs.
//!
//! # Conventions
//!
//! - Names, arguments and flags are mox's (read `doc.go` of mox); help text is the doc comment:
//!   first line the summary listed by `mox help`, the rest shown by `mox help CMD` and
//!   `mox CMD -h`. Every argument and flag has a doc comment too (a test in `cli.rs` checks).
//!   Use lowercase `value_name`s as mox does (`domain`, `ip`). `mox help` needs no change.
//! - Flags are written as long flags (`#[arg(long)]`); `-flag` is accepted like `--flag`, as
//!   Go's flag package does, without anything to do in the command (see `crate::cli`).
//! - Results go to [`Context::stdout`], logs (via `tracing`) to stderr. Input on stdin is read
//!   with [`Context::read_stdin`]. Both can be captured in unit tests
//!   ([`Context::for_test`]), as can DNS ([`Context::resolver`], a `MockResolver` in tests).
//! - Return errors (`anyhow::Result`); `main` prints them on one line as `mox: ...` and exits
//!   with status 1. A wrong invocation that clap cannot catch returns [`usage_error`] (exit
//!   status 2). Never `unwrap` input, never `std::process::exit` in a command.
//! - No protocol logic here: a command parses arguments, calls into the crates, prints.
//! - Test a command in its module with `Context::for_test(options, Some(Arc::new(zone)),
//!   stdin)` and a `dns::MockResolver` zone, asserting on the captured output; test flags and
//!   exit codes in `tests/cli.rs` by running the binary.

use crate::context::Context;

pub(crate) use self::queue::{queue_dropped_text, queue_kicked_text};
pub(crate) use backup::backup_summary_text;
pub(crate) use help::{command_list, help_text};
pub(crate) use import::import_summary_text;
pub(crate) use localserve::ADDRESS as LOCALSERVE_ADDRESS;
pub(crate) use setaccountpassword::account_of;

/// Declares the command modules, the `Command` enum with one variant per command group, and
/// its dispatch. Attributes (such as `#[command(subcommand)]` or doc comments) before an entry
/// go on its variant.
macro_rules! commands {
    ($( $(#[$attr:meta])* $module:ident :: $group:ident ),* $(,)?) => {
        $( mod $module; )*

        /// A command, the first word(s) after the global options.
        #[derive(Debug, clap::Subcommand)]
        pub(crate) enum Command {
            $( $(#[$attr])* $group($module::$group), )*
        }

        impl Run for Command {
            async fn run(self, ctx: &Context) -> anyhow::Result<()> {
                match self {
                    $( Command::$group(command) => command.run(ctx).await, )*
                }
            }
        }
    };
}

// The command list: one line per command group, in mox's order. See the module documentation.
commands! {
    serve::Serve,
    stop::Stop,
    setaccountpassword::Setaccountpassword,
    setadminpassword::Setadminpassword,
    loglevels::Loglevels,
    #[command(subcommand)]
    import::Import,
    #[command(subcommand)]
    export::Export,
    localserve::Localserve,
    help::Help,
    backup::Backup,
    #[command(subcommand)]
    config::Config,
    #[command(subcommand)]
    dkim::Dkim,
    #[command(subcommand)]
    dmarc::Dmarc,
    #[command(subcommand)]
    dnsbl::Dnsbl,
    example::Example,
    #[command(subcommand)]
    mtasts::Mtasts,
    #[command(subcommand)]
    queue::Queue,
    retrain::Retrain,
    sendmail::Sendmail,
    #[command(subcommand)]
    spf::Spf,
    #[command(subcommand)]
    tlsrpt::Tlsrpt,
    verifydata::Verifydata,
    version::Version,
}

pub(crate) use self::sendmail::run_as_sendmail;

/// What every command and command group implements: do the work, print results to
/// [`Context::stdout`].
pub(crate) trait Run {
    /// Runs the command with the global options and shared resources in `ctx`.
    async fn run(self, ctx: &Context) -> anyhow::Result<()>;
}

/// A wrong invocation found by a command itself (clap catches the rest): `main` prints it
/// like other errors, and exits with status 2 instead of 1.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a [`UsageError`] as an `anyhow::Error`, for `return Err(usage_error(...))`.
pub(crate) fn usage_error(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// Parses `value`, the command-line argument called `what` (`domain`, `zone`), as a domain; a
/// [`UsageError`] naming the argument and its value if it is not one.
pub(crate) fn domain_arg(what: &str, value: &str) -> anyhow::Result<dns::Domain> {
    dns::Domain::parse(value).map_err(|e| usage_error(format!("{what} {value:?}: {e}")))
}
