//! Delivery rulesets: which mailbox a message goes to, and the spam-check hints a matching
//! ruleset gives (mailing list, forward, accept rejects).

use dns::Domain;
use message::Header;

use crate::directory::{Destination, Ruleset};

/// What a ruleset is matched against.
#[derive(Debug)]
pub(crate) struct RuleInput<'a> {
    pub(crate) mail_from: &'a str,
    pub(crate) msg_from: Option<&'a message::Address>,
    /// Domains that passed SPF or DKIM.
    pub(crate) verified_domains: &'a [Domain],
    pub(crate) header: &'a Header<'a>,
}

/// The first ruleset of `destination` that matches.
pub(crate) fn matching_ruleset<'d>(
    destination: &'d Destination,
    input: &RuleInput<'_>,
) -> Option<&'d Ruleset> {
    destination.rulesets.iter().find(|rs| matches(rs, input))
}

fn matches(rs: &Ruleset, input: &RuleInput<'_>) -> bool {
    if let Some(re) = &rs.smtp_mail_from
        && !re.is_match(input.mail_from)
    {
        return false;
    }
    if let Some(re) = &rs.msg_from {
        match input.msg_from {
            Some(a) if re.is_match(&a.to_string()) => {}
            _ => return false,
        }
    }
    if let Some(d) = &rs.verified_domain
        && !input.verified_domains.iter().any(|v| domain_matches(v, d))
    {
        return false;
    }
    for (name_re, value_re) in &rs.headers {
        let found = input.header.iter().any(|f| {
            let name = f.name().to_lowercase();
            let value = f.value().trim().to_lowercase();
            name_re.is_match(&name) && value_re.is_match(&value)
        });
        if !found {
            return false;
        }
    }
    true
}

/// Whether `verified` is `rule` or a subdomain of it.
pub(crate) fn domain_matches(verified: &Domain, rule: &Domain) -> bool {
    let v = verified.ascii();
    let r = rule.ascii();
    v == r || v.strip_suffix(r).is_some_and(|p| p.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    fn rs(mailbox: &str) -> Ruleset {
        Ruleset {
            smtp_mail_from: None,
            msg_from: None,
            verified_domain: None,
            headers: Vec::new(),
            is_forward: false,
            list_allow_domain: None,
            accept_rejects_to_mailbox: None,
            mailbox: mailbox.into(),
        }
    }

    #[test]
    fn first_match_wins() {
        let msg =
            b"From: news@lists.example.org\r\nList-Id: <golang.lists.example.org>\r\n\r\nbody";
        let header = Header::parse(msg);
        let from = message::Address::parse("news@lists.example.org").unwrap();
        let verified = [Domain::parse("bounces.lists.example.org").unwrap()];
        let input = RuleInput {
            mail_from: "bounce@bounces.lists.example.org",
            msg_from: Some(&from),
            verified_domains: &verified,
            header: &header,
        };
        let dest = Destination {
            rulesets: vec![
                Ruleset { smtp_mail_from: Some(Regex::new("^x@").unwrap()), ..rs("Wrong") },
                Ruleset {
                    verified_domain: Some(Domain::parse("lists.example.org").unwrap()),
                    headers: vec![(
                        Regex::new("^list-id$").unwrap(),
                        Regex::new(r"<golang\.lists").unwrap(),
                    )],
                    ..rs("Lists/Go")
                },
                rs("Catchall"),
            ],
            ..Default::default()
        };
        assert_eq!(matching_ruleset(&dest, &input).unwrap().mailbox, "Lists/Go");
        let none = Destination::default();
        assert!(matching_ruleset(&none, &input).is_none());
        assert!(!domain_matches(
            &Domain::parse("badexample.org").unwrap(),
            &Domain::parse("example.org").unwrap()
        ));
    }
}
