//! The word database and the classifier.
//!
//! On disk: an LMDB environment per account (`<account>/junkfilter/`) with the word counts
//! (`words`: word → ham count, spam count), the message counts (`meta`), and which message
//! was trained as what (`trained`: message id → class), so a message is never counted twice
//! and a flag change can untrain what was trained. In memory, while the filter is open: the
//! counts again, in a hash table keyed by a randomly seeded 64-bit hash of the word, so
//! classifying a message costs one table probe per word (see the crate's benchmark). The
//! table is shared by every user of the filter in the process ([`Filter::open`]) and updated
//! after each committed training.

use std::collections::HashMap;
use std::fs;
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, RwLock, Weak};

use heed::types::Bytes;
use heed::{CommitOrAbort, EnvOpenOptions, WithoutTls};
use store::MessageId;

use crate::tokenize::{IdentityHasher, Words, word_hash};
use crate::{Combining, Error, Params};

type Db = heed::Database<'static, Bytes, Bytes>;
type Env = heed::Env<WithoutTls>;

/// Address space for the word database's memory map (the file grows as needed).
const MAP_SIZE: usize = 16 << 30;

/// Version of the database layout.
const VERSION: u64 = 1;

const META_VERSION: &[u8] = b"version";
const META_HAMS: &[u8] = b"hams";
const META_SPAMS: &[u8] = b"spams";
const META_NGRAMS: &[u8] = b"ngrams";

/// Hams needed before classifications count as significant (mox: 50).
const SIGNIFICANT_HAMS: u32 = 50;

/// What a message was trained as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Not junk.
    Ham,
    /// Junk.
    Spam,
}

impl Class {
    fn byte(self) -> u8 {
        match self {
            Class::Ham => 1,
            Class::Spam => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Class> {
        match b {
            1 => Some(Class::Ham),
            2 => Some(Class::Spam),
            _ => None,
        }
    }
}

/// A word with its score in a classification: 0 is ham, 1 is spam.
#[derive(Debug, Clone, PartialEq)]
pub struct WordScore {
    /// The word.
    pub word: String,
    /// Its spam probability after [`Params`] were applied.
    pub score: f64,
}

/// The result of classifying a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Spam probability, 0 (ham) to 1 (spam).
    pub probability: f64,
    /// Whether the filter has seen enough ham (50 messages) for the probability to count.
    pub significant: bool,
    /// The most hammy words used, most hammy first.
    pub hams: Vec<WordScore>,
    /// The most spammy words used, most spammy first.
    pub spams: Vec<WordScore>,
    /// Words of the message.
    pub words: usize,
    /// Words of the message the filter has never seen.
    pub unknown: usize,
}

impl Classification {
    /// Whether the message is junk at `threshold` (probability above it, and significant).
    pub fn is_spam(&self, threshold: f64) -> bool {
        self.significant && self.probability > threshold
    }
}

impl std::fmt::Display for Classification {
    /// `spam probability 0.990 (ham words: ...; spam words: viagra 0.990, ...)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "spam probability {:.3}", self.probability)?;
        if !self.significant {
            write!(f, " (not significant)")?;
        }
        let list = |l: &[WordScore]| {
            l.iter().map(|w| format!("{} {:.3}", w.word, w.score)).collect::<Vec<_>>().join(", ")
        };
        write!(f, " (ham words: {}; spam words: {})", list(&self.hams), list(&self.spams))
    }
}

/// Ham and spam counts of a word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Ham messages with the word.
    pub ham: u32,
    /// Spam messages with the word.
    pub spam: u32,
}

/// Numbers about a filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Ham messages trained.
    pub hams: u32,
    /// Spam messages trained.
    pub spams: u32,
    /// Distinct words.
    pub words: usize,
    /// Messages with a training record.
    pub trained_messages: u64,
    /// Size of the database file in bytes.
    pub file_size: u64,
}

/// What a training call changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrainOutcome {
    /// The class the message was untrained from.
    pub untrained: Option<Class>,
    /// The class it was trained as.
    pub trained: Option<Class>,
}

