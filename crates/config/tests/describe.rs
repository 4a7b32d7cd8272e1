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

/// The config examples are mox's, and what they configure reads back by value.
#[test]
fn config_examples() {
    let names: Vec<&str> = config::CONFIG_EXAMPLES.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["webhandlers", "transport"]);
    for (name, text) in config::CONFIG_EXAMPLES {
        assert_eq!(*text, mox_output(&format!("../mox-v0.0.17/config-example/{name}.conf")));
    }

    // webhandlers is a domains.conf snippet: only Domains and Accounts are missing.
    let (_, webhandlers) = config::CONFIG_EXAMPLES[0];
    let errors = config::parse_dynamic("webhandlers", webhandlers).unwrap_err();
    let missing: Vec<String> = errors.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        missing,
        [
            "webhandlers: Domains: missing required key \"Domains\"",
            "webhandlers: Accounts: missing required key \"Accounts\""
        ]
    );
    let full = format!("Domains:\n\tmox.example: nil\nAccounts:\n\tx: nil\n{webhandlers}");
    let d = config::parse_dynamic("webhandlers", &full).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.web_domain_redirects["mox.example"], "www.mox.example");
    assert_eq!(d.web_handlers[0].log_name.as_deref(), Some("redirhttps"));
    assert_eq!(
        d.web_handlers[0].web_redirect.as_ref().unwrap().base_url.as_deref(),
        Some("https://www.mox.example")
    );
    assert!(d.web_handlers[0].dont_redirect_plain_http);
    assert_eq!(d.web_handlers[1].web_static.as_ref().unwrap().root, "web/mjl");
    assert!(d.web_handlers.iter().any(|h| h.web_forward.is_some()));

    // transport: a mox.conf snippet, then a domains.conf snippet.
    let (_, transport) = config::CONFIG_EXAMPLES[1];
    let (static_part, dynamic_part) = transport.split_once("# Snippet for domains.conf").unwrap();
    let static_text = format!(
        "DataDir: data\nLogLevel: info\nHostname: mail.example\nListeners:\n\tx: nil\nPostmaster:\n\tAccount: a\n\tMailbox: b\n{static_part}"
    );
    let s = config::parse_static("transport", &static_text).unwrap_or_else(|e| panic!("{e}"));
    let t = s.transports["Example"].submissions.as_ref().unwrap();
    assert_eq!(t.host, "smtp.example.com");
    let auth = t.auth.as_ref().unwrap();
    assert_eq!((auth.username.as_str(), auth.password.as_str()), ("user@example.com", "test1234"));
    assert_eq!(auth.mechanisms, ["SCRAM-SHA-256-PLUS"]);
    let dynamic_text = format!("Domains:\n\tx: nil\nAccounts:\n\tx: nil\n# {dynamic_part}");
    let d = config::parse_dynamic("transport", &dynamic_text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.routes[0].transport, "Example");
}
