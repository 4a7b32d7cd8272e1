//! Settings, with mox's field names (JunkFilter, its Params, AutomaticJunkFlags) and the
//! defaults mox's quickstart writes. Until `crates/config` is on main these are our own; its
//! types map onto them field by field.

use regex::Regex;

use crate::Error;

/// How words are counted and combined (mox's `junk.Params`).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Track single words.
    pub onegrams: bool,
    /// Track each two consecutive words.
    pub twograms: bool,
    /// Track each three consecutive words.
    pub threegrams: bool,
    /// Most power a word can have: a spaminess of 0.99 with a max power of 0.1 counts as 0.9
    /// (and the same for hamminess).
    pub max_power: f64,
    /// Number of most spammy and most hammy words used to compute the probability.
    pub top_words: usize,
    /// Ignore words this close to 0.5: 0.1 ignores words between 0.4 and 0.6.
    pub ignore_words: f64,
    /// Words seen in at most this many messages are rare, and their power is reduced.
    pub rare_words: u32,
    /// How word probabilities are combined (not a mox setting: mox always uses naive Bayes).
    pub combining: Combining,
}

/// How the top words' probabilities make the message's spam probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Combining {
    /// Robinson-Fisher inverse chi-square (as bogofilter and SpamBayes): a message with strong
    /// words on both sides is unsure (near 0.5) rather than spam. Fewer false positives than
    /// naive Bayes on our corpus (see the crate's accuracy test).
    #[default]
    ChiSquare,
    /// mox's naive Bayes: `1 / (1 + e^Σ(ln(1-p) - ln p))`.
    NaiveBayes,
}

impl Params {
    /// The settings we recommend for new accounts: the quickstart values with 30 top words
    /// and words within 0.3 of 0.5 ignored, used with a threshold of 0.9
    /// ([`JunkFilter::RECOMMENDED_THRESHOLD`]). On the crate's test corpus they keep
    /// bogofilter's zero false positives while missing about 2% of spam, against 24% with
    /// the quickstart values (see README).
    pub fn recommended() -> Params {
        Params { top_words: 30, ignore_words: 0.3, ..Params::default() }
    }
}

impl Default for Params {
    /// mox's quickstart values: one-grams, max power 0.01, 10 top words, ignore 0.1, rare 2;
    /// chi-square combining.
    fn default() -> Params {
        Params {
            onegrams: true,
            twograms: false,
            threegrams: false,
            max_power: 0.01,
            top_words: 10,
            ignore_words: 0.1,
            rare_words: 2,
            combining: Combining::default(),
        }
    }
}

/// An account's junk filter settings (mox's `JunkFilter`): the threshold and the [`Params`].
#[derive(Debug, Clone, PartialEq)]
pub struct JunkFilter {
    /// Spam probability above which a message is junk, e.g. 0.95. Each delivery decision adds
    /// a little noise, so the filter is not an exact oracle for spammers.
    pub threshold: f64,
    /// How words are counted and combined.
    pub params: Params,
}

impl JunkFilter {
    /// The threshold to use with [`Params::recommended`].
    pub const RECOMMENDED_THRESHOLD: f64 = 0.9;

    /// [`Params::recommended`] with its threshold.
    pub fn recommended() -> JunkFilter {
        JunkFilter { threshold: JunkFilter::RECOMMENDED_THRESHOLD, params: Params::recommended() }
    }
}

impl Default for JunkFilter {
    fn default() -> JunkFilter {
        JunkFilter { threshold: 0.95, params: Params::default() }
    }
}

/// mox's `AutomaticJunkFlags`: set `$Junk`/`$NotJunk` from the mailbox a message is
/// delivered, moved or copied to, because mail clients can move messages more easily than
/// they can set those flags.
///
/// Mailbox names are lower-cased and matched against the junk, neutral and not-junk regular
/// expressions in that order; the first match decides. When two of the three are set, the
/// remaining one matches every mailbox the others do not.
#[derive(Debug, Clone, Default)]
pub struct AutomaticJunkFlags {
    /// Whether flags are set automatically at all.
    pub enabled: bool,
    /// e.g. `^(junk|spam)`.
    pub junk_mailbox_regexp: String,
    /// e.g. `^(inbox|introbox|neutral|postmaster|dmarc|tlsrpt|rejects)`.
    pub neutral_mailbox_regexp: String,
    /// e.g. `.*` or empty.
    pub not_junk_mailbox_regexp: String,
}

/// What a mailbox says about the messages in it ([`JunkFlagRules::mailbox_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxClass {
    /// Messages here are junk: set `$Junk`, clear `$NotJunk`.
    Junk,
    /// Messages here are neither: clear both.
    Neutral,
    /// Messages here are not junk: set `$NotJunk`, clear `$Junk`.
    NotJunk,
    /// No rule applies: leave the flags alone.
    Unchanged,
}

