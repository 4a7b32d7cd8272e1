//! The maildir format (<https://cr.yp.to/proto/maildir.html>) with Dovecot's keyword extension:
//! messages are files in `new/` and `cur/`, named `<time>.<unique>.<host>:2,<flags>`, where the
//! flags are `D`raft, `F`lagged, `R`eplied, `S`een, `T`rashed and the letters `a` to `z`, which
//! stand for the keywords listed in the `dovecot-keywords` file (`<index> <keyword>` lines).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::types::{Flags, Keyword, SystemFlags, Timestamp};

const SYSTEM_LETTERS: [(char, SystemFlags); 5] = [
    ('D', SystemFlags::DRAFT),
    ('F', SystemFlags::FLAGGED),
    ('R', SystemFlags::ANSWERED),
    ('S', SystemFlags::SEEN),
    ('T', SystemFlags::DELETED),
];

/// The message files of a maildir (in `new/` and `cur/`), oldest first by the time in their
/// names, then by name.
pub(crate) fn list_messages(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found = false;
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        let d = dir.join(sub);
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&d, "list maildir")(e)),
        };
        found = true;
        for e in entries {
            let e = e.map_err(Error::io(&d, "list maildir"))?;
            // Names starting with a dot are not messages (maildir convention).
            let hidden = e.file_name().to_string_lossy().starts_with('.');
            if !hidden && e.file_type().map_err(Error::io(e.path(), "stat"))?.is_file() {
                files.push(e.path());
            }
        }
    }
    if !found {
        return Err(Error::Import {
            path: dir.to_path_buf(),
            line: 0,
            reason: "not a maildir: no new/ or cur/ directory",
        });
    }
    let key = |p: &PathBuf| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        (name_time(&name).unwrap_or(i64::MAX), name)
    };
    files.sort_by_cached_key(key);
    Ok(files)
}

/// The keywords of a `dovecot-keywords` file, by letter index (`a` is 0). Invalid lines and
/// keywords are skipped; the count of skipped lines is returned too.
pub(crate) fn parse_dovecot_keywords(text: &str) -> (Vec<Option<Keyword>>, usize) {
    let mut out: Vec<Option<Keyword>> = vec![None; 26];
    let mut skipped = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let parsed = line
            .split_once(' ')
            .and_then(|(i, k)| Some((i.parse::<usize>().ok()?, Keyword::new(k.trim()).ok()?)));
        match parsed {
            Some((i, k)) if i < 26 && out[i].is_none() => out[i] = Some(k),
            _ => skipped += 1,
        }
    }
    (out, skipped)
}

