//! A cache of parsed key records, for verifiers that see many messages from the same senders.
//!
//! The key record is still looked up for every signature, so a changed record (a rotated or
//! revoked key) takes effect at once; only when the TXT text is the same as last time are its
//! parse and the public key decoding skipped.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use dns::Domain;

use crate::error::KeyError;
use crate::key::PublicKey;
use crate::record::Record;

/// Parsed key records by the name they were found at (`selector._domainkey.domain`), at most
/// `capacity` of them; the oldest entry makes room for a new one. Safe to share between
/// threads (through an `Arc`, as [`VerifyOptions::key_cache`](crate::VerifyOptions) takes it).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use dkim::{KeyCache, PrivateKey, Record, Selector, Signer, Status, VerifyOptions};
///
/// let key = PrivateKey::generate_ed25519()?;
/// let zone = format!("sel._domainkey.example.org TXT \"{}\"", Record::for_public_key(&key.public_key()));
/// let resolver = dns::MockResolver::from_zone(&zone)?;
/// let signer = Signer::new(dns::Domain::parse("example.org")?, Selector::parse("sel")?, key);
/// let message = b"From: <jane@example.org>\r\n\r\nHello!\r\n";
/// let signed = [dkim::sign(&[signer], message, std::time::SystemTime::now())?.as_bytes(), message].concat();
///
/// let options = VerifyOptions::default().with_key_cache(Arc::new(KeyCache::new(1000)));
/// for _ in 0..2 {
///     // The second time, the record text is the same: its parse is reused.
///     let results = dkim::verify(&resolver, &signed, &options).await?;
///     assert_eq!(results[0].status, Status::Pass);
/// }
/// assert_eq!(options.key_cache.as_ref().map(|c| c.len()), Some(1));
/// # Ok(())
/// # }
/// ```
pub struct KeyCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Domain, Arc<CachedKey>>,
    /// Names in the order they were added, oldest first.
    order: VecDeque<Domain>,
}

/// A parsed key record and its decoded public key.
pub(crate) struct CachedKey {
    pub(crate) txt: String,
    pub(crate) record: Record,
    pub(crate) key: Result<PublicKey, KeyError>,
}

impl KeyCache {
    /// An empty cache holding at most `capacity` records (none if 0).
    pub fn new(capacity: usize) -> KeyCache {
        KeyCache { capacity, inner: Mutex::new(Inner::default()) }
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every record.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.order.clear();
    }

    /// The record parsed from `txt` at `name`, if `txt` is what was cached there.
    pub(crate) fn get(&self, name: &Domain, txt: &str) -> Option<Arc<CachedKey>> {
        let inner = self.lock();
        inner.entries.get(name).filter(|c| c.txt == txt).cloned()
    }

    /// Keeps the record parsed from `txt` at `name`, replacing what was there.
    pub(crate) fn insert(&self, name: &Domain, txt: &str, record: &Record) -> Arc<CachedKey> {
        let cached = Arc::new(CachedKey {
            txt: txt.to_string(),
            record: record.clone(),
            key: record.public_key(),
        });
        if self.capacity == 0 {
            return cached;
        }
        let mut inner = self.lock();
        if inner.entries.insert(name.clone(), cached.clone()).is_none() {
            inner.order.push_back(name.clone());
            while inner.order.len() > self.capacity {
                if let Some(oldest) = inner.order.pop_front() {
                    inner.entries.remove(&oldest);
                }
            }
        }
        cached
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The cache holds no invariant a panic elsewhere could break.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Domain {
        Domain::parse(s).unwrap()
    }

    const TXT: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    #[test]
    fn hits_only_for_the_same_text_and_stays_bounded() {
        let cache = KeyCache::new(2);
        let record = Record::parse(TXT).unwrap();
        assert!(cache.get(&d("a._domainkey.x"), TXT).is_none());
        cache.insert(&d("a._domainkey.x"), TXT, &record);
        let hit = cache.get(&d("a._domainkey.x"), TXT).unwrap();
        assert_eq!(hit.record, record);
        assert_eq!(hit.key.as_ref().map(PublicKey::bits), Ok(256));
        // A changed record (a rotated key) is no hit.
        assert!(cache.get(&d("a._domainkey.x"), &TXT.replace("11qY", "22qY")).is_none());
        // Replacing keeps one entry per name; a third name evicts the oldest.
        cache.insert(&d("a._domainkey.x"), TXT, &record);
        cache.insert(&d("b._domainkey.x"), TXT, &record);
        assert_eq!(cache.len(), 2);
        cache.insert(&d("c._domainkey.x"), TXT, &record);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&d("a._domainkey.x"), TXT).is_none());
        assert!(cache.get(&d("c._domainkey.x"), TXT).is_some());
        cache.clear();
        assert!(cache.is_empty());
        let none = KeyCache::new(0);
        none.insert(&d("a._domainkey.x"), TXT, &record);
        assert!(none.is_empty());
        assert!(format!("{cache:?}").contains("capacity: 2"));
    }
}