/// A per-account junk filter. Cheap to clone; every [`Filter::open`] of one directory in a
/// process shares one database and one in-memory table. Methods block on disk I/O (training
/// commits with an fsync): call them from a blocking thread in async code.
#[derive(Debug, Clone)]
pub struct Filter {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    env: Env,
    words: Db,
    meta: Db,
    trained: Db,
    params: Params,
    table: RwLock<Table>,
    /// Serializes training: held by a [`Training`] from start to commit.
    writer: Mutex<()>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").field("dir", &self.dir).finish()
    }
}

#[derive(Default)]
struct Table {
    hams: u32,
    spams: u32,
    counts: HashMap<u64, Counts, BuildHasherDefault<IdentityHasher>>,
}

static REGISTRY: LazyLock<Mutex<HashMap<PathBuf, Weak<Inner>>>> = LazyLock::new(Default::default);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Filter {
    /// The directory of an account's filter: `junkfilter/` in the account directory.
    pub fn dir_for_account(account_dir: &Path) -> PathBuf {
        account_dir.join("junkfilter")
    }

    /// Opens the filter in `dir`, creating an empty one if there is none. A filter open in
    /// this process is shared (and keeps the params it was opened with).
    pub fn open(dir: &Path, params: &Params) -> Result<Filter, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create filter directory", e))?;
        let dir = dir.canonicalize().map_err(|e| Error::io(dir, "resolve filter directory", e))?;
        let mut registry = lock(&REGISTRY);
        if let Some(inner) = registry.get(&dir).and_then(Weak::upgrade) {
            return Ok(Filter { inner });
        }
        let inner = Arc::new(Inner::open(dir.clone(), params.clone())?);
        registry.retain(|_, w| w.strong_count() > 0);
        registry.insert(dir, Arc::downgrade(&inner));
        Ok(Filter { inner })
    }

    /// Removes the filter in `dir` (for a rebuild). Fails if it is open in this process.
    pub fn remove(dir: &Path) -> Result<(), Error> {
        if let Ok(canon) = dir.canonicalize()
            && lock(&REGISTRY).get(&canon).is_some_and(|w| w.strong_count() > 0)
        {
            return Err(Error::FilterInUse { path: dir.to_path_buf() });
        }
        match fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(dir, "remove filter", e)),
        }
    }

    /// The params the filter was opened with.
    pub fn params(&self) -> &Params {
        &self.inner.params
    }

    /// The words of a message, tokenized with this filter's params.
    pub fn words(&self, message: &[u8]) -> Words {
        crate::tokenize::message_words(message, &self.inner.params)
    }

    /// Classifies a message.
    pub fn classify_message(&self, message: &[u8]) -> Classification {
        self.classify(&self.words(message))
    }

    /// Classifies a message's words: the spam probability from the [`Params::top_words`]
    /// most spammy and most hammy words, combined as in mox (naive Bayes:
    /// `1 / (1 + e^Σ(ln(1-p) - ln p))`). The words used are in the result, and logged at debug.
    pub fn classify(&self, words: &Words) -> Classification {
        let p = &self.inner.params;
        let table = self.inner.table.read().unwrap_or_else(PoisonError::into_inner);
        let (hams, spams) = (f64::from(table.hams), f64::from(table.spams));
        let mut ham_words: Vec<(f64, &str)> = Vec::new();
        let mut spam_words: Vec<(f64, &str)> = Vec::new();
        let mut unknown = 0;
        for (h, w) in words.hashed() {
            let Some(c) = table.counts.get(&h) else {
                unknown += 1;
                continue;
            };
            let Some(r) = word_score(*c, hams, spams, p) else { continue };
            if r < 0.5 {
                ham_words.push((r, w));
            } else if r > 0.5 {
                spam_words.push((r, w));
            }
        }
        let significant = table.hams >= SIGNIFICANT_HAMS;
        drop(table);
        // Most extreme first; of equal scores the longer (more specific) word, then by name
        // so the result does not depend on hash order.
        top(&mut ham_words, p.top_words, |a, b| {
            a.0.total_cmp(&b.0).then(b.1.len().cmp(&a.1.len())).then(a.1.cmp(b.1))
        });
        top(&mut spam_words, p.top_words, |a, b| {
            b.0.total_cmp(&a.0).then(b.1.len().cmp(&a.1.len())).then(a.1.cmp(b.1))
        });
        let scores = ham_words.iter().chain(spam_words.iter()).map(|(r, _)| *r);
        let probability = match p.combining {
            Combining::ChiSquare => chi_square(scores),
            Combining::NaiveBayes => naive_bayes(scores),
        };
        let to_scores = |l: Vec<(f64, &str)>| {
            l.into_iter().map(|(score, w)| WordScore { word: w.to_string(), score }).collect()
        };
        let c = Classification {
            probability,
            significant,
            hams: to_scores(ham_words),
            spams: to_scores(spam_words),
            words: words.len(),
            unknown,
        };
        tracing::debug!(classification = %c, words = c.words, unknown = c.unknown, "junk filter");
        c
    }

    /// The counts of a word.
    pub fn word_counts(&self, word: &str) -> Counts {
        let table = self.inner.table.read().unwrap_or_else(PoisonError::into_inner);
        table.counts.get(&word_hash(word)).copied().unwrap_or_default()
    }

    /// Every word of the database with its counts, in word order: for comparing two filters
    /// (a retrain must give the same) and for inspecting one.
    pub fn dump(&self) -> Result<Vec<(String, Counts)>, Error> {
        let inner = &self.inner;
        let txn = inner.env.read_txn().map_err(inner.db_err("begin read transaction"))?;
        let mut out = Vec::new();
        for item in inner.words.iter(&txn).map_err(inner.db_err("read words"))? {
            let (k, v) = item.map_err(inner.db_err("read words"))?;
            out.push((String::from_utf8_lossy(k).into_owned(), decode_counts(v)));
        }
        Ok(out)
    }

    /// Messages trained, words known, and the database size.
    pub fn stats(&self) -> Result<Stats, Error> {
        let inner = &self.inner;
        let txn = inner.env.read_txn().map_err(inner.db_err("begin read transaction"))?;
        let trained_messages = inner.trained.len(&txn).map_err(inner.db_err("count trained"))?;
        let words = inner.words.len(&txn).map_err(inner.db_err("count words"))? as usize;
        drop(txn);
        let table = inner.table.read().unwrap_or_else(PoisonError::into_inner);
        let file_size = fs::metadata(inner.dir.join("data.mdb")).map(|m| m.len()).unwrap_or(0);
        Ok(Stats { hams: table.hams, spams: table.spams, words, trained_messages, file_size })
    }

    /// What message `id` is trained as.
    pub fn trained_class(&self, id: MessageId) -> Result<Option<Class>, Error> {
        let inner = &self.inner;
        let txn = inner.env.read_txn().map_err(inner.db_err("begin read transaction"))?;
        let v =
            inner.trained.get(&txn, &id.0.to_be_bytes()).map_err(inner.db_err("read trained"))?;
        Ok(v.and_then(|v| v.first().copied()).and_then(Class::from_byte))
    }

    /// Starts a training transaction: any number of changes, written in one commit by
    /// [`Training::commit`]. Training transactions run one at a time.
    pub fn training(&self) -> Result<Training<'_>, Error> {
        let guard = lock(&self.inner.writer);
        Ok(Training {
            filter: self,
            _guard: guard,
            deltas: HashMap::new(),
            hams: 0,
            spams: 0,
            classes: HashMap::new(),
            changed: 0,
        })
    }

    /// Brings message `id`'s training to `class` (`None`: untrained), in its own commit:
    /// untrains the class it was trained as if that differs, then trains the new one. `words`
    /// is called only if something changes (to read and tokenize the message). A message is
    /// never counted twice.
    pub fn set_class(
        &self,
        id: MessageId,
        class: Option<Class>,
        words: impl FnOnce() -> Result<Words, Error>,
    ) -> Result<TrainOutcome, Error> {
        let mut t = self.training()?;
        let out = t.set_class(id, class, words)?;
        t.commit()?;
        Ok(out)
    }
}

