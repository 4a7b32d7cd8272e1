//! Verifies a data directory (as `mox verifydata` does) and prints what it found, for scripts
//! such as `bench/smtp/run.sh` that check every message was stored:
//!
//! ```text
//! cargo run -p store --example verify -- <data-dir>
//! 1 accounts, 20000 messages, 0 problems, 0 leftovers
//! ```
//!
//! Exits with status 1 when there are problems. Opens the accounts read-only, so a server may
//! be running on the directory.

use std::process::ExitCode;

use store::NoProgress;
use store::verify::{VerifyOptions, verify_data_dir};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: verify <data-dir>");
        return ExitCode::from(2);
    };
    let report = match verify_data_dir(dir.as_ref(), VerifyOptions::default(), &NoProgress) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("verify: {e}");
            return ExitCode::from(2);
        }
    };
    for p in &report.problems {
        println!("problem: {p}");
    }
    println!(
        "{} accounts, {} messages, {} problems, {} leftovers",
        report.accounts,
        report.messages,
        report.problems.len(),
        report.leftovers.len()
    );
    if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
