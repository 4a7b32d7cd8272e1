//! Reports from email messages (RFC 8460 §5.3), with the `message` crate's MIME parser.

use crate::{Error, Report};

/// The largest message [`parse_report_message`] accepts: 15 MiB.
pub const MAX_MESSAGE_SIZE: usize = 15 * 1024 * 1024;

/// Extracts and parses the report in a TLSRPT email message (RFC 8460 §5.3).
///
/// Such messages are `multipart/report; report-type="tlsrpt"` with a human-readable part and
/// the report as an `application/tlsrpt+gzip` (usually) or `application/tlsrpt+json`
/// attachment, base64 or otherwise transfer-encoded. The report is searched in every part, so
/// a message that is the report itself, or that nests it (a forwarded report), works too. When
/// no part has a TLSRPT media type, a part labelled `application/gzip`, `application/json` or
/// `application/octet-stream` whose file name ends in `.json.gz` or `.json` is taken instead, as
/// some senders label reports so. Whether a report is gzipped is decided by its content (RFC
/// 8460 §6.5: `1f 8b`), not by its label.
///
/// Errors: [`Error::MessageTooLarge`], [`Error::NoReportInMessage`], and the errors of
/// [`Report::parse_any`] for the report part.
pub fn parse_report_message(data: &[u8]) -> Result<Report, Error> {
    if data.len() > MAX_MESSAGE_SIZE {
        return Err(Error::MessageTooLarge { limit: MAX_MESSAGE_SIZE });
    }
    let msg = message::Message::parse(data);
    let report_part = msg
        .parts()
        .find(|p| is_tlsrpt_type(p))
        .or_else(|| msg.parts().find(|p| is_report_file(p)))
        .ok_or(Error::NoReportInMessage)?;
    Report::parse_any(&report_part.decoded_body())
}

fn is_tlsrpt_type(part: &message::Part<'_>) -> bool {
    let ct = part.content_type();
    ct.is("application", "tlsrpt+gzip") || ct.is("application", "tlsrpt+json")
}

fn is_report_file(part: &message::Part<'_>) -> bool {
    let ct = part.content_type();
    let generic = ct.is("application", "gzip")
        || ct.is("application", "x-gzip")
        || ct.is("application", "json")
        || ct.is("application", "octet-stream");
    generic
        && part.filename().is_some_and(|name| {
            let name = name.to_ascii_lowercase();
            name.ends_with(".json.gz") || name.ends_with(".json")
        })
}