/// Keeps the `n` first of `v` in the order `cmp`, sorted: a selection, then a sort of only
/// those (a message has hundreds of scored words; a few dozen are kept).
fn top<T>(v: &mut Vec<T>, n: usize, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    if n == 0 {
        v.clear();
        return;
    }
    if v.len() > n {
        v.select_nth_unstable_by(n - 1, &cmp);
        v.truncate(n);
    }
    v.sort_unstable_by(cmp);
}

/// mox's combining: `1 / (1 + e^Σ(ln(1-p) - ln p))`; 0.5 without words.
fn naive_bayes(scores: impl Iterator<Item = f64>) -> f64 {
    let eta: f64 = scores.map(|r| (1.0 - r).ln() - r.ln()).sum();
    1.0 / (1.0 + eta.exp())
}

/// Robinson's combining with Fisher's inverse chi-square (Linux Journal 6467, which mox's own
/// code points to as a todo): `(1 + H - S) / 2` with `H = C⁻¹(-2 Σ ln p, 2n)` and
/// `S = C⁻¹(-2 Σ ln(1-p), 2n)`. A message with strong words on both sides comes out near 0.5
/// ("unsure") instead of at whichever extreme has the most extreme words, which is what keeps
/// ham with a spammy paragraph out of the Rejects mailbox. 0.5 without words.
fn chi_square(scores: impl Iterator<Item = f64>) -> f64 {
    let (mut ln_p, mut ln_q, mut n) = (0.0, 0.0, 0usize);
    for r in scores {
        ln_p += r.ln();
        ln_q += (1.0 - r).ln();
        n += 1;
    }
    if n == 0 {
        return 0.5;
    }
    let h = chi2_survival(-2.0 * ln_p, 2 * n);
    let s = chi2_survival(-2.0 * ln_q, 2 * n);
    (1.0 + h - s) / 2.0
}

