//! The `mox` command (being built).
#![forbid(unsafe_code)]

fn main() {}
