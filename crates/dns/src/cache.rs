//! The answer cache [`HickoryResolver`](crate::HickoryResolver) keeps in front of hickory's own.
//!
//! hickory-resolver caches whole responses, but answering from that cache still builds a
//! `Name`, looks up a moka cache, clones the response message and runs the lookup future
//! machinery: over a microsecond per lookup, 8.5% of an SMTP server's CPU under load, where the
//! same few names (SPF, DKIM and DMARC TXT, PTR, DNSBL A) are asked for every message. This
//! cache holds the records already converted to the [`Resolver`](crate::Resolver) trait's types,
//! keyed by the name's ASCII form and the record type, so a repeated lookup costs a hash lookup
//! under a mutex and a clone of the records.
//!
//! What is kept, and for how long, is decided by the resolver (the TTLs hickory reports); this
//! module only stores entries until their expiry and keeps their number bounded.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::resolver::RecordType;

/// How many answers a resolver keeps by default: the few names a mail server asks for again and
/// again fit many times over, while a flood of unique names costs at most a few megabytes.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;

/// How many record types [`RecordType`] has: one map each.
const RECORD_TYPES: usize = 8;

/// A cached answer, returned by [`AnswerCache::get`].
#[derive(Clone)]
pub(crate) enum Answer {
    /// The records, as the `Vec<T>` the lookup for this record type returns (the record type
    /// decides `T`), and whether they were DNSSEC-authenticated.
    Records {
        /// A `Vec<T>`; shared, so a hit clones a pointer under the lock, not the records.
        records: Arc<dyn Any + Send + Sync>,
        /// The AD bit of the answer.
        authentic: bool,
    },
    /// NXDOMAIN with a negative TTL.
    NxDomain,
    /// NOERROR without records of the type ("NODATA"), with a negative TTL.
    NoRecords,
}

/// A bounded map from (name, record type) to an answer and its expiry, shared by all clones of
/// a resolver.
///
/// The bound: when an insert finds the cache full, expired entries are dropped; if that frees
/// less than a quarter of the room, everything is dropped. Clearing is the simplest eviction that
/// stays cheap (each full sweep is followed by at least a quarter of the capacity in inserts
/// before the next, so inserting costs O(1) amortized) and it costs little: the names that are
/// asked for again come back from hickory's cache on their next lookup. A flood of unique names
/// (random subdomains in SPF macros, DNSBL lookups of many addresses) thus never grows the cache
/// past its capacity.
pub(crate) struct AnswerCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

struct Entries {
    /// One map per record type, so a lookup borrows the name as a `&str` instead of building
    /// an owned key.
    by_type: [HashMap<Box<str>, Entry>; RECORD_TYPES],
    len: usize,
}

struct Entry {
    answer: Answer,
    expires: Instant,
}

impl AnswerCache {
    /// A cache holding at most `capacity` answers; 0 keeps none.
    pub(crate) fn new(capacity: usize) -> AnswerCache {
        AnswerCache {
            capacity,
            entries: Mutex::new(Entries { by_type: Default::default(), len: 0 }),
        }
    }

    /// The answer for `name` (its ASCII form, which [`Domain`](crate::Domain) keeps in lower
    /// case) and `record_type`, unless there is none or it expired by `now`.
    pub(crate) fn get(&self, name: &str, record_type: RecordType, now: Instant) -> Option<Answer> {
        let mut entries = self.lock();
        let map = &mut entries.by_type[type_index(record_type)];
        let entry = map.get(name)?;
        if entry.expires > now {
            return Some(entry.answer.clone());
        }
        map.remove(name);
        entries.len -= 1;
        None
    }

    /// Keeps `answer` until `expires`. An answer that has already expired by `now` (a TTL of 0)
    /// is not kept.
    pub(crate) fn insert(
        &self,
        name: &str,
        record_type: RecordType,
        answer: Answer,
        expires: Instant,
        now: Instant,
    ) {
        if expires <= now || self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.len >= self.capacity {
            entries.make_room(self.capacity, now);
        }
        let replaced =
            entries.by_type[type_index(record_type)].insert(name.into(), Entry { answer, expires });
        if replaced.is_none() {
            entries.len += 1;
        }
    }

    /// How many answers are kept, expired or not.
    pub(crate) fn len(&self) -> usize {
        self.lock().len
    }

