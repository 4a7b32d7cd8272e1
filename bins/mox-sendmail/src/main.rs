//! `mox-sendmail` (being built).
#![forbid(unsafe_code)]

fn main() {}
