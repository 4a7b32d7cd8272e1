//! Why a submission failed.

use std::time::Duration;

use crate::compose::ComposeError;
use crate::config::ConfigError;

/// Why a message was not submitted. It is then saved in `~/moxsubmit.failures`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The configuration file is missing or invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A configured value cannot be used.
    #[error("configuration: {key}: {reason}")]
    Setting {
        /// The key (or environment variable).
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The message or its recipients are unusable.
    #[error("{0}")]
    Compose(#[from] ComposeError),
    /// The SMTP session failed.
    #[error("{0}")]
    Smtp(#[from] smtpclient::Error),
    /// The server refused a recipient or the message.
    #[error("server refused {recipient}: {reply}")]
    Refused {
        /// The recipient.
        recipient: String,
        /// The server's reply, on one line.
        reply: String,
    },
    /// The whole submission took too long.
    #[error("no answer from the server within {}s", .0.as_secs())]
    Timeout(Duration),
}