    /// The maximum number of answers kept.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The maps are consistent at every point a panic could occur (there is none in the
        // locked sections), so a poisoned lock still guards valid data.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entries {
    /// Drops expired entries, then everything if less than a quarter of `capacity` is free.
    fn make_room(&mut self, capacity: usize, now: Instant) {
        for map in &mut self.by_type {
            map.retain(|_, entry| entry.expires > now);
        }
        self.len = self.by_type.iter().map(HashMap::len).sum();
        if self.len > capacity - capacity / 4 {
            for map in &mut self.by_type {
                // A fresh map rather than `clear`, which would keep the flood's allocation.
                *map = HashMap::new();
            }
            self.len = 0;
        }
    }
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

fn type_index(record_type: RecordType) -> usize {
    match record_type {
        RecordType::A => 0,
        RecordType::Aaaa => 1,
        RecordType::Txt => 2,
        RecordType::Mx => 3,
        RecordType::Ptr => 4,
        RecordType::Cname => 5,
        RecordType::Tlsa => 6,
        RecordType::Srv => 7,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn records(texts: &[&str]) -> Answer {
        let records: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        Answer::Records { records: Arc::new(records), authentic: true }
    }

    fn texts(answer: Option<Answer>) -> Option<(Vec<String>, bool)> {
        match answer? {
            Answer::Records { records, authentic } => {
                Some((records.downcast_ref::<Vec<String>>()?.clone(), authentic))
            }
            _ => None,
        }
    }

    #[test]
    fn answers_are_kept_until_they_expire() {
        let cache = AnswerCache::new(10);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        cache.insert("example.com", RecordType::Txt, records(&["v=spf1 -all"]), later, now);
        let hit = texts(cache.get("example.com", RecordType::Txt, now));
        assert_eq!(hit, Some((vec!["v=spf1 -all".to_string()], true)));
        // The type is part of the key.
        assert!(cache.get("example.com", RecordType::A, now).is_none());
        assert!(cache.get("other.example.com", RecordType::Txt, now).is_none());
        // At the expiry it is gone, and no longer counted.
        assert!(cache.get("example.com", RecordType::Txt, later).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn negative_answers_are_kept_as_such() {
        let cache = AnswerCache::new(10);
        let now = Instant::now();
        let later = now + Duration::from_secs(5);
        cache.insert("gone.example", RecordType::A, Answer::NxDomain, later, now);
        cache.insert("mx.example", RecordType::Txt, Answer::NoRecords, later, now);
        assert!(matches!(cache.get("gone.example", RecordType::A, now), Some(Answer::NxDomain)));
        assert!(matches!(cache.get("mx.example", RecordType::Txt, now), Some(Answer::NoRecords)));
    }

    #[test]
    fn zero_ttl_and_zero_capacity_keep_nothing() {
        let now = Instant::now();
        let cache = AnswerCache::new(10);
        cache.insert("example.com", RecordType::A, Answer::NxDomain, now, now);
        assert_eq!(cache.len(), 0);
        let off = AnswerCache::new(0);
        off.insert(
            "example.com",
            RecordType::A,
            Answer::NxDomain,
            now + Duration::from_secs(9),
            now,
        );
        assert_eq!(off.len(), 0);
        assert!(off.get("example.com", RecordType::A, now).is_none());
    }

    #[test]
    fn replacing_an_answer_does_not_count_twice() {
        let cache = AnswerCache::new(10);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        cache.insert("example.com", RecordType::Txt, records(&["old"]), later, now);
        cache.insert("example.com", RecordType::Txt, records(&["new"]), later, now);
        assert_eq!(cache.len(), 1);
        let hit = texts(cache.get("example.com", RecordType::Txt, now));
        assert_eq!(hit, Some((vec!["new".to_string()], true)));
    }

    #[test]
    fn a_flood_of_unique_names_stays_within_capacity() {
        let cache = AnswerCache::new(1000);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        for i in 0..100_000 {
            let name = format!("{i}.flood.example");
            cache.insert(&name, RecordType::A, Answer::NxDomain, later, now);
            assert!(cache.len() <= 1000, "{} entries after {i} inserts", cache.len());
            // What was just inserted is there.
            assert!(cache.get(&name, RecordType::A, now).is_some(), "{name}");
        }
        let counted: usize = cache.lock().by_type.iter().map(HashMap::len).sum();
        assert_eq!(counted, cache.len());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first() {
        let cache = AnswerCache::new(8);
        let now = Instant::now();
        let soon = now + Duration::from_secs(1);
        let later = now + Duration::from_secs(60);
        // Two long-lived answers, then six that expire soon: full.
        cache.insert("keep1.example", RecordType::Txt, records(&["1"]), later, now);
        cache.insert("keep2.example", RecordType::Mx, records(&["2"]), later, now);
        for i in 0..6 {
            cache.insert(&format!("{i}.short.example"), RecordType::A, Answer::NxDomain, soon, now);
        }
        assert_eq!(cache.len(), 8);
        // Once those expired, an insert drops them and keeps the long-lived ones.
        let after = now + Duration::from_secs(2);
        cache.insert("new.example", RecordType::A, Answer::NxDomain, later, after);
        assert_eq!(cache.len(), 3);
        assert!(cache.get("keep1.example", RecordType::Txt, after).is_some());
        assert!(cache.get("keep2.example", RecordType::Mx, after).is_some());
        assert!(cache.get("new.example", RecordType::A, after).is_some());
        // Full of live entries: an insert starts over.
        for i in 0..5 {
            cache.insert(
                &format!("{i}.live.example"),
                RecordType::A,
                Answer::NxDomain,
                later,
                after,
            );
        }
        assert_eq!(cache.len(), 8);
        cache.insert("last.example", RecordType::A, Answer::NxDomain, later, after);
        assert_eq!(cache.len(), 1);
        assert!(cache.get("last.example", RecordType::A, after).is_some());
        assert!(cache.get("keep1.example", RecordType::Txt, after).is_none());
    }
}
