//! The edit functions: each change applied to files on disk, read back, and the refusals.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use std::path::{Path, PathBuf};

use config::edit::{self, EditError};
use config::{LookupError, Recipient};

struct Setup {
    _dir: tempfile::TempDir,
    mox_conf: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mox_conf = dir.path().join("mox.conf");
    std::fs::write(&mox_conf, config::testing::EXAMPLE_STATIC).unwrap();
    std::fs::write(dir.path().join("domains.conf"), config::testing::EXAMPLE_DYNAMIC).unwrap();
    Setup { _dir: dir, mox_conf }
}

impl Setup {
    fn load(&self) -> config::Config {
        config::load(&self.mox_conf).unwrap_or_else(|e| panic!("{e}"))
    }
    fn dir(&self) -> &Path {
        self.mox_conf.parent().unwrap()
    }
    fn domains_conf(&self) -> String {
        std::fs::read_to_string(self.dir().join("domains.conf")).unwrap()
    }
}

fn account_of(c: &config::Config, address: &str) -> Result<String, LookupError> {
    let addr = message::Address::parse(address).unwrap();
    match c.lookup_recipient(&addr)? {
        Recipient::Account { account, .. } => Ok(account.to_string()),
        Recipient::Alias { .. } => Ok("(alias)".into()),
    }
}

