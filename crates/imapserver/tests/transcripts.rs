//! Replays `C:`/`S:` transcripts from `testdata/imap/` against a session: RFC 9051 and RFC
//! 3501 examples (adapted to the data the transcript creates) and extension examples.

mod common;

use common::{Harness, replay};

fn run(name: &str) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/imap").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let h = Harness::new();
    let mut c = h.session();
    replay(&mut c, &text);
}

#[test]
fn smoke() {
    run("smoke.txt");
}
