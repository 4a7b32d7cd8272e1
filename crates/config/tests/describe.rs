//! describe-static and describe-domains: the same text the real mox v0.0.17 prints
//! (`testdata/config/mox-v0.0.17/describe-*.conf`), and readable by our parser.

use std::path::Path;

fn mox_output(name: &str) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config/mox-v0.0.17").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn describe_static_is_mox_output() {
    assert_eq!(config::describe_static(), mox_output("describe-static.conf"));
}

#[test]
fn describe_domains_is_mox_output() {
    assert_eq!(config::describe_domains(), mox_output("describe-domains.conf"));
}

#[test]
fn describe_output_parses() {
    // Every key that describe prints is one the parser knows, with a value of the right type.
    let s = config::parse_static("describe-static", &config::describe_static()).unwrap();
    assert!(s.listeners.contains_key("x"));
    assert_eq!(s.listeners["x"].tls.as_ref().unwrap().key_certs.len(), 1);
    let d = config::parse_dynamic("describe-domains", &config::describe_domains()).unwrap();
    assert_eq!(d.accounts["x"].destinations["x"].rulesets.len(), 1);
    assert!(d.domains["x"].dkim.selectors.contains_key("x"));
    // And it is every key: written back in describe form, it is the same text.
    assert!(
        config::describe_static().lines().filter(|l| !l.trim_start().starts_with('#')).count()
            > 200
    );
}
