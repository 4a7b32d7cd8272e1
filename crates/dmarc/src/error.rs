//! The crate's error type.

/// What went wrong: a DMARC record that cannot be used, a message whose author domain cannot be
/// found, or an aggregate report that cannot be read.
///
/// Parse errors say where: `position` is a byte offset into the record text, and `tag` names the
/// tag. DMARC *outcomes* (no record, fail, temporary DNS errors) are not errors: see
/// [`Discovery`](crate::Discovery) and [`Evaluation`](crate::Evaluation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Records (RFC 7489 §6.3, §6.4).
    /// The record does not start with `v=DMARC1`, so it is not a DMARC record (§6.6.3 step 2).
    #[error("not a DMARC record: it must start with \"v=DMARC1\"")]
    NotDmarc,
    /// The record has no `p=` tag, which a policy record must have.
    #[error("no p= tag: a DMARC policy record needs p=none, p=quarantine or p=reject")]
    MissingPolicy,
    /// `p=` is not the first tag after `v=DMARC1`, as the ABNF (§6.4) requires.
    #[error("p= at position {position} must be the first tag after v=DMARC1")]
    PolicyNotFirst {
        /// Byte offset of the `p=` tag.
        position: usize,
    },
    /// A known tag with a value it cannot have.
    #[error("invalid value {value:?} for {tag}= at position {position}: expected {expected}")]
    InvalidValue {
        /// The tag, lowercased (`pct`, `adkim`, ...).
        tag: &'static str,
        /// The value as written.
        value: String,
        /// Byte offset of the value.
        position: usize,
        /// What the tag allows.
        expected: &'static str,
    },
    /// A report URI in `rua=` or `ruf=` that is not a valid DMARC URI (§6.2).
    #[error("invalid report URI {uri:?} in {tag}= at position {position}: {reason}")]
    InvalidUri {
        /// `rua` or `ruf`.
        tag: &'static str,
        /// The URI as written.
        uri: String,
        /// Byte offset of the URI.
        position: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag that appears twice (RFC 6376 §3.2: "the entire tag-list is invalid").
    #[error("{tag}= appears twice (again at position {position})")]
    DuplicateTag {
        /// The tag, lowercased.
        tag: &'static str,
        /// Byte offset of the second occurrence.
        position: usize,
    },
    /// Text between semicolons that is not `name=value`.
    #[error("malformed tag {text:?} at position {position}: expected name=value")]
    MalformedTag {
        /// The text.
        text: String,
        /// Its byte offset.
        position: usize,
    },

    // --- The author domain (RFC 7489 §6.6.1).
    /// The message has no From header field.
    #[error("message has no From header")]
    NoFrom,
    /// The message has more than one From header field, which RFC 5322 §3.6 forbids.
    #[error("message has {count} From headers")]
    MultipleFrom {
        /// How many.
        count: usize,
    },
    /// The From header field cannot be parsed as a mailbox list.
    #[error("cannot parse From header: {source}")]
    InvalidFrom {
        /// Why.
        source: message::Error,
    },
    /// The From header field holds no address with a domain (for example an empty group).
    #[error("From header holds no address")]
    NoAuthorDomain,

    // --- Aggregate reports (RFC 7489 §7.2, Appendix C).
    /// The report, or what decompressing it yields, exceeds the size limit.
    #[error("report larger than the limit of {limit} bytes")]
    ReportTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A gzip or zip attachment that cannot be decompressed.
    #[error("cannot decompress {format} report: {reason}")]
    Decompress {
        /// `gzip` or `zip`.
        format: &'static str,
        /// What the decompressor said.
        reason: String,
    },
    /// The XML is malformed, or is not a DMARC aggregate report.
    #[error("invalid DMARC report XML: {reason}")]
    InvalidXml {
        /// What the XML parser said.
        reason: String,
    },
    /// The report's bytes are neither UTF-8 nor in an encoding its XML declaration names.
    #[error("report XML is not UTF-8 and declares no known encoding")]
    UnknownEncoding,
    /// The message holds no part that looks like a DMARC report (XML, gzip or zip).
    #[error("no DMARC report found in message")]
    NoReport,
}