/// The time at the start of a maildir file name (`1700000000.M1P2.host:2,S`).
pub(crate) fn name_time(name: &str) -> Option<i64> {
    let digits = name.split('.').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The flags in a maildir file name; letters without a keyword in `keywords` are ignored.
pub(crate) fn name_flags(name: &str, keywords: &[Option<Keyword>]) -> Flags {
    let mut flags = Flags::default();
    let Some((_, info)) = name.rsplit_once(":2,") else { return flags };
    for c in info.chars() {
        if let Some((_, f)) = SYSTEM_LETTERS.iter().find(|(l, _)| *l == c) {
            flags.system.insert(*f);
        } else if let Some(Some(k)) =
            c.is_ascii_lowercase().then(|| keywords.get((c as u8 - b'a') as usize)).flatten()
            && !flags.keywords.contains(k)
        {
            flags.keywords.push(k.clone());
        }
    }
    flags
}

/// Assigns keyword letters for one exported maildir and writes its `dovecot-keywords` file.
#[derive(Debug, Default)]
pub(crate) struct KeywordLetters {
    keywords: Vec<Keyword>,
    /// Keywords left out of file names because all 26 letters were taken.
    pub dropped: usize,
}

impl KeywordLetters {
    /// The file name for a message: `<received>.<id>.mox:2,<flags>`.
    pub(crate) fn file_name(&mut self, received: Timestamp, id: u64, flags: &Flags) -> String {
        let mut name = format!("{}.{id}.mox:2,", received.unix.max(0));
        for (l, f) in SYSTEM_LETTERS {
            if flags.system.contains(f) {
                name.push(l);
            }
        }
        let mut letters = Vec::new();
        for k in &flags.keywords {
            let i = match self.keywords.iter().position(|x| x == k) {
                Some(i) => i,
                None if self.keywords.len() < 26 => {
                    self.keywords.push(k.clone());
                    self.keywords.len() - 1
                }
                None => {
                    self.dropped += 1;
                    continue;
                }
            };
            letters.push((b'a' + i as u8) as char);
        }
        letters.sort_unstable();
        name.extend(letters);
        name
    }

    /// The contents of `dovecot-keywords`, or `None` if no keyword was used.
    pub(crate) fn dovecot_keywords(&self) -> Option<String> {
        if self.keywords.is_empty() {
            return None;
        }
        Some(self.keywords.iter().enumerate().map(|(i, k)| format!("{i} {k}\n")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags() {
        let (kw, skipped) =
            parse_dovecot_keywords("0 $Forwarded\n1 Junk\n3 work\nbad line\n30 far\n1 dup\n");
        assert_eq!(skipped, 3);
        let f = name_flags("1700000000.M1P2.host:2,FSacdz", &kw);
        assert_eq!(f, Flags::parse(["\\Flagged", "\\Seen", "$Forwarded", "work"]).unwrap());
        assert_eq!(name_flags("1700000000.M1P2.host", &kw), Flags::default());
        assert_eq!(name_time("1700000000.M1P2.host:2,S"), Some(1_700_000_000));
        assert_eq!(name_time("msg.1"), None);

        let mut letters = KeywordLetters::default();
        let flags =
            Flags::parse(["\\Seen", "\\Draft", "\\Deleted", "\\Answered", "\\Flagged", "b", "a"])
                .unwrap();
        assert_eq!(letters.file_name(Timestamp::from_unix(5), 9, &flags), "5.9.mox:2,DFRSTab");
        let again = Flags::parse(["a", "c"]).unwrap();
        assert_eq!(letters.file_name(Timestamp::from_unix(5), 10, &again), "5.10.mox:2,bc");
        assert_eq!(letters.dovecot_keywords().unwrap(), "0 b\n1 a\n2 c\n");
        let (kw, _) = parse_dovecot_keywords(&letters.dovecot_keywords().unwrap());
        assert_eq!(name_flags("5.9.mox:2,DFRSTab", &kw), flags);
    }

    #[test]
    fn more_than_26_keywords_are_counted() {
        let mut letters = KeywordLetters::default();
        let names: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
        let flags = Flags::parse(names.iter().map(String::as_str)).unwrap();
        let name = letters.file_name(Timestamp::from_unix(1), 1, &flags);
        assert!(name.ends_with("abcdefghijklmnopqrstuvwxyz"));
        assert_eq!(letters.dropped, 4);
    }

    #[test]
    fn lists_new_and_cur_in_time_order() {
        let d = tempfile::tempdir().unwrap();
        assert!(list_messages(d.path()).is_err());
        for sub in ["new", "cur", "tmp"] {
            fs::create_dir(d.path().join(sub)).unwrap();
        }
        fs::write(d.path().join("cur/300.a.h:2,S"), "").unwrap();
        fs::write(d.path().join("new/200.b.h"), "").unwrap();
        fs::write(d.path().join("cur/1000.c.h:2,"), "").unwrap();
        fs::write(d.path().join("tmp/100.x.h"), "").unwrap();
        fs::create_dir(d.path().join("cur/subdir")).unwrap();
        fs::write(d.path().join("cur/.keep"), "").unwrap();
        let names: Vec<_> = list_messages(d.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["200.b.h", "300.a.h:2,S", "1000.c.h:2,"]);
    }
}
