//! Entry points for the fuzz targets in `fuzz/`: each parses its input and asserts what must
//! hold for any input. Not a stable API.

use std::path::Path;

use crate::maildir::{self, KeywordLetters};
use crate::mbox::{self, MboxReader};
use crate::types::{Flags, LineEnding, Timestamp};

/// Reads arbitrary bytes as an mbox. For every message read: storing and un-storing its line
/// endings gives it back (unless it mixes CRLF and LF), and writing it to an mbox with its flags
/// and reading that back gives the same message and flags.
///
/// # Panics
///
/// If an invariant does not hold: that is a bug in this crate.
pub fn mbox_roundtrip(data: &[u8]) {
    let mut reader = MboxReader::new(data, Path::new("fuzz"));
    while let Ok(Some(m)) = reader.next_message() {
        let mut message = m.data;
        let found = mbox::take_flag_headers(&mut message);
        let (stored, line_ending, mixed) = mbox::to_stored(message.clone());
        if !mixed {
            assert_eq!(mbox::from_stored(&stored, line_ending), message);
        }
        // mbox can only hold messages that end in a line ending, and the header fields we take
        // out must not be in the message we write.
        let mut again = message.clone();
        if !message.ends_with(b"\n")
            || mbox::take_flag_headers(&mut again) != mbox::HeaderFlags::default()
        {
            continue;
        }
        let le = if line_ending == LineEnding::Lf { LineEnding::Lf } else { LineEnding::Crlf };
        let mut out = Vec::new();
        mbox::write_message(
            &mut out,
            &m.sender,
            Timestamp::from_unix(0),
            &found.flags,
            &message,
            le,
        );
        let mut reader2 = MboxReader::new(&out[..], Path::new("fuzz2"));
        let Ok(Some(back)) = reader2.next_message() else {
            panic!("written message not read back")
        };
        let mut back_data = back.data;
        let back_flags = mbox::take_flag_headers(&mut back_data);
        assert_eq!(back_data, message);
        // Flags are written unless the message starts with an indented line.
        if mbox::flag_headers_position(&message).is_some() {
            assert_eq!(back_flags.flags.system, found.flags.system);
            assert_eq!(back_flags.flags.keywords, found.flags.keywords);
        } else {
            assert_eq!(back_flags, mbox::HeaderFlags::default());
        }
        assert!(matches!(reader2.next_message(), Ok(None)));
    }
}

/// Parses arbitrary text as a `dovecot-keywords` file and as a maildir file name; flags written
/// into a file name read back the same.
///
/// # Panics
///
/// If an invariant does not hold: that is a bug in this crate.
pub fn maildir_names(text: &str) {
    let (keywords, _) = maildir::parse_dovecot_keywords(text);
    assert_eq!(keywords.len(), 26);
    let flags = maildir::name_flags(text, &keywords);
    let _ = maildir::name_time(text);
    let mut letters = KeywordLetters::default();
    let name = letters.file_name(Timestamp::from_unix(1), 7, &flags);
    let (written, _) =
        maildir::parse_dovecot_keywords(&letters.dovecot_keywords().unwrap_or_default());
    let back: Flags = maildir::name_flags(&name, &written);
    assert_eq!(back.system, flags.system);
    assert_eq!(back.keywords, flags.keywords);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_entry_points_hold_on_samples() {
        let corpus = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/store/roundtrip.mbox"
        ))
        .unwrap();
        mbox_roundtrip(&corpus);
        for sample in [
            &b""[..],
            b"From x\n",
            b"From x\n\n",
            b"From a b\nStatus: R\n\nFrom c\n>From d\n\nFrom e\r\nX: y\r\n\r\n",
            b"From a\nX-Keywords: a,,b c\nX-Status: ADFT\nSubject: s\n\n\n\n",
            b"From a\n no field\nStatus: R\n\nbody\r\nmixed\n",
        ] {
            mbox_roundtrip(sample);
        }
        for s in
            ["", "0 a\n1 b\n", "1700000000.M1.h:2,FSab", "x:2,DFRSTabcz", "0 $Junk\n25 z\n:2,az"]
        {
            maildir_names(s);
        }
    }
}
