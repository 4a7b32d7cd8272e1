//! Recipient and login lookups as mox's `LookupAddress` makes them, on the example
//! configuration of `config::testing`.
#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions.

use config::{LookupError, LookupOptions, Recipient};

fn lp(s: &str) -> message::Localpart {
    message::Localpart::parse(s).unwrap()
}

fn domain(s: &str) -> dns::Domain {
    dns::Domain::parse(s).unwrap()
}

/// (account, canonical address, mailbox) of an account recipient.
fn account(r: Result<Recipient<'_>, LookupError>) -> (String, String, Option<String>) {
    match r {
        Ok(Recipient::Account { account, canonical, destination }) => {
            (account.into(), canonical.into(), destination.mailbox.clone())
        }
        other => panic!("not an account recipient: {other:?}"),
    }
}

#[test]
fn delivery() {
    let c = config::testing::example_config();
    let look =
        |l: &str, d: &str| c.lookup_address(&lp(l), Some(&domain(d)), LookupOptions::DELIVERY);

    assert_eq!(account(look("mjl", "example.com")), ("mjl".into(), "mjl@example.com".into(), None));
    // Case-insensitive, catchall separator, IDNA-insensitive domain form.
    assert_eq!(account(look("MJL+newsletter", "EXAMPLE.com")).1, "mjl@example.com");
    assert_eq!(account(look("alice+a+b", "example.com")).0, "alice");
    // The catchall of example.org.
    assert_eq!(
        account(look("anyone", "example.org")),
        ("alice".into(), "@example.org".into(), Some("Catchall".into()))
    );
    // No catchall at example.com.
    assert_eq!(look("anyone", "example.com"), Err(LookupError::AddressNotFound));
    assert_eq!(look("anyone", "example.net"), Err(LookupError::DomainNotFound));

    // postmaster: at a domain without its own postmaster address, at the hostname, and bare.
    assert_eq!(
        account(look("PostMaster", "example.com")),
        ("mjl".into(), "postmaster".into(), Some("Postmaster".into()))
    );
    assert_eq!(account(look("postmaster", "mail.example.com")).1, "postmaster");
    let bare = c.lookup_address(&lp("postmaster"), None, LookupOptions::DELIVERY);
    assert_eq!(account(bare).0, "mjl");
    // At a domain with a catchall, the catchall gets postmaster.
    assert_eq!(account(look("postmaster", "example.org")).1, "@example.org");

    // The DMARC reporting address, also with a catchall part.
    let (acc, canonical, mailbox) = account(look("dmarcreports+x", "example.com"));
    assert_eq!(
        (acc.as_str(), canonical.as_str(), mailbox.as_deref()),
        ("mjl", "dmarcreports@example.com", Some("DMARC"))
    );
    match look("dmarcreports", "example.com") {
        Ok(Recipient::Account { destination, .. }) => assert!(destination.dmarc_reports),
        other => panic!("{other:?}"),
    }

    // The alias, with its members and their accounts.
    match look("Team", "example.com") {
        Ok(Recipient::Alias { alias, canonical }) => {
            assert_eq!(canonical, "team@example.com");
            let members: Vec<(String, &str)> = alias
                .parsed_addresses
                .iter()
                .map(|a| (a.address.to_string(), a.account_name.as_str()))
                .collect();
            assert_eq!(
                members,
                [
                    ("mjl@example.com".to_string(), "mjl"),
                    ("alice@example.com".to_string(), "alice")
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let addr = message::Address::parse("team+x@example.com").unwrap();
    assert!(matches!(c.lookup_recipient(&addr), Ok(Recipient::Alias { .. })));
}

#[test]
fn options() {
    let c = config::testing::example_config();
    let no_alias = LookupOptions { allow_alias: false, ..LookupOptions::DELIVERY };
    assert_eq!(
        c.lookup_address(&lp("team"), Some(&domain("example.com")), no_alias),
        Err(LookupError::AddressNotFound)
    );
    let no_postmaster = LookupOptions { allow_postmaster: false, ..LookupOptions::DELIVERY };
    assert_eq!(
        c.lookup_address(&lp("postmaster"), Some(&domain("mail.example.com")), no_postmaster),
        Err(LookupError::AddressNotFound)
    );
    assert_eq!(
        c.lookup_address(&lp("postmaster"), Some(&domain("example.com")), no_postmaster),
        Err(LookupError::AddressNotFound)
    );
}

#[test]
fn logins() {
    let c = config::testing::example_config();
    assert_eq!(c.account_for_login("mjl@example.com").unwrap().0, "mjl");
    assert_eq!(c.account_for_login("Mjl+imap@Example.COM").unwrap().0, "mjl");
    assert_eq!(c.account_for_login("whoever@example.org").unwrap().0, "alice");
    assert_eq!(c.account_for_login("team@example.com").unwrap_err(), LookupError::AddressNotFound);
    assert_eq!(
        c.account_for_login("postmaster@example.com").unwrap_err(),
        LookupError::AddressNotFound
    );
    assert_eq!(c.account_for_login("mjl").unwrap_err(), LookupError::InvalidAddress);
    assert_eq!(
        c.account_for_login("mjl@nowhere.example").unwrap_err(),
        LookupError::DomainNotFound
    );
}

#[test]
fn message_from() {
    let c = config::testing::example_config();
    let addr = |s: &str| message::Address::parse(s).unwrap();
    assert_eq!(c.allow_msg_from("mjl", &addr("mjl@example.com")), (true, false));
    assert_eq!(c.allow_msg_from("mjl", &addr("alice@example.com")), (false, false));
    // The alias allows its members to send as the alias.
    assert_eq!(c.allow_msg_from("alice", &addr("team@example.com")), (true, false));
    assert_eq!(c.allow_msg_from("nobody", &addr("team@example.com")), (false, false));
}

#[test]
fn case_sensitive_and_several_separators() {
    let dynamic = config::testing::EXAMPLE_DYNAMIC.replace(
        "\texample.org: nil\n",
        "\texample.org:\n\t\tLocalpartCaseSensitive: true\n\t\tLocalpartCatchallSeparators:\n\t\t\t- +\n\t\t\t- -\n",
    )
    .replace("\t\t\t@example.org:\n\t\t\t\tMailbox: Catchall\n", "\t\t\tAlice@example.org: nil\n");
    let c = config::load_from_texts(
        std::path::Path::new("/x/mox.conf"),
        config::testing::EXAMPLE_STATIC,
        &dynamic,
    )
    .unwrap();
    let look =
        |l: &str| c.lookup_address(&lp(l), Some(&domain("example.org")), LookupOptions::DELIVERY);
    assert_eq!(account(look("Alice-x")).1, "Alice@example.org");
    assert_eq!(account(look("Alice+y-z")).1, "Alice@example.org");
    assert_eq!(look("alice"), Err(LookupError::AddressNotFound));
    assert_eq!(
        config::canonical_localpart("Alice-x+y", c.domain(&domain("example.org")).unwrap()),
        "Alice"
    );
}

#[test]
fn disabled_domains() {
    let dynamic = config::testing::EXAMPLE_DYNAMIC
        .replace("\texample.org: nil\n", "\texample.org:\n\t\tDisabled: true\n");
    let c = config::load_from_texts(
        std::path::Path::new("/x/mox.conf"),
        config::testing::EXAMPLE_STATIC,
        &dynamic,
    )
    .unwrap();
    let look = |o| c.lookup_address(&lp("x"), Some(&domain("example.org")), o);
    assert_eq!(look(LookupOptions::DELIVERY), Err(LookupError::DomainDisabled));
    assert_eq!(account(look(LookupOptions::LOGIN)).0, "alice");
    assert_eq!(
        c.allow_msg_from("alice", &message::Address::parse("x@example.org").unwrap()),
        (false, true)
    );
}

#[test]
fn config_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<config::Config>();
    assert_send_sync::<config::ConfigErrors>();
    assert_send_sync::<config::edit::EditError>();
}
