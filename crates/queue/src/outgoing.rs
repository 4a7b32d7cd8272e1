//! The queue as the SMTP server's [`runtime::Outgoing`]: submitted messages become queue
//! entries, durably, before `submit` returns.

use runtime::{DsnNotify, DsnRet, Outgoing, OutgoingMessage, SubmitError};

use crate::admin::rfc3339;
use crate::deliver::xtext_decode;
use crate::entry::{NewMessage, NewRecipient, Notify, Recipient, Ret};
use crate::{Error, Queue};

#[async_trait::async_trait]
impl Outgoing for Queue {
    async fn submit(&self, message: OutgoingMessage) -> Result<Vec<runtime::QueueId>, SubmitError> {
        let message = new_message(message)?;
        match self.add(message).await {
            Ok(ids) => Ok(ids.into_iter().map(|id| runtime::QueueId(id.0)).collect()),
            Err(e) => Err(submit_error(e)),
        }
    }
}

/// The queue's form of a submitted message. ENVID and ORCPT arrive as given on the wire
/// (xtext) and are decoded here.
pub(crate) fn new_message(m: OutgoingMessage) -> Result<NewMessage, SubmitError> {
    let sender = if m.mail_from.is_empty() {
        None
    } else {
        Some(
            m.mail_from
                .parse()
                .map_err(|e| SubmitError::Permanent(format!("MAIL FROM {:?}: {e}", m.mail_from)))?,
        )
    };
    let mut recipients = Vec::with_capacity(m.recipients.len());
    for r in m.recipients {
        let address = Recipient::parse(&r.address)
            .map_err(|e| SubmitError::Permanent(format!("RCPT TO {:?}: {e}", r.address)))?;
        let orcpt = match r.orcpt {
            Some(orcpt) => {
                let (kind, value) = orcpt.split_once(';').unwrap_or(("rfc822", orcpt.as_str()));
                let value = xtext_decode(value).ok_or_else(|| {
                    SubmitError::Permanent(format!("ORCPT {orcpt:?}: not valid xtext"))
                })?;
                Some(format!("{kind};{value}"))
            }
            None => None,
        };
        recipients.push(NewRecipient { address, notify: r.notify.map(notify), orcpt });
    }
    let envid =
        match m.envid {
            Some(envid) => Some(xtext_decode(&envid).ok_or_else(|| {
                SubmitError::Permanent(format!("ENVID {envid:?}: not valid xtext"))
            })?),
            None => None,
        };
    Ok(NewMessage {
        account: (!m.account.is_empty()).then_some(m.account),
        sender,
        recipients,
        envid,
        ret: m.ret.map(|r| match r {
            DsnRet::Full => Ret::Full,
            DsnRet::Headers => Ret::Hdrs,
        }),
        require_tls: m.require_tls,
        // RFC 4865 §6: the DSN field shows the request; HOLDUNTIL and HOLDFOR both end up as a
        // time, given back as the "until" form.
        future_release_request: m.hold_until.map(|t| format!("until;{}", rfc3339(t))),
        hold_until: m.hold_until,
        transport: None,
        data: m.data,
    })
}

fn notify(n: DsnNotify) -> Notify {
    if n.never {
        Notify::NEVER
    } else {
        Notify { success: n.success, failure: n.failure, delay: n.delay }
    }
}

/// Whether the SMTP server should answer 4xx or 5xx.
pub(crate) fn submit_error(e: Error) -> SubmitError {
    match e {
        Error::NoRecipients
        | Error::EmptyMessage
        | Error::UnknownTransport(_)
        | Error::HoldTooLong { .. }
        | Error::InvalidFilter(_) => SubmitError::Permanent(e.to_string()),
        _ => SubmitError::Temporary(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::OutgoingRecipient;

    fn outgoing() -> OutgoingMessage {
        OutgoingMessage {
            account: "mjl".into(),
            mail_from: "mjl@mox.example".into(),
            recipients: vec![OutgoingRecipient {
                address: "x@[192.0.2.1]".into(),
                notify: Some(DsnNotify {
                    never: false,
                    success: true,
                    failure: false,
                    delay: true,
                }),
                orcpt: Some("rfc822;x+2Bl@example.org".into()),
            }],
            envid: Some("a+20b".into()),
            ret: Some(DsnRet::Headers),
            require_tls: Some(true),
            hold_until: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)),
            smtputf8: false,
            eight_bit: false,
            data: b"Subject: x\r\n\r\nx\r\n".to_vec(),
        }
    }

    #[test]
    fn submitted_message_to_entry_form() {
        let m = new_message(outgoing()).unwrap();
        assert_eq!(m.account.as_deref(), Some("mjl"));
        assert_eq!(m.recipients[0].address.to_string(), "x@[192.0.2.1]");
        assert_eq!(m.recipients[0].orcpt.as_deref(), Some("rfc822;x+l@example.org"));
        assert_eq!(m.recipients[0].notify.unwrap().to_string(), "SUCCESS,DELAY");
        assert_eq!(m.envid.as_deref(), Some("a b"));
        assert_eq!(m.ret, Some(Ret::Hdrs));
        assert_eq!(m.future_release_request.as_deref(), Some("until;2023-11-14T22:13:20Z"));
        let mut bad = outgoing();
        bad.recipients[0].address = "not an address".into();
        assert!(matches!(new_message(bad), Err(SubmitError::Permanent(_))));
        let mut null = outgoing();
        null.mail_from.clear();
        null.account.clear();
        let m = new_message(null).unwrap();
        assert!(m.sender.is_none() && m.account.is_none());
        assert!(matches!(submit_error(Error::NoRecipients), SubmitError::Permanent(_)));
        assert!(matches!(submit_error(Error::WriterStopped), SubmitError::Temporary(_)));
    }

    #[tokio::test]
    async fn submit_through_the_trait() {
        let dir = tempfile::tempdir().unwrap();
        let settings = crate::Settings::new(dns::Domain::parse("mox.example").unwrap());
        let queue = Queue::builder(dir.path(), settings)
            .resolver(std::sync::Arc::new(dns::MockResolver::new()))
            .open()
            .unwrap();
        let outgoing: &dyn Outgoing = &queue;
        let ids = outgoing.submit(outgoing_message()).await.unwrap();
        assert_eq!(ids.len(), 1);
        let entry = queue.entry(crate::QueueId(ids[0].0)).unwrap();
        assert_eq!(entry.domain, "example.org");
        assert_eq!(entry.require_tls, None);
        let mut empty = outgoing_message();
        empty.recipients.clear();
        assert!(matches!(outgoing.submit(empty).await, Err(SubmitError::Permanent(_))));
    }

    fn outgoing_message() -> OutgoingMessage {
        OutgoingMessage {
            recipients: vec![OutgoingRecipient {
                address: "y@example.org".into(),
                notify: None,
                orcpt: None,
            }],
            require_tls: None,
            hold_until: None,
            ..outgoing()
        }
    }
}