impl AutomaticJunkFlags {
    /// mox's quickstart settings: enabled, junk `^(junk|spam)`, neutral
    /// `^(inbox|introbox|neutral|postmaster|dmarc|tlsrpt|rejects)`, everything else not junk.
    pub fn quickstart() -> AutomaticJunkFlags {
        AutomaticJunkFlags {
            enabled: true,
            junk_mailbox_regexp: "^(junk|spam)".into(),
            neutral_mailbox_regexp: "^(inbox|introbox|neutral|postmaster|dmarc|tlsrpt|rejects)"
                .into(),
            not_junk_mailbox_regexp: String::new(),
        }
    }

    /// Compiles the regular expressions.
    pub fn compile(&self) -> Result<JunkFlagRules, Error> {
        let re = |field: &'static str, s: &str| -> Result<Option<Regex>, Error> {
            if s.is_empty() {
                return Ok(None);
            }
            Regex::new(s).map(Some).map_err(|e| Error::InvalidRegexp {
                field,
                regexp: s.to_string(),
                reason: e.to_string(),
            })
        };
        Ok(JunkFlagRules {
            enabled: self.enabled,
            junk: re("JunkMailboxRegexp", &self.junk_mailbox_regexp)?,
            neutral: re("NeutralMailboxRegexp", &self.neutral_mailbox_regexp)?,
            not_junk: re("NotJunkMailboxRegexp", &self.not_junk_mailbox_regexp)?,
        })
    }
}

/// Compiled [`AutomaticJunkFlags`].
#[derive(Debug, Clone)]
pub struct JunkFlagRules {
    enabled: bool,
    junk: Option<Regex>,
    neutral: Option<Regex>,
    not_junk: Option<Regex>,
}

impl JunkFlagRules {
    /// What mailbox `name` says about its messages. A mailbox with the `\Junk` special-use
    /// attribute always holds junk, even with automatic flags disabled (as in mox).
    pub fn mailbox_class(&self, name: &str, special_use_junk: bool) -> MailboxClass {
        if special_use_junk {
            return MailboxClass::Junk;
        }
        if !self.enabled {
            return MailboxClass::Unchanged;
        }
        let lower = name.to_lowercase();
        let is = |r: &Option<Regex>| r.as_ref().is_some_and(|r| r.is_match(&lower));
        if is(&self.junk) {
            return MailboxClass::Junk;
        }
        if is(&self.neutral) {
            return MailboxClass::Neutral;
        }
        if is(&self.not_junk) {
            return MailboxClass::NotJunk;
        }
        match (self.junk.is_some(), self.neutral.is_some(), self.not_junk.is_some()) {
            (false, true, true) => MailboxClass::Junk,
            (true, false, true) => MailboxClass::Neutral,
            (true, true, false) => MailboxClass::NotJunk,
            _ => MailboxClass::Unchanged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quickstart_rules() {
        let r = AutomaticJunkFlags::quickstart().compile().unwrap();
        assert_eq!(r.mailbox_class("Junk", false), MailboxClass::Junk);
        assert_eq!(r.mailbox_class("Spam/old", false), MailboxClass::Junk);
        assert_eq!(r.mailbox_class("INBOX", false), MailboxClass::Neutral);
        assert_eq!(r.mailbox_class("Rejects", false), MailboxClass::Neutral);
        // Not junk is the remaining one: everything else.
        assert_eq!(r.mailbox_class("Archive", false), MailboxClass::NotJunk);
        assert_eq!(r.mailbox_class("Archive", true), MailboxClass::Junk);
    }

    #[test]
    fn disabled_and_partial_rules() {
        let r = AutomaticJunkFlags::default().compile().unwrap();
        assert_eq!(r.mailbox_class("Junk", false), MailboxClass::Unchanged);
        assert_eq!(r.mailbox_class("Whatever", true), MailboxClass::Junk);
        let only_junk = AutomaticJunkFlags {
            enabled: true,
            junk_mailbox_regexp: "^junk$".into(),
            ..Default::default()
        };
        let r = only_junk.compile().unwrap();
        assert_eq!(r.mailbox_class("junk", false), MailboxClass::Junk);
        assert_eq!(r.mailbox_class("archive", false), MailboxClass::Unchanged);
        let junk_neutral_notjunk = AutomaticJunkFlags {
            enabled: true,
            junk_mailbox_regexp: String::new(),
            neutral_mailbox_regexp: "^inbox$".into(),
            not_junk_mailbox_regexp: "^archive".into(),
        };
        let r = junk_neutral_notjunk.compile().unwrap();
        assert_eq!(r.mailbox_class("Other", false), MailboxClass::Junk);
        let bad = AutomaticJunkFlags {
            enabled: true,
            junk_mailbox_regexp: "(".into(),
            ..Default::default()
        };
        assert!(matches!(
            bad.compile(),
            Err(Error::InvalidRegexp { field: "JunkMailboxRegexp", .. })
        ));
    }
}