/// P(χ² ≥ x2) for `v` (even) degrees of freedom.
fn chi2_survival(x2: f64, v: usize) -> f64 {
    let m = x2 / 2.0;
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..v / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// Spam probability of a word, after max power and rare-word damping; `None` for words to
/// ignore.
fn word_score(c: Counts, hams: f64, spams: f64, p: &Params) -> Option<f64> {
    if c.ham == 0 && c.spam == 0 {
        return None;
    }
    let ws = if spams > 0.0 { f64::from(c.spam) / spams } else { 0.0 };
    let wh = if hams > 0.0 { f64::from(c.ham) / hams } else { 0.0 };
    if ws + wh == 0.0 {
        return None;
    }
    let mut r = (ws / (ws + wh)).clamp(p.max_power, 1.0 - p.max_power);
    let total = c.ham.saturating_add(c.spam);
    if total <= p.rare_words {
        // Rare words pull less: moved towards 0.5 by a tenth per missing occurrence.
        r += f64::from(1 + p.rare_words - total) * (0.5 - r) / 10.0;
    }
    if (0.5 - r).abs() < p.ignore_words {
        return None;
    }
    Some(r)
}

/// Changes to a filter, committed at once ([`Filter::training`]).
#[derive(Debug)]
pub struct Training<'f> {
    filter: &'f Filter,
    _guard: MutexGuard<'f, ()>,
    /// Word → (ham delta, spam delta).
    deltas: HashMap<String, (i64, i64)>,
    hams: i64,
    spams: i64,
    /// Message id → class after this transaction (None: untrained), for messages changed.
    classes: HashMap<u64, Option<Class>>,
    changed: usize,
}

