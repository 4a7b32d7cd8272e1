//! Submission: mail from an authenticated user. The From header must be one of the user's
//! addresses; Message-ID and Date are added when missing; the message is DKIM-signed with
//! the From domain's selectors (in the order its `Sign` list gives); the account's sending
//! limits apply. Local recipients get the message directly (stored durably before the 250),
//! remote ones through the queue ([`crate::Outgoing`]).

use std::sync::Arc;

use message::Header;

use runtime::{DsnNotify, OutgoingMessage, OutgoingRecipient};

use crate::backend::Target;
use crate::command::{DsnRet, ForwardPath, FutureRelease, xtext_encode};
use crate::directory::LocalRecipient;
use crate::headers::{self, ReceivedInfo, ar_value};
use crate::incoming::read_data;
use crate::limits::SendLimit;
use crate::mailer::{Mailer, localserve_error};
use crate::reply::{Ecode, Reply};
use crate::session::{Context, Delivery, unix_now};
use crate::store_delivery::{self, StoreTarget};

/// Submits a message; returns the reply to the end of data.
pub(crate) async fn submit(mailer: &Mailer, ctx: &Context, delivery: Delivery) -> Reply {
    let Some(auth) = &ctx.auth else {
        return Reply::new(530, Ecode::POL_OTHER, "authentication required");
    };
    let Delivery { transaction: txn, data, summary, chunked } = delivery;
    let _permit = if data.is_spilled() { mailer.large_messages.acquire().await.ok() } else { None };
    let data = match read_data(data).await {
        Ok(d) => Arc::new(d),
        Err(e) => {
            tracing::error!(error = %e, "reading message data");
            return Reply::new(
                451,
                Ecode::SYS_OTHER,
                format!("error processing ({})", ctx.received_id),
            );
        }
    };
    let header = Header::parse(&data);
    let has_body = if chunked { header.has_separator() } else { summary.has_body };
    if !has_body {
        // RFC 6409 §6.2 (mox): a message has a header and a body.
        return Reply::new(554, Ecode::MSG_OTHER, "message requires both header and body section");
    }

    // The From header must be an address of the user (RFC 6409 §6.1, mox).
    let from = match header.from_mailboxes() {
        Ok(list) if list.len() == 1 => list[0].address.clone(),
        Ok(list) => {
            let text = format!("message must have exactly one From address, found {}", list.len());
            return Reply::new(550, Ecode::MSG_OTHER, text);
        }
        Err(e) => {
            return Reply::new(
                550,
                Ecode::MSG_OTHER,
                format!("cannot parse header or From address: {e}"),
            );
        }
    };
    if matches!(mailer.directory.lookup(&from), crate::directory::Lookup::DomainDisabled) {
        return Reply::new(
            451,
            Ecode::SYS_OTHER,
            "domain of message from header is temporarily disabled",
        );
    }
    if !mailer.directory.sender_allowed(&auth.account, &from) {
        tracing::info!(msgfrom = %from, account = auth.account, "submission with message from address of another user");
        return Reply::new(
            550,
            Ecode::POL_DELIVERY_UNAUTH,
            "message from address must belong to authenticated user",
        );
    }

    // Sending limits, before anything is stored or queued.
    let recipient_addresses: Vec<String> =
        txn.recipients.iter().map(|r| recipient_address(ctx, &r.path)).collect();
    let settings = mailer.directory.account_settings(&auth.account).unwrap_or_default();
    if let Err(limit) = mailer.limits.submission(
        &auth.account,
        &recipient_addresses,
        settings.max_outgoing_messages_per_day,
        settings.max_first_time_recipients_per_day,
    ) {
        let text = match limit {
            SendLimit::Messages(n) => format!(
                "max number of messages ({n}) over past 24h reached, try increasing per-account setting MaxOutgoingMessagesPerDay"
            ),
            SendLimit::FirstTimeRecipients(n) => format!(
                "max number of new/first-time recipients ({n}) over past 24h reached, try increasing per-account setting MaxFirstTimeRecipientsPerDay"
            ),
        };
        return Reply::new(451, Ecode::POL_DELIVERY_UNAUTH, text);
    }

    if mailer.localserve.is_some() {
        for r in &txn.recipients {
            if let ForwardPath::Path(p) = &r.path
                && let Err(reply) = localserve_error(p.localpart.as_str()).await
            {
                return reply;
            }
        }
    }

    let smtputf8 = txn.params.smtputf8;
    let now = unix_now();
    // Header lines we add before the message.
    let mut added = String::new();
    let message_id = match header.value("message-id") {
        Some(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => {
            let id = format!("<{}@{}>", random_id(), ctx.config.hostname.ascii());
            added.push_str(&format!("Message-Id: {id}\r\n"));
            id
        }
    };
    if header.get("date").is_none() {
        added.push_str(&format!("Date: {}\r\n", headers::rfc5322_date(now)));
    }

    // DKIM signatures over what the recipient will see (added fields and the message).
    let signed = if added.is_empty() {
        mailer.directory.dkim_sign(&from.domain, &data)
    } else {
        let mut full = Vec::with_capacity(added.len() + data.len());
        full.extend_from_slice(added.as_bytes());
        full.extend_from_slice(&data);
        mailer.directory.dkim_sign(&from.domain, &full)
    };
    match signed {
        Ok(Some(h)) => added.push_str(&h),
        Ok(None) => {}
        // mox submits unsigned rather than refusing: the user's message is not at fault.
        Err(e) => tracing::error!(error = %e, domain = from.domain.ascii(), "dkim sign"),
    }
    let mail_from = if smtputf8 { txn.mail_from.unicode() } else { txn.mail_from.ascii() };
    let mut w = headers::FieldWriter::new("Authentication-Results");
    w.token(&format!("{};", ctx.config.hostname.ascii()));
    w.newline();
    w.token(&format!("auth=pass smtp.mailfrom={}", ar_value(&mail_from, true)));
    added.push_str(&w.finish());

    let received_info = ReceivedInfo {
        ctx,
        reverse_name: None,
        hide_client: true,
        smtputf8,
        requiretls: txn.params.requiretls,
    };
    // One recipient: a "for" clause; several: none, so one transaction can carry them all.
    let rcpt_for =
        (txn.recipients.len() == 1).then(|| recipient_address(ctx, &txn.recipients[0].path));
    let mut prefix = headers::received(&received_info, rcpt_for.as_deref(), now).into_bytes();
    prefix.extend_from_slice(added.as_bytes());

    let mut local: Vec<(String, LocalRecipient)> = Vec::new();
    let mut remote: Vec<OutgoingRecipient> = Vec::new();
    for (r, address) in txn.recipients.iter().zip(&recipient_addresses) {
        match &r.target {
            Target::Local(l) => local.push((address.clone(), l.clone())),
            Target::Alias(a) => {
                for (m, l) in &a.members {
                    if m != &from {
                        local.push((m.to_string(), l.clone()));
                    }
                }
            }
            Target::Remote(address) => remote.push(OutgoingRecipient {
                address: address.clone(),
                notify: r.params.notify.map(|n| DsnNotify {
                    never: n.never,
                    success: n.success,
                    failure: n.failure,
                    delay: n.delay,
                }),
                orcpt: r
                    .params
                    .orcpt
                    .as_ref()
                    .map(|(kind, addr)| format!("{kind};{}", xtext_encode(addr))),
            }),
        }
    }

    // Local copies first, then the queue; if the queue refuses, the local copies are removed
    // again so the client's retry does not duplicate them.
    let mut stored = Vec::new();
    if !local.is_empty() {
        let targets = local
            .iter()
            .map(|(_, l)| StoreTarget {
                account: l.account.clone(),
                mailbox: l.destination.mailbox.clone().unwrap_or_else(|| "Inbox".into()),
                prefix: prefix.clone(),
                flags: store::Flags::default(),
                mail_from: txn.mail_from.ascii(),
                origin: None,
            })
            .collect();
        match store_delivery::deliver_all(mailer, targets, data.clone()).await {
            Ok(copies) => stored = copies,
            Err(e) => {
                tracing::error!(error = %e, "delivering submitted message locally");
                return e.reply(&ctx.received_id);
            }
        }
    }
    if !remote.is_empty() {
        let Some(outgoing) = &mailer.outgoing else {
            undo(stored).await;
            return Reply::new(
                451,
                Ecode::SYS_OTHER,
                "remote delivery not available: this server has no queue running",
            );
        };
        let require_tls = if txn.params.requiretls {
            Some(true)
        } else if tls_required_no(&header) {
            // RFC 8689 §5: the sender asks to ignore TLS policies.
            Some(false)
        } else {
            None
        };
        let hold_until = txn.params.future_release.as_ref().map(|r| {
            let at = match r {
                FutureRelease::For(secs) => now.saturating_add(i64::try_from(*secs).unwrap_or(0)),
                FutureRelease::Until { timestamp, .. } => *timestamp,
            };
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(at).unwrap_or(0))
        });
        // The queue sends what the recipients would see: our header fields, then the message.
        let mut full = Vec::with_capacity(prefix.len() + data.len());
        full.extend_from_slice(&prefix);
        full.extend_from_slice(&data);
        let message = OutgoingMessage {
            account: auth.account.clone(),
            mail_from: txn.mail_from.ascii(),
            recipients: remote,
            envid: txn.params.envid.as_ref().map(|e| xtext_encode(e)),
            ret: txn.params.ret.map(|r| match r {
                DsnRet::Full => runtime::DsnRet::Full,
                DsnRet::Headers => runtime::DsnRet::Headers,
            }),
            require_tls,
            hold_until,
            smtputf8,
            eight_bit: summary.has_8bit || !data.is_ascii(),
            data: full,
        };
        match outgoing.submit(message).await {
            Ok(ids) => tracing::info!(?ids, message_id, "message queued for delivery"),
            Err(e) => {
                tracing::error!(error = %e, "queueing message");
                undo(stored).await;
                let code = if matches!(e, runtime::SubmitError::Permanent(_)) { 554 } else { 451 };
                return Reply::new(
                    code,
                    Ecode::SYS_OTHER,
                    format!("error delivering message: {e}"),
                );
            }
        }
    }
    tracing::info!(message_id, local = local.len(), "message submitted");
    Reply::new(250, Ecode::MAILBOX_OTHER, "it is done")
}

async fn undo(stored: Vec<store_delivery::StoredCopy>) {
    for copy in stored {
        let _ = tokio::task::spawn_blocking(move || {
            copy.account
                .remove_messages(copy.delivered.mailbox, &store::UidSet::single(copy.delivered.uid))
        })
        .await;
    }
}

fn recipient_address(ctx: &Context, path: &ForwardPath) -> String {
    match path {
        ForwardPath::Postmaster => format!("postmaster@{}", ctx.config.hostname.ascii()),
        ForwardPath::Path(p) => p.ascii(),
    }
}

/// `TLS-Required: No` (RFC 8689 §5), present and unambiguous.
fn tls_required_no(header: &Header<'_>) -> bool {
    let mut values = header.get_all("tls-required").peekable();
    values.peek().is_some() && values.all(|f| f.value().trim().eq_ignore_ascii_case("no"))
}

/// 16 random bytes, base64url: for Message-IDs.
pub(crate) fn random_id() -> String {
    let mut buf = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buf);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, buf)
}
