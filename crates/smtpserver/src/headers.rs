//! Header fields added at delivery: Received (RFC 5321 §4.4), Authentication-Results
//! (RFC 8601), X-Mox-Reason; folded at 78 characters (RFC 5322 §2.2.3).

use std::net::IpAddr;

use crate::command::{HelloName, address_literal};
use crate::session::Context;

/// Builds one header field from tokens, folding between tokens so lines stay under 78
/// characters where possible.
#[derive(Debug, Default)]
pub(crate) struct FieldWriter {
    out: String,
    line: usize,
}

impl FieldWriter {
    pub(crate) fn new(name: &str) -> FieldWriter {
        let mut w = FieldWriter::default();
        w.out.push_str(name);
        w.out.push(':');
        w.line = name.len() + 1;
        w
    }

    /// Adds text as words that may be folded between.
    pub(crate) fn words(&mut self, text: &str) {
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            self.token(word);
        }
    }

    /// Adds a token after a space, or on a new folded line if it would not fit.
    pub(crate) fn token(&mut self, token: &str) {
        let width = token.chars().count();
        if self.line > 1 && self.line + 1 + width > 78 {
            self.newline();
        } else if self.line > 1 {
            self.out.push(' ');
            self.line += 1;
        }
        self.out.push_str(token);
        self.line += width;
    }

    /// Starts a new folded line.
    pub(crate) fn newline(&mut self) {
        self.out.push_str("\r\n\t");
        self.line = 1;
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("\r\n");
        self.out
    }
}

/// `Authentication-Results: host; method=result ...; ...` with each method on its own line.
pub(crate) fn authentication_results(hostname: &str, methods: &[String]) -> String {
    let mut w = FieldWriter::new("Authentication-Results");
    if methods.is_empty() {
        w.token(&format!("{hostname}; none"));
        return w.finish();
    }
    w.token(&format!("{hostname};"));
    let mut last_token = String::new();
    for (i, method) in methods.iter().enumerate() {
        w.newline();
        let mut tokens = method.split(' ').peekable();
        let mut first = true;
        while let Some(t) = tokens.next() {
            // The last token of every method but the last one carries the separating ';'.
            let t = if tokens.peek().is_none() && i < methods.len() - 1 {
                last_token.clear();
                last_token.push_str(t);
                last_token.push(';');
                last_token.as_str()
            } else {
                t
            };
            if first {
                w.out.push_str(t);
                w.line += t.len();
                first = false;
            } else {
                w.token(t);
            }
        }
    }
    w.finish()
}

/// Quotes a method property value if needed (RFC 8601 §2.2, `value` of RFC 2045).
pub(crate) fn ar_value(s: &str, addr_like: bool) -> String {
    let needs = s.is_empty()
        || s.chars().any(|c| {
            c <= ' ' || c == '\x7f' || (c == '@' && !addr_like) || "()<>,;:\\\"/[]?=".contains(c)
        });
    if !needs {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(if c.is_control() { ' ' } else { c });
    }
    q.push('"');
    q
}

/// What goes into a Received header.
#[derive(Debug)]
pub(crate) struct ReceivedInfo<'a> {
    pub(crate) ctx: &'a Context,
    /// The reverse DNS name of the client that verified (iprev), if any.
    pub(crate) reverse_name: Option<&'a str>,
    /// Submission: the client's address is not shown, our host name stands for it.
    pub(crate) hide_client: bool,
    /// The message needs SMTPUTF8 (`with UTF8SMTP`, RFC 6531 §4.4).
    pub(crate) smtputf8: bool,
    /// The transaction used REQUIRETLS.
    pub(crate) requiretls: bool,
}

/// `Received: from ... by ... via tcp with ESMTPS id ... for <rcpt>; date` (RFC 5321 §4.4,
/// RFC 3848 for the `with` protocol names).
pub(crate) fn received(info: &ReceivedInfo<'_>, rcpt_to: Option<&str>, now: i64) -> String {
    let ctx = info.ctx;
    let mut w = FieldWriter::new("Received");
    w.token("from");
    if info.hide_client {
        w.token(ctx.config.hostname.ascii());
    } else {
        let hello = match &ctx.hello {
            Some(HelloName::Domain(d)) => {
                if info.smtputf8 {
                    d.unicode().to_string()
                } else {
                    d.ascii().to_string()
                }
            }
            Some(HelloName::Ip(ip)) => address_literal(*ip),
            None => "unknown".to_string(),
        };
        w.token(&hello);
        let mut comment = String::from("(");
        if let Some(name) = info.reverse_name
            && !matches!(&ctx.hello, Some(HelloName::Domain(d)) if d.ascii() == name)
        {
            comment.push_str(name);
            comment.push(' ');
        }
        comment.push_str(&address_literal(ctx.remote_ip));
        comment.push(')');
        w.token(&comment);
    }
    w.token("by");
    w.token(ctx.config.hostname.ascii());
    w.token(&format!("({})", address_literal(local_ip(ctx.local_ip))));
    w.token("via");
    w.token("tcp");
    w.token("with");
    let mut with = if info.smtputf8 {
        "UTF8SMTP".to_string()
    } else if ctx.ehlo {
        "ESMTP".to_string()
    } else {
        "SMTP".to_string()
    };
    if ctx.tls.is_some() {
        with.push('S');
    }
    if ctx.auth.is_some() {
        with.push('A');
    }
    w.token(&with);
    if info.requiretls {
        w.token("(requiretls)");
    }
    w.token("id");
    w.token(&ctx.received_id);
    if let Some(tls) = &ctx.tls {
        w.token(&format!("({}", tls.version));
        w.token(&format!("{})", tls.cipher));
    }
    if let Some(rcpt) = rcpt_to {
        w.token("for");
        w.token(&format!("<{rcpt}>;"));
    } else {
        w.out.push(';');
        w.line += 1;
    }
    w.token(&rfc5322_date(now));
    w.finish()
}

fn local_ip(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The current time in RFC 5322 form, in UTC (`+0000`).
pub(crate) fn rfc5322_date(unix: i64) -> String {
    message::DateTime::new(unix, 0).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        let mut w = FieldWriter::new("X-Test");
        for _ in 0..20 {
            w.token("abcdefgh");
        }
        let s = w.finish();
        for line in s.split("\r\n") {
            assert!(line.len() <= 78, "{line:?}");
        }
        assert!(s.starts_with("X-Test: abcdefgh"));
        assert!(s.contains("\r\n\tabcdefgh"));
    }

    #[test]
    fn auth_results() {
        let h = authentication_results(
            "mox.example",
            &[
                "iprev=pass policy.iprev=192.0.2.1".into(),
                "spf=pass smtp.mailfrom=example.org".into(),
            ],
        );
        assert_eq!(
            h,
            "Authentication-Results: mox.example;\r\n\tiprev=pass policy.iprev=192.0.2.1;\r\n\tspf=pass smtp.mailfrom=example.org\r\n"
        );
        assert_eq!(ar_value("a@b", true), "a@b");
        assert_eq!(ar_value("a b", false), "\"a b\"");
    }
}