impl Training<'_> {
    /// Trains the words of a message without recording a message id (for corpora). Prefer
    /// [`Training::set_class`] for messages of an account.
    pub fn train(&mut self, class: Class, words: &Words) {
        self.apply(class, words, 1);
    }

    /// Undoes [`Training::train`].
    pub fn untrain(&mut self, class: Class, words: &Words) {
        self.apply(class, words, -1);
    }

    fn apply(&mut self, class: Class, words: &Words, sign: i64) {
        match class {
            Class::Ham => self.hams += sign,
            Class::Spam => self.spams += sign,
        }
        for w in words.iter() {
            let d = match self.deltas.get_mut(w) {
                Some(d) => d,
                None => self.deltas.entry(w.to_string()).or_default(),
            };
            match class {
                Class::Ham => d.0 += sign,
                Class::Spam => d.1 += sign,
            }
        }
        self.changed += 1;
    }

    /// Like [`Filter::set_class`], as part of this transaction.
    pub fn set_class(
        &mut self,
        id: MessageId,
        class: Option<Class>,
        words: impl FnOnce() -> Result<Words, Error>,
    ) -> Result<TrainOutcome, Error> {
        let old = match self.classes.get(&id.0) {
            Some(c) => *c,
            None => self.filter.trained_class(id)?,
        };
        if old == class {
            return Ok(TrainOutcome::default());
        }
        let words = words()?;
        if let Some(old) = old {
            self.untrain(old, &words);
        }
        if let Some(new) = class {
            self.train(new, &words);
        }
        self.classes.insert(id.0, class);
        Ok(TrainOutcome { untrained: old, trained: class })
    }

    /// Messages trained or untrained so far.
    pub fn len(&self) -> usize {
        self.changed
    }

    /// Whether nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.changed == 0
    }

    /// Writes the changes (one LMDB commit, flushed to disk), then updates the shared table.
    pub fn commit(self) -> Result<(), Error> {
        if self.deltas.is_empty() && self.classes.is_empty() && self.hams == 0 && self.spams == 0 {
            return Ok(());
        }
        let inner = &self.filter.inner;
        let mut words: Vec<(&String, &(i64, i64))> = self.deltas.iter().collect();
        // In key order: LMDB writes sequential keys much faster.
        words.sort_by(|a, b| a.0.cmp(b.0));
        let mut txn = inner.env.write_txn().map_err(inner.db_err("begin write transaction"))?;
        let mut updated: Vec<(u64, Counts)> = Vec::with_capacity(words.len());
        for (w, (dh, ds)) in words {
            if *dh == 0 && *ds == 0 {
                continue;
            }
            let old = inner
                .words
                .get(&txn, w.as_bytes())
                .map_err(inner.db_err("read word"))?
                .map(decode_counts)
                .unwrap_or_default();
            let new = Counts { ham: add(old.ham, *dh), spam: add(old.spam, *ds) };
            if new == Counts::default() {
                inner.words.delete(&mut txn, w.as_bytes()).map_err(inner.db_err("delete word"))?;
            } else {
                inner
                    .words
                    .put(&mut txn, w.as_bytes(), &encode_counts(new))
                    .map_err(inner.db_err("write word"))?;
            }
            updated.push((word_hash(w), new));
        }
        let mut classes: Vec<_> = self.classes.iter().collect();
        classes.sort_by_key(|(id, _)| **id);
        for (id, class) in classes {
            let key = id.to_be_bytes();
            match class {
                Some(c) => inner.trained.put(&mut txn, &key, &[c.byte()]),
                None => inner.trained.delete(&mut txn, &key).map(|_| ()),
            }
            .map_err(inner.db_err("write trained"))?;
        }
        let read_meta = |txn: &heed::RwTxn<'_>, k: &[u8]| -> Result<u32, Error> {
            let v = inner.meta.get(txn, k).map_err(inner.db_err("read meta"))?;
            Ok(v.and_then(|v| v.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0) as u32)
        };
        let hams = add(read_meta(&txn, META_HAMS)?, self.hams);
        let spams = add(read_meta(&txn, META_SPAMS)?, self.spams);
        inner
            .meta
            .put(&mut txn, META_HAMS, &u64::from(hams).to_be_bytes())
            .map_err(inner.db_err("write meta"))?;
        inner
            .meta
            .put(&mut txn, META_SPAMS, &u64::from(spams).to_be_bytes())
            .map_err(inner.db_err("write meta"))?;
        txn.commit().map_err(inner.db_err("commit"))?;

        let mut table = inner.table.write().unwrap_or_else(PoisonError::into_inner);
        table.hams = hams;
        table.spams = spams;
        for (h, c) in updated {
            if c == Counts::default() {
                table.counts.remove(&h);
            } else {
                table.counts.insert(h, c);
            }
        }
        Ok(())
    }
}

fn add(v: u32, d: i64) -> u32 {
    (i64::from(v) + d).clamp(0, i64::from(u32::MAX)) as u32
}

fn encode_counts(c: Counts) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&c.ham.to_le_bytes());
    b[4..].copy_from_slice(&c.spam.to_le_bytes());
    b
}

fn decode_counts(v: &[u8]) -> Counts {
    let n = |r: std::ops::Range<usize>| {
        v.get(r).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).unwrap_or(0)
    };
    Counts { ham: n(0..4), spam: n(4..8) }
}

