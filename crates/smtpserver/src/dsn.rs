//! Delivery status notifications (RFC 3464) for recipients that failed while others of the
//! same message were delivered: the transaction gets a 250, the sender a DSN through the
//! queue.

use message::Header;

use crate::command::ReversePath;
use crate::headers;
use crate::mailer::Mailer;
use crate::reply::Reply;
use crate::session::{Context, Transaction, unix_now};
use crate::submit::random_id;
use runtime::{OutgoingMessage, OutgoingRecipient};

/// Composes a DSN (multipart/report, RFC 3464 and RFC 6522) for `failures`.
pub(crate) fn compose(
    hostname: &str,
    to: &str,
    original_header: &[u8],
    failures: &[(String, Reply)],
    now: i64,
) -> Vec<u8> {
    let boundary = random_id();
    let date = headers::rfc5322_date(now);
    let mut m = String::new();
    m.push_str(&format!("From: Mail Delivery Subsystem <postmaster@{hostname}>\r\n"));
    m.push_str(&format!("To: <{to}>\r\n"));
    m.push_str("Subject: mail delivery failure\r\n");
    m.push_str(&format!("Message-Id: <{}@{hostname}>\r\n", random_id()));
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str("Auto-Submitted: auto-replied\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!("Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n"));
    m.push_str(&format!("--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"));
    m.push_str("Your message could not be delivered to all recipients.\r\n\r\n");
    for (rcpt, reply) in failures {
        let kind = if reply.is_permanent() { "Permanent" } else { "Transient" };
        m.push_str(&format!(
            "{kind} delivery failure to:\r\n\r\n\t{rcpt}\r\n\r\nError:\r\n\r\n\t{reply}\r\n\r\n"
        ));
    }
    m.push_str(&format!("--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"));
    m.push_str(&format!("Reporting-MTA: dns; {hostname}\r\nArrival-Date: {date}\r\n"));
    for (rcpt, reply) in failures {
        let status = reply.ecode_text().unwrap_or_else(|| format!("{}.0.0", reply.code / 100));
        m.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; {reply}\r\nLast-Attempt-Date: {date}\r\n"
        ));
    }
    m.push_str(&format!("\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"));
    let mut out = m.into_bytes();
    out.extend_from_slice(original_header);
    if !original_header.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// Queues a DSN to the sender of `txn` for `failures`. Never for a null sender (no bounces
/// of bounces, RFC 5321 §4.5.5). Without a queue the failures are only logged.
pub(crate) async fn queue_failures(
    mailer: &Mailer,
    ctx: &Context,
    txn: &Transaction,
    header: &Header<'_>,
    failures: &[(String, Reply)],
    _smtputf8: bool,
) {
    let ReversePath::Path(sender) = &txn.mail_from else {
        return;
    };
    let Some(outgoing) = &mailer.outgoing else {
        tracing::warn!(
            ?failures,
            "some recipients failed, but no queue to send a DSN to the sender"
        );
        return;
    };
    let hostname = ctx.config.hostname.ascii();
    let to = sender.ascii();
    let data = compose(hostname, &to, &header.raw()[..header.fields_end()], failures, unix_now());
    // Sent by the server itself: no account, null reverse-path (no bounce loops).
    let message = OutgoingMessage {
        account: String::new(),
        mail_from: String::new(),
        recipients: vec![OutgoingRecipient { address: to, notify: None, orcpt: None }],
        envid: None,
        ret: None,
        require_tls: None,
        hold_until: None,
        smtputf8: false,
        eight_bit: !data.is_ascii(),
        data,
    };
    if let Err(e) = outgoing.submit(message).await {
        tracing::error!(error = %e, "queueing dsn for incoming delivery, no dsn sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Ecode;

    #[test]
    fn dsn_parses() {
        let failures = vec![(
            "bob@example.org".to_string(),
            Reply::new(550, Ecode::ADDR_UNKNOWN_MAILBOX, "no such user"),
        )];
        let dsn = compose(
            "mx.example",
            "alice@example.net",
            b"Subject: hi\r\nFrom: alice@example.net\r\n",
            &failures,
            0,
        );
        let msg = message::Message::parse(&dsn);
        let parts = msg.root().parts();
        assert_eq!(parts.len(), 3);
        let status = String::from_utf8_lossy(parts[1].body());
        assert!(status.contains("Final-Recipient: rfc822; bob@example.org"));
        assert!(status.contains("Status: 5.1.1"));
        assert!(String::from_utf8_lossy(parts[2].body()).contains("Subject: hi"));
    }
}