#[test]
fn account_add_and_rm() {
    let s = setup();
    let e = edit::account_add(&s.load(), "bob", "bob@example.com").unwrap();
    // Nothing written before apply.
    assert!(!s.domains_conf().contains("bob"));
    e.apply().unwrap();
    let c = s.load();
    assert_eq!(account_of(&c, "Bob+x@example.com").unwrap(), "bob");
    let bob = c.account("bob").unwrap();
    assert_eq!(bob.domain, "example.com");
    assert_eq!(bob.rejects_mailbox.as_deref(), Some("Rejects"));
    assert_eq!(bob.junk_filter.as_ref().unwrap().params.top_words, 10);
    assert!(bob.automatic_junk_flags.enabled && bob.no_custom_password);
    assert_eq!(bob.subject_pass.period, std::time::Duration::from_secs(12 * 3600));
    // Written as mox writes a new account.
    assert!(s.domains_conf().contains(
        "\tbob:\n\t\tDomain: example.com\n\t\tDestinations:\n\t\t\tbob@example.com: nil\n\t\tSubjectPass:\n\t\t\tPeriod: 12h0m0s\n\t\tRejectsMailbox: Rejects\n"
    ));

    assert!(matches!(
        edit::account_add(&c, "bob", "bob2@example.com"),
        Err(EditError::AccountExists { .. })
    ));
    assert!(matches!(
        edit::account_add(&c, "carol", "bob@example.com"),
        Err(EditError::AddressNotAvailable { .. })
    ));
    assert!(matches!(
        edit::account_add(&c, "carol", "carol+x@example.com"),
        Err(EditError::AddressNotAvailable { .. })
    ));
    assert!(matches!(
        edit::account_add(&c, "carol", "team@example.com"),
        Err(EditError::AddressNotAvailable { .. })
    ));
    assert!(matches!(
        edit::account_add(&c, "carol", "carol@nowhere.example"),
        Err(EditError::AddressNotAvailable { .. })
    ));
    assert!(matches!(
        edit::account_add(&c, "../etc", "x@example.com"),
        Err(EditError::InvalidAccountName { .. })
    ));
    assert!(matches!(
        edit::account_add(&c, "carol", "not an address"),
        Err(EditError::InvalidAddress { .. })
    ));
    std::fs::create_dir_all(c.data_dir.join("accounts/carol")).unwrap();
    assert!(matches!(
        edit::account_add(&c, "carol", "carol@example.com"),
        Err(EditError::AccountDirectoryExists { .. })
    ));

    edit::account_rm(&c, "bob").unwrap().apply().unwrap();
    let c = s.load();
    assert!(c.account("bob").is_none());
    assert_eq!(account_of(&c, "bob@example.com"), Err(LookupError::AddressNotFound));
    assert!(matches!(edit::account_rm(&c, "bob"), Err(EditError::AccountNotFound { .. })));
    // The postmaster account (also the DMARC account) cannot go.
    match edit::account_rm(&c, "mjl") {
        Err(EditError::Invalid(errors)) => {
            let text = errors.to_string();
            assert!(
                text.contains("Postmaster.Account: postmaster account \"mjl\" does not exist"),
                "{text}"
            );
            assert!(
                text.contains(
                    "Domains.example.com.DMARC.Account: DMARC account \"mjl\" does not exist"
                ),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn address_add_and_rm() {
    let s = setup();
    edit::address_add(&s.load(), "Extra@example.com", "mjl").unwrap().apply().unwrap();
    edit::address_add(&s.load(), "@example.com", "mjl").unwrap().apply().unwrap();
    let c = s.load();
    assert_eq!(account_of(&c, "extra@example.com").unwrap(), "mjl");
    assert_eq!(account_of(&c, "whoever@example.com").unwrap(), "mjl");
    assert!(c.account("mjl").unwrap().destinations.contains_key("Extra@example.com"));
    assert!(matches!(
        edit::address_add(&c, "@example.com", "alice"),
        Err(EditError::AddressNotAvailable { .. })
    ));
    assert!(matches!(
        edit::address_add(&c, "@nowhere.example", "alice"),
        Err(EditError::DomainNotFound { .. })
    ));
    assert!(matches!(
        edit::address_add(&c, "x@example.com", "nobody"),
        Err(EditError::AccountNotFound { .. })
    ));

    // Removed by any spelling that canonicalizes to it.
    edit::address_rm(&c, "EXTRA+tag@example.com").unwrap().apply().unwrap();
    edit::address_rm(&s.load(), "@example.com").unwrap().apply().unwrap();
    let c = s.load();
    assert!(!c.account("mjl").unwrap().destinations.contains_key("Extra@example.com"));
    assert_eq!(account_of(&c, "whoever@example.com"), Err(LookupError::AddressNotFound));
    assert!(matches!(
        edit::address_rm(&c, "extra@example.com"),
        Err(EditError::AddressNotFound { .. })
    ));
    // A reporting address is not an account's destination.
    assert!(matches!(
        edit::address_rm(&c, "dmarcreports@example.com"),
        Err(EditError::AddressNotFound { .. })
    ));

    // Removing an alias member takes it out of the alias; the last member cannot go.
    edit::address_rm(&c, "alice@example.com").unwrap().apply().unwrap();
    let c = s.load();
    assert_eq!(c.dynamic.domains["example.com"].aliases["team"].addresses, ["mjl@example.com"]);
    match edit::address_rm(&c, "mjl@example.com") {
        Err(EditError::LastAliasMember { alias }) => assert_eq!(alias, "team@example.com"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn domain_add_and_rm() {
    let s = setup();
    let d = dns::Domain::parse("bücher.example").unwrap();
    let e = edit::domain_add(&s.load(), &d, "newuser", Some("info"), false).unwrap();
    assert_eq!(e.new_files.len(), 2);
    e.apply().unwrap();
    let c = s.load();
    let dc = c.domain(&d).unwrap();
    assert_eq!(dc.client_settings_domain.as_deref(), Some("mail.bücher.example"));
    assert_eq!(dc.localpart_catchall_separator.as_deref(), Some("+"));
    assert_eq!(dc.dmarc.as_ref().unwrap().account, "newuser");
    assert_eq!(dc.tlsrpt.as_ref().unwrap().mailbox, "TLSRPT");
    assert!(dc.mtasts.is_none(), "no listener serves MTA-STS");
    let algorithms: Vec<&str> =
        dc.dkim.sign.iter().map(|s| dc.dkim.selectors[s].algorithm.as_str()).collect();
    assert_eq!(algorithms, ["ed25519", "rsa-2048"]);
    for sel in dc.dkim.selectors.values() {
        assert!(
            sel.private_key_file.starts_with("dkim/")
                && sel.private_key_file.contains("._domainkey.xn--bcher-kva.example.")
        );
        assert!(s.dir().join(&sel.private_key_file).exists());
        assert_eq!(sel.expiration.as_deref(), Some("72h"));
    }
    let (_, signers) = c.dkim_signers(&d).unwrap().unwrap();
    assert_eq!(signers.len(), 2);
    assert_eq!(account_of(&c, "info@bücher.example").unwrap(), "newuser");
    assert_eq!(account_of(&c, "dmarcreports@bücher.example").unwrap(), "newuser");

    assert!(matches!(
        edit::domain_add(&c, &d, "mjl", None, false),
        Err(EditError::DomainExists { .. })
    ));
    let other = dns::Domain::parse("other.example").unwrap();
    assert!(matches!(
        edit::domain_add(&c, &other, "mjl", Some("x"), false),
        Err(EditError::Localpart(_))
    ));
    assert!(matches!(
        edit::domain_add(&c, &other, "nobody", None, false),
        Err(EditError::Localpart(_))
    ));
    // An existing account gets postmaster@ at the new domain (here alice; mjl is postmaster).
    edit::domain_add(&c, &other, "alice", None, true).unwrap().apply().unwrap();
    let c = s.load();
    assert!(c.account("alice").unwrap().destinations.contains_key("postmaster@other.example"));
    assert!(c.domain(&other).unwrap().disabled);

    // A domain with addresses cannot be removed; after its account and addresses go, it can,
    // and its keys move to dkim/old/.
    assert!(matches!(edit::domain_rm(&c, &d), Err(EditError::Invalid(_))));
    edit::account_rm(&c, "newuser").err();
    let mut dynamic = c.dynamic.clone();
    dynamic.accounts.remove("newuser");
    dynamic.domains.get_mut("bücher.example").unwrap().dmarc = None;
    dynamic.domains.get_mut("bücher.example").unwrap().tlsrpt = None;
    let c = config::check_dynamic(&c, dynamic).unwrap();
    let keys: Vec<PathBuf> = c
        .domain(&d)
        .unwrap()
        .dkim
        .selectors
        .values()
        .map(|s| s.private_key_file.clone().into())
        .collect();
    let e = edit::domain_rm(&c, &d).unwrap();
    assert_eq!(e.retired_files.len(), 2);
    e.apply().unwrap();
    let c = s.load();
    assert!(c.domain(&d).is_none());
    for key in keys {
        assert!(!s.dir().join(&key).exists());
        assert!(s.dir().join("dkim/old").join(key.file_name().unwrap()).exists());
    }
    assert!(matches!(edit::domain_rm(&c, &d), Err(EditError::DomainNotFound { .. })));
}

#[test]
fn invalid_edit_writes_nothing() {
    let s = setup();
    let before = s.domains_conf();
    assert!(edit::account_rm(&s.load(), "mjl").is_err());
    assert_eq!(s.domains_conf(), before);
    // No temporary files left behind by the edits that were applied elsewhere either.
    edit::account_add(&s.load(), "bob", "bob@example.com").unwrap().apply().unwrap();
    let names: Vec<String> = std::fs::read_dir(s.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}