fn ngram_flags(p: &Params) -> u64 {
    u64::from(p.onegrams) | u64::from(p.twograms) << 1 | u64::from(p.threegrams) << 2
}

impl Inner {
    fn open(dir: PathBuf, params: Params) -> Result<Inner, Error> {
        let env = open_env(&dir)?;
        let wtxn = env.write_txn().map_err(|e| Error::db(&dir, "begin write transaction", e))?;
        let dbs = env
            .create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, heed::Error> {
                let words = dbo.create_database::<Bytes, Bytes>(wtxn, Some("words"))?;
                let meta = dbo.create_database::<Bytes, Bytes>(wtxn, Some("meta"))?;
                let trained = dbo.create_database::<Bytes, Bytes>(wtxn, Some("trained"))?;
                Ok(CommitOrAbort::<_, ()>::Commit([words, meta, trained]))
            })
            .map_err(|e| Error::db(&dir, "create tables", e))?;
        let CommitOrAbort::Commit([words, meta, trained]) = dbs else {
            return Err(Error::Corrupt { path: dir, what: "tables" });
        };
        let inner = Inner {
            dir,
            env,
            words,
            meta,
            trained,
            params,
            table: RwLock::new(Table::default()),
            writer: Mutex::new(()),
        };
        inner.load()?;
        Ok(inner)
    }

    /// Checks the version, records the n-gram settings, and loads the word table.
    fn load(&self) -> Result<(), Error> {
        let mut txn = self.env.write_txn().map_err(self.db_err("begin write transaction"))?;
        let meta = |txn: &heed::RwTxn<'_>, k: &[u8]| -> Result<Option<u64>, Error> {
            let v = self.meta.get(txn, k).map_err(self.db_err("read meta"))?;
            Ok(v.and_then(|v| v.try_into().ok()).map(u64::from_be_bytes))
        };
        match meta(&txn, META_VERSION)? {
            None => {
                self.meta
                    .put(&mut txn, META_VERSION, &VERSION.to_be_bytes())
                    .map_err(self.db_err("write meta"))?;
            }
            Some(VERSION) => {}
            Some(v) => return Err(Error::UnsupportedVersion { path: self.dir.clone(), found: v }),
        }
        let ngrams = ngram_flags(&self.params);
        match meta(&txn, META_NGRAMS)? {
            Some(n) if n != ngrams => tracing::warn!(
                path = %self.dir.display(),
                "junk filter was trained with other n-gram settings; run mox retrain"
            ),
            Some(_) => {}
            None => self
                .meta
                .put(&mut txn, META_NGRAMS, &ngrams.to_be_bytes())
                .map_err(self.db_err("write meta"))?,
        }
        let hams = meta(&txn, META_HAMS)?.unwrap_or(0) as u32;
        let spams = meta(&txn, META_SPAMS)?.unwrap_or(0) as u32;
        let n = self.words.len(&txn).map_err(self.db_err("count words"))? as usize;
        let mut counts = HashMap::with_capacity_and_hasher(n, Default::default());
        for item in self.words.iter(&txn).map_err(self.db_err("read words"))? {
            let (k, v) = item.map_err(self.db_err("read words"))?;
            let Ok(w) = std::str::from_utf8(k) else { continue };
            counts.insert(word_hash(w), decode_counts(v));
        }
        txn.commit().map_err(self.db_err("commit"))?;
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = Table { hams, spams, counts };
        Ok(())
    }

    fn db_err(&self, op: &'static str) -> impl FnOnce(heed::Error) -> Error + '_ {
        move |e| Error::db(&self.dir, op, e)
    }
}

