//! `mox version`.

use std::io::Write as _;

use crate::cmd::Run;
use crate::context::Context;

/// Prints this mox version.
///
/// The first line is the version (with the git commit when the build was given one in
/// MOX_GIT_COMMIT), the second what this program is.
#[derive(Debug, clap::Args)]
pub(crate) struct Version {}

/// The version of this build: the crate version, plus the commit if the build had one.
pub(crate) fn version() -> String {
    match option_env!("MOX_GIT_COMMIT").filter(|c| !c.is_empty()) {
        Some(commit) => format!("{} ({commit})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

impl Run for Version {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let mut out = ctx.stdout();
        writeln!(out, "{}", version())?;
        writeln!(out, "mox-rs, a Rust implementation of the mox mail server (github.com/mjl-/mox)")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GlobalOptions;

    #[tokio::test]
    async fn prints_the_cargo_version_first() {
        let (ctx, printed) = Context::for_test(GlobalOptions::default(), None, b"");
        Version {}.run(&ctx).await.expect("version");
        let printed = String::from_utf8(printed.lock().expect("not poisoned").clone()).expect("utf-8");
        let first = printed.lines().next().expect("a line");
        assert!(first.starts_with(env!("CARGO_PKG_VERSION")), "{printed}");
        assert_eq!(printed.lines().count(), 2, "{printed}");
    }
}
