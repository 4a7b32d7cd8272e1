//! Entry points for the fuzz targets in `fuzz/`: each parses its input and asserts the
//! invariants that must hold for any input. Not a stable API.

use crate::record::{Record, is_dmarc_record};
use crate::{Error, report};

/// Parses a DMARC record strictly and leniently, and checks that they agree, that errors point
/// into the input, and that every record written back with `Display` is valid and parses to
/// the same record.
///
/// # Panics
///
/// If an invariant does not hold: that is a bug in this crate.
pub fn record(data: &[u8]) {
    let Ok(txt) = std::str::from_utf8(data) else {
        return;
    };
    let strict = Record::parse(txt);
    let lenient = Record::parse_lenient(txt);
    assert_eq!(is_dmarc_record(txt), !matches!(lenient, Err(Error::NotDmarc)));
    if let Ok(record) = &strict {
        let lenient = lenient.as_ref().expect("strict Ok but lenient Err");
        assert_eq!(&lenient.record, record);
        assert!(lenient.problems.is_empty());
    }
    let problems = match &lenient {
        Ok(l) => l.problems.iter().collect::<Vec<_>>(),
        Err(e) => vec![e],
    };
    for problem in problems {
        if let Error::PolicyNotFirst { position }
        | Error::InvalidValue { position, .. }
        | Error::InvalidUri { position, .. }
        | Error::DuplicateTag { position, .. }
        | Error::MalformedTag { position, .. } = problem
        {
            assert!(*position <= txt.len(), "{problem:?} beyond {}", txt.len());
        }
    }
    if let Ok(lenient) = lenient {
        let written = lenient.record.to_string();
        assert_eq!(Record::parse(&written).as_ref(), Ok(&lenient.record), "{written}");
    }
}

/// Parses a report file (XML, gzip or zip) and XML: no panics, bounded memory.
pub fn report_xml(data: &[u8]) {
    let _ = report::parse_file(data);
    let _ = report::parse_xml(data);
}

/// Parses a report message, and the author domain of the message.
pub fn report_message(data: &[u8]) {
    let _ = report::parse_message(data);
    let _ = crate::author_domains(&message::Header::parse(data));
}