#[allow(unsafe_code)]
fn open_env(dir: &Path) -> Result<Env, Error> {
    // SAFETY: heed marks opening unsafe because the memory map must not be modified except
    // through LMDB. The directory is the filter's own, written only through this module;
    // LMDB's lock file coordinates processes, and our registry opens each environment once
    // per process. No unsafe flags (NO_LOCK, NO_SYNC, WRITE_MAP) are used.
    unsafe {
        EnvOpenOptions::new()
            .read_txn_without_tls()
            .map_size(MAP_SIZE)
            .max_dbs(4)
            .max_readers(256)
            .open(dir)
    }
    .map_err(|e| Error::db(dir, "open database", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::text_words;

    /// The selection keeps what a full sort and truncation keep, in the same order.
    #[test]
    fn top_is_sort_and_truncate() {
        let mut state = 7u64;
        for len in 0..60 {
            for n in [0, 1, 3, 10, 30, 100] {
                let v: Vec<(f64, String)> = (0..len)
                    .map(|i| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (((state >> 33) % 7) as f64 / 7.0, format!("w{}", (state >> 40) % 50 + i))
                    })
                    .collect();
                let cmp = |a: &(f64, String), b: &(f64, String)| {
                    a.0.total_cmp(&b.0).then(b.1.len().cmp(&a.1.len())).then(a.1.cmp(&b.1))
                };
                let mut want = v.clone();
                want.sort_by(cmp);
                want.truncate(n);
                let mut got = v;
                top(&mut got, n, cmp);
                assert_eq!(got, want, "len {len} n {n}");
            }
        }
    }

    fn filter() -> (tempfile::TempDir, Filter) {
        let d = tempfile::tempdir().unwrap();
        let f = Filter::open(&d.path().join("jf"), &Params::default()).unwrap();
        (d, f)
    }

    #[test]
    fn word_score_edges() {
        let p = Params::default();
        // Only in spam: clamped to 1 - max power.
        assert_eq!(word_score(Counts { ham: 0, spam: 10 }, 10.0, 10.0, &p), Some(0.99));
        assert_eq!(word_score(Counts { ham: 10, spam: 0 }, 10.0, 10.0, &p), Some(0.01));
        // Equal: ignored (within 0.1 of 0.5).
        assert_eq!(word_score(Counts { ham: 5, spam: 5 }, 10.0, 10.0, &p), None);
        // Just outside the ignored band (mox: ignore when |0.5 - r| < 0.1).
        let r = word_score(Counts { ham: 3, spam: 7 }, 10.0, 10.0, &p).unwrap();
        assert!((r - 0.7).abs() < 1e-12);
        let r = word_score(Counts { ham: 39, spam: 61 }, 10.0, 10.0, &p).unwrap();
        assert!((r - 0.61).abs() < 1e-12);
        assert_eq!(word_score(Counts { ham: 41, spam: 59 }, 10.0, 10.0, &p), None);
        // Rare words (seen at most twice) are pulled towards 0.5: 0.99 + 1 * (0.5 - 0.99)/10.
        let r = word_score(Counts { ham: 0, spam: 2 }, 10.0, 10.0, &p).unwrap();
        assert!((r - 0.941).abs() < 1e-9, "{r}");
        let r = word_score(Counts { ham: 0, spam: 1 }, 10.0, 10.0, &p).unwrap();
        assert!((r - 0.892).abs() < 1e-9, "{r}");
        // Normalized by message counts: in 1 of 1 spam vs 10 of 100 ham.
        let r = word_score(Counts { ham: 10, spam: 1 }, 100.0, 1.0, &p).unwrap();
        assert!((r - 1.0 / 1.1).abs() < 1e-9, "{r}");
        assert_eq!(word_score(Counts::default(), 1.0, 1.0, &p), None);
    }

    #[test]
    fn chi_square_combining() {
        assert_eq!(chi_square([].into_iter()), 0.5);
        // Strong words on both sides: unsure.
        let c = chi_square([0.01, 0.99].into_iter());
        assert!((c - 0.5).abs() < 1e-9, "{c}");
        assert!(chi_square([0.99; 5].into_iter()) > 0.99);
        assert!(chi_square([0.01; 5].into_iter()) < 0.01);
        // Ten strong spam words against ten moderately hammy ones: not spam at 0.95, where
        // mox's naive Bayes says spam.
        let mixed = || [0.95; 10].into_iter().chain([0.17; 10]);
        assert!(chi_square(mixed()) < 0.9, "{}", chi_square(mixed()));
        assert!(naive_bayes(mixed()) > 0.99);
        // chi2 survival: df 2 is e^(-x/2).
        assert!((chi2_survival(3.0, 2) - (-1.5f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn probability_combining() {
        let d = tempfile::tempdir().unwrap();
        let p = Params { combining: Combining::NaiveBayes, ..Params::default() };
        let f = Filter::open(&d.path().join("jf"), &p).unwrap();
        let mut t = f.training().unwrap();
        for _ in 0..60 {
            t.train(Class::Ham, &text_words("meeting agenda tomorrow project", &p));
            t.train(Class::Spam, &text_words("viagra cheap pills winner", &p));
        }
        t.commit().unwrap();
        let c = f.classify(&text_words("cheap pills", &p));
        // Two words at 0.99: 1 / (1 + (0.01/0.99)^2).
        let want = 1.0 / (1.0 + (0.01f64 / 0.99).powi(2));
        assert!((c.probability - want).abs() < 1e-12, "{c:?}");
        assert!(c.significant);
        assert_eq!(c.spams.iter().map(|w| w.word.as_str()).collect::<Vec<_>>(), ["cheap", "pills"]);
        let c = f.classify(&text_words("project agenda cheap", &p));
        // Two ham words, one spam word: 1 / (1 + (0.99/0.01)^2 * (0.01/0.99)).
        let want = 1.0 / (1.0 + 99.0);
        assert!((c.probability - want).abs() < 1e-12, "{c:?}");
        let c = f.classify(&text_words("unknown words only", &p));
        assert_eq!(c.probability, 0.5);
        assert_eq!(c.unknown, 3);
        // Top words: at most top_words per side.
        let f3 = Params { top_words: 1, ..Params::default() };
        assert_eq!(f3.top_words, 1);
    }

    #[test]
    fn threshold_edges() {
        let c = Classification {
            probability: 0.95,
            significant: true,
            hams: vec![],
            spams: vec![],
            words: 0,
            unknown: 0,
        };
        assert!(!c.is_spam(0.95), "at the threshold is not above it");
        assert!(c.is_spam(0.9499));
        let c = Classification { significant: false, probability: 1.0, ..c };
        assert!(!c.is_spam(0.5), "not significant");
    }

    #[test]
    fn set_class_untrains_first_and_never_counts_twice() {
        let (_d, f) = filter();
        let p = Params::default();
        let words = || Ok(text_words("lottery winner claim", &p));
        let id = MessageId(7);
        let o = f.set_class(id, Some(Class::Spam), words).unwrap();
        assert_eq!(o, TrainOutcome { untrained: None, trained: Some(Class::Spam) });
        assert_eq!(f.word_counts("lottery"), Counts { ham: 0, spam: 1 });
        // Again: nothing happens, the words are not even read.
        let o = f.set_class(id, Some(Class::Spam), || panic!("not needed")).unwrap();
        assert_eq!(o, TrainOutcome::default());
        assert_eq!(f.word_counts("lottery"), Counts { ham: 0, spam: 1 });
        // Now ham: untrained as spam first.
        f.set_class(id, Some(Class::Ham), words).unwrap();
        assert_eq!(f.word_counts("lottery"), Counts { ham: 1, spam: 0 });
        assert_eq!((f.stats().unwrap().hams, f.stats().unwrap().spams), (1, 0));
        // Untrained: all gone, the database holds no words.
        f.set_class(id, None, words).unwrap();
        assert_eq!(f.word_counts("lottery"), Counts::default());
        let s = f.stats().unwrap();
        assert_eq!((s.hams, s.spams, s.words, s.trained_messages), (0, 0, 0, 0));
        assert_eq!(f.trained_class(id).unwrap(), None);
    }

    #[test]
    fn survives_reopen_and_is_shared() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("jf");
        let p = Params::default();
        {
            let f = Filter::open(&dir, &p).unwrap();
            let g = Filter::open(&dir, &p).unwrap();
            assert!(Arc::ptr_eq(&f.inner, &g.inner));
            assert!(matches!(Filter::remove(&dir), Err(Error::FilterInUse { .. })));
            f.set_class(MessageId(1), Some(Class::Ham), || Ok(text_words("hello there", &p)))
                .unwrap();
            // Another user of the filter sees the training at once.
            assert_eq!(g.word_counts("hello").ham, 1);
        }
        let f = Filter::open(&dir, &p).unwrap();
        assert_eq!(f.word_counts("there"), Counts { ham: 1, spam: 0 });
        assert_eq!(f.trained_class(MessageId(1)).unwrap(), Some(Class::Ham));
        drop(f);
        Filter::remove(&dir).unwrap();
        assert!(!dir.exists());
    }
}
