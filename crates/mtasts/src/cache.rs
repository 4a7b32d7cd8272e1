//! A policy cache that applies RFC 8461 §3.3 and §5.1: which policy applies to a domain now.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use dns::{Domain, Resolver};

use crate::{Error, Fetcher, Policy, lookup_record};

/// How long to wait before fetching a policy again after a failed fetch, per record id
/// (RFC 8461 §3.3: "five minutes or longer").
pub const FETCH_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// A policy as fetched, with what is needed to decide when to fetch it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPolicy {
    /// The `id` of the `_mta-sts` record when the policy was fetched.
    pub record_id: String,
    /// The policy.
    pub policy: Policy,
    /// When it was fetched; it is valid for `policy.max_age` seconds from then.
    pub fetched_at: SystemTime,
}

impl CachedPolicy {
    /// Whether the policy is still valid at `now` (fetched less than `max_age` seconds ago).
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        now.duration_since(self.fetched_at)
            .map(|age| age < Duration::from_secs(u64::from(self.policy.max_age)))
            // A fetch time in the future (clock changed): keep it rather than drop a policy.
            .unwrap_or(true)
    }
}

/// Where the policy of a [`Resolution`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Fetched just now: there was no valid cached policy, or the record id changed.
    Fetched,
    /// From the cache: the policy is valid and the record id is unchanged, so nothing was fetched.
    Cached,
    /// From the cache although the record could not be looked up, or a new policy could not be
    /// fetched: a valid cached policy still applies (RFC 8461 §3.3). The failure is in
    /// [`Resolution::problem`].
    CachedAfterFailure,
    /// No policy applies: the domain has no MTA-STS record or policy and nothing valid is cached.
    /// Delivery proceeds as without MTA-STS.
    None,
}

/// The outcome of [`PolicyCache::resolve`]: the policy that applies, if any, and what went wrong
/// on the way (for logs, and for TLSRPT's `sts-policy-fetch-error` and `sts-policy-invalid`).
#[derive(Debug)]
pub struct Resolution {
    /// The policy to apply, with mode `none` included as is (it permits every MX host).
    pub policy: Option<Policy>,
    /// Where it came from.
    pub source: Source,
    /// A failed record lookup or policy fetch; a missing record ([`Error::NoRecord`]) is
    /// included too when a cached policy was used despite it.
    pub problem: Option<Error>,
}

impl Resolution {
    /// Whether delivery to the MX `host` is allowed: true without a policy, and otherwise as
    /// [`Policy::permits`] says (refused only for hosts outside an `enforce` policy).
    pub fn permits(&self, host: &Domain) -> bool {
        self.policy.as_ref().is_none_or(|p| p.permits(host))
    }
}

/// MTA-STS policies by domain, with the RFC 8461 refresh rules:
///
/// - the `_mta-sts` record is looked up on every [`resolve`](PolicyCache::resolve); when a
///   cached policy is still valid (younger than its `max_age`) and the record's `id` is
///   unchanged, it is used without fetching;
/// - otherwise the policy is fetched; when that fails, or the record cannot be found, a valid
///   cached policy still applies, and without one the domain is treated as having no policy;
/// - after a failed fetch, the same record id is not fetched again for [`FETCH_BACKOFF`].
///
/// The cache lives in memory; a caller that persists policies reads them with
/// [`get`](PolicyCache::get) and puts them back with [`insert`](PolicyCache::insert).
#[derive(Debug, Default)]
pub struct PolicyCache {
    policies: Mutex<HashMap<Domain, CachedPolicy>>,
    failed_fetches: Mutex<HashMap<(Domain, String), SystemTime>>,
}

impl PolicyCache {
    /// An empty cache.
    pub fn new() -> PolicyCache {
        PolicyCache::default()
    }

    /// The policy that applies to `domain` now.
    pub async fn resolve(
        &self,
        resolver: &dyn Resolver,
        fetcher: &Fetcher,
        domain: &Domain,
    ) -> Resolution {
        self.resolve_at(resolver, fetcher, domain, SystemTime::now()).await
    }

    /// The policy that applies to `domain` at `now`.
    pub async fn resolve_at(
        &self,
        resolver: &dyn Resolver,
        fetcher: &Fetcher,
        domain: &Domain,
        now: SystemTime,
    ) -> Resolution {
        let cached = self.get(domain).filter(|c| c.is_valid_at(now));
        let fallback = |problem: Error| match &cached {
            Some(c) => Resolution {
                policy: Some(c.policy.clone()),
                source: Source::CachedAfterFailure,
                problem: Some(problem),
            },
            None => Resolution { policy: None, source: Source::None, problem: Some(problem) },
        };

        let record = match lookup_record(resolver, domain).await {
            Ok(found) => found.record,
            Err(e) => return fallback(e),
        };
        if let Some(c) = &cached
            && c.record_id == record.id
        {
            return Resolution {
                policy: Some(c.policy.clone()),
                source: Source::Cached,
                problem: None,
            };
        }

        let key = (domain.clone(), record.id.clone());
        let last_failure = lock(&self.failed_fetches).get(&key).copied();
        if let Some(failed_at) = last_failure
            && now.duration_since(failed_at).is_ok_and(|d| d < FETCH_BACKOFF)
        {
            return fallback(Error::FetchBackoff { domain: domain.clone(), record_id: record.id });
        }

        match fetcher.fetch(resolver, domain).await {
            Ok(policy) => {
                lock(&self.failed_fetches).remove(&key);
                self.insert(
                    domain.clone(),
                    CachedPolicy { record_id: record.id, policy: policy.clone(), fetched_at: now },
                );
                Resolution { policy: Some(policy), source: Source::Fetched, problem: None }
            }
            Err(e) => {
                tracing::info!(%domain, error = %e, "mtasts: fetching policy failed");
                lock(&self.failed_fetches).insert(key, now);
                fallback(e)
            }
        }
    }

    /// The cached policy of `domain`, valid or not.
    pub fn get(&self, domain: &Domain) -> Option<CachedPolicy> {
        lock(&self.policies).get(domain).cloned()
    }

    /// Stores a policy for `domain`, replacing any other.
    pub fn insert(&self, domain: Domain, policy: CachedPolicy) {
        lock(&self.policies).insert(domain, policy);
    }

    /// Removes policies that are no longer valid at `now`, and fetch failures older than
    /// [`FETCH_BACKOFF`]; returns how many policies were removed.
    pub fn remove_expired(&self, now: SystemTime) -> usize {
        let mut policies = lock(&self.policies);
        let before = policies.len();
        policies.retain(|_, c| c.is_valid_at(now));
        lock(&self.failed_fetches)
            .retain(|_, at| now.duration_since(*at).map_or(true, |d| d < FETCH_BACKOFF));
        before - policies.len()
    }

    /// The domains with a cached policy and their policies, e.g. to refresh them ahead of
    /// expiry (RFC 8461 §3.3 suggests daily) or to persist them.
    pub fn entries(&self) -> Vec<(Domain, CachedPolicy)> {
        lock(&self.policies).iter().map(|(d, c)| (d.clone(), c.clone())).collect()
    }
}

// A panic while holding the lock cannot leave a map half-updated (every update is one call), so
// a poisoned lock is safe to use.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
