//! The interface between the session and the rest of the mail server: [`Backend`] answers
//! the session's requests (the driver calls it); [`crate::Mailer`] is the real one.
//! Submitted messages for remote recipients go to a [`runtime::Outgoing`] (the queue).

use std::net::IpAddr;

use async_trait::async_trait;

use crate::directory::{AliasRecipient, LocalRecipient};
use crate::session::{Context, Request, Response, Transaction};

/// What a recipient address resolved to.
#[derive(Debug, Clone)]
pub enum Target {
    /// A local account.
    Local(LocalRecipient),
    /// A local alias.
    Alias(AliasRecipient),
    /// Not ours (submission only): the message goes to the queue.
    Remote(String),
}

/// Answers the session's requests. [`crate::Mailer`] is the real one; tests use their own.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Handles one request. `transaction` is the transaction in progress (for RCPT), `None`
    /// otherwise (for delivery the transaction is inside the request).
    async fn handle(
        &self,
        ctx: &Context,
        transaction: Option<&Transaction>,
        request: Request,
    ) -> Response;

    /// Whether a new connection from `ip` may start (connection rate, failed logins on
    /// submission); `Err` with the 421 to send.
    fn admit(&self, _service: crate::Service, _ip: IpAddr) -> Result<(), crate::Reply> {
        Ok(())
    }
}
