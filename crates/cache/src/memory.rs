//! Versioned report cache in process memory, bounded in bytes (moka).

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::notification::RemovalCause;
use moka::sync::Cache as Moka;
use nestegg_ports::{Cache, CacheError, Cached, ScopeVersions};

/// The default budget: about a hundred of the largest reports (a ten-year daily history is
/// ~300 KB), and with the allocator's share still under 64 MB of resident memory
/// (docs/PERFORMANCE.md).
pub const DEFAULT_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// How many version counters scopes share (8 bytes each: 128 KiB, whatever the user count).
const VERSION_SLOTS: usize = 16_384;

/// What moka and the key cost besides the value's bytes, roughly: charged so that a flood of
/// tiny values is bounded too.
const ENTRY_OVERHEAD: usize = 160;

#[derive(Debug, Clone)]
struct Entry {
    /// The scope's version this value was computed under; served only while it is current.
    version: u64,
    value: Arc<str>,
    ttl: Duration,
}

/// Each entry lives for the TTL its put asked for, counted again when it is replaced.
#[derive(Debug)]
struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Cached values for a single instance, in at most `max_bytes` (values, keys and an
/// estimate of the bookkeeping), each expiring after its own TTL; when full, moka evicts by
/// its TinyLFU policy, which also keeps a flood of one-off values from displacing the
/// values that are read again.
///
/// Versions: each scope hashes to one of a fixed set of counters, and `invalidate` bumps its
/// scope's counter. Counters only grow, so a version read before an invalidation never
/// matches again; every value carries the version it was computed under and is served only
/// while that version is current. So a value computed before a write is never served after
/// it, even when its put raced the invalidation, and nothing has to be found and deleted at
/// invalidation (the stale values are replaced on the next miss or age out of the budget).
/// Two scopes sharing a counter only cost each other a recomputation now and then. The
/// counters take fixed memory, unlike a map of scopes that every new user would grow.
#[derive(Debug)]
pub struct InMemoryCache {
    values: Moka<String, Entry>,
    evictions: Arc<EvictionCounts>,
    versions: Box<[AtomicU64]>,
    /// Fixed keys, so that which scopes share a counter is the same in every run (tests).
    hasher: BuildHasherDefault<DefaultHasher>,
}

/// Values the cache dropped on its own, by cause (moka's eviction listener counts them).
#[derive(Debug, Default)]
struct EvictionCounts {
    size: AtomicU64,
    expired: AtomicU64,
}

/// How many values a cache has dropped on its own since it was made, once moka's pending
/// evictions have run. Replacing a value or dropping a user's reports is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Evictions {
    /// To stay within the byte budget.
    pub size: u64,
    /// Because their TTL ran out.
    pub expired: u64,
}

/// How full a cache is, once moka's pending evictions have run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheUsage {
    /// Values held.
    pub entries: u64,
    /// Their weight in bytes, as counted against the budget.
    pub bytes: u64,
}

impl Default for InMemoryCache {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BYTES)
    }
}

impl InMemoryCache {
    /// A cache that holds at most `max_bytes` of values.
    #[must_use]
    pub fn new(max_bytes: u64) -> Self {
        let evictions = Arc::new(EvictionCounts::default());
        let counts = Arc::clone(&evictions);
        let values = Moka::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &Entry| {
                u32::try_from(key.len() + entry.value.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntryTtl)
            .eviction_listener(move |_, _, cause| {
                let counter = match cause {
                    RemovalCause::Size => &counts.size,
                    RemovalCause::Expired => &counts.expired,
                    RemovalCause::Explicit | RemovalCause::Replaced => return,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .build();
        Self {
            values,
            evictions,
            versions: (0..VERSION_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: BuildHasherDefault::default(),
        }
    }

    /// Entries and bytes held now, after running moka's pending evictions.
    #[must_use]
    pub fn usage(&self) -> CacheUsage {
        self.values.run_pending_tasks();
        CacheUsage {
            entries: self.values.entry_count(),
            bytes: self.values.weighted_size(),
        }
    }

    /// Values dropped on their own so far, after running moka's pending evictions.
    #[must_use]
    pub fn evictions(&self) -> Evictions {
        self.values.run_pending_tasks();
        Evictions {
            size: self.evictions.size.load(Ordering::Relaxed),
            expired: self.evictions.expired.load(Ordering::Relaxed),
        }
    }

    /// The lookup of (scope, field) when `version` is the scope's current one: the value if it
    /// was stored under that version.
    fn lookup(&self, scope: &str, field: &str, version: u64) -> Cached {
        let value = self
            .values
            .get(&key(scope, field))
            .filter(|entry| entry.version == version)
            .map(|entry| entry.value.to_string());
        Cached { version, value }
    }

    /// Stores the value under `version` if that is still `current`, the scope's version read
    /// just before; whether it stored.
    ///
    /// An invalidation landing between that read and the insert is harmless: the entry carries
    /// `version`, which is no longer current, so it is never served.
    fn store_if(
        &self,
        current: u64,
        (scope, field): (&str, &str),
        value: &str,
        version: u64,
        ttl: Duration,
    ) -> bool {
        if current != version {
            return false;
        }
        self.values.insert(
            key(scope, field),
            Entry {
                version,
                value: value.into(),
                ttl,
            },
        );
        // moka applies evictions in batches (dozens of writes); with values of hundreds of KB
        // that let the cache overshoot its budget by tens of MB. A put follows a computation
        // that took milliseconds, so evicting at once costs little.
        self.values.run_pending_tasks();
        true
    }

    fn version_of(&self, scope: &str) -> &AtomicU64 {
        // The modulo is below VERSION_SLOTS, so the cast back to usize cannot truncate.
        let slot = (self.hasher.hash_one(scope) % VERSION_SLOTS as u64) as usize;
        &self.versions[slot]
    }
}

/// One key per (scope, field), unambiguous whatever characters either holds.
fn key(scope: &str, field: &str) -> String {
    format!("{}:{scope}{field}", scope.len())
}

#[async_trait]
impl Cache for InMemoryCache {
    async fn get(&self, scope: &str, field: &str) -> Result<Cached, CacheError> {
        // The version first: a value read after it that still carries it was current then.
        let version = self.version_of(scope).load(Ordering::SeqCst);
        Ok(self.lookup(scope, field, version))
    }

    async fn put_if_current(
        &self,
        scope: &str,
        field: &str,
        value: &str,
        version: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let current = self.version_of(scope).load(Ordering::SeqCst);
        Ok(self.store_if(current, (scope, field), value, version, ttl))
    }

    async fn invalidate(&self, scope: &str) -> Result<(), CacheError> {
        self.version_of(scope).fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Values in this process's memory ([`InMemoryCache`]'s budget and TTLs) under versions kept
/// in a store every instance shares ([`ScopeVersions`], the database): for several instances
/// without a cache server. A lookup reads the scope's version from the store and serves the
/// local value only if it was computed under that version; an invalidation bumps the stored
/// version, so a write through any instance retires every other instance's values for the
/// scope at once. Each lookup costs one small read of the store (a hit included), and a put
/// another.
#[allow(missing_debug_implementations)]
pub struct SharedVersionCache {
    local: Arc<InMemoryCache>,
    versions: Arc<dyn ScopeVersions>,
}

impl SharedVersionCache {
    /// Values in `local`, versions in `versions`.
    #[must_use]
    pub fn new(local: Arc<InMemoryCache>, versions: Arc<dyn ScopeVersions>) -> Self {
        Self { local, versions }
    }
}

#[async_trait]
impl Cache for SharedVersionCache {
    async fn get(&self, scope: &str, field: &str) -> Result<Cached, CacheError> {
        let version = self.versions.current(scope).await?;
        Ok(self.local.lookup(scope, field, version))
    }

    async fn put_if_current(
        &self,
        scope: &str,
        field: &str,
        value: &str,
        version: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let current = self.versions.current(scope).await?;
        Ok(self
            .local
            .store_if(current, (scope, field), value, version, ttl))
    }

    async fn invalidate(&self, scope: &str) -> Result<(), CacheError> {
        self.versions.bump(scope).await
    }
}

#[cfg(test)]
mod tests {
    //! What only this cache does; the contract every cache keeps is in `tests/contract`.

    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn thousands_of_distinct_values_never_take_more_than_the_budget() {
        let budget = 4 * 1024 * 1024;
        let cache = InMemoryCache::new(budget);
        let report = "x".repeat(300 * 1024);

        for n in 0..2_000 {
            let scope = format!("user:{}", n % 7);
            let field = format!("history:{n}");
            let v = cache.get(&scope, &field).await.unwrap().version;
            cache
                .put_if_current(&scope, &field, &report, v, MINUTE)
                .await
                .unwrap();
        }
        let usage = cache.usage();

        assert!(usage.bytes <= budget, "{usage:?}");
        assert!(usage.entries >= 1, "{usage:?}");
        // 4 MiB holds 13 values of 300 KiB, and no more.
        assert!(usage.entries <= 13, "{usage:?}");
    }

    #[tokio::test]
    async fn values_dropped_for_the_budget_or_their_ttl_are_counted_and_replacements_are_not() {
        let small = InMemoryCache::new(1024 * 1024);
        let report = "x".repeat(300 * 1024);
        for n in 0..10 {
            small
                .put_if_current("user:1", &format!("history:{n}"), &report, 0, MINUTE)
                .await
                .unwrap();
        }
        let roomy = InMemoryCache::default();
        for ttl in [MINUTE, MINUTE, Duration::from_millis(20)] {
            roomy
                .put_if_current("user:2", "f", "short", 0, ttl)
                .await
                .unwrap();
        }
        roomy
            .put_if_current("user:2", "g", "kept", 0, MINUTE)
            .await
            .unwrap();
        // moka's timer wheel removes expired values about a second late at most.
        let mut expired = roomy.evictions();
        for _ in 0..30 {
            if expired.expired > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            expired = roomy.evictions();
        }

        let (dropped, held) = (small.evictions(), small.usage().entries);

        // Each value is held or was dropped (evicted, or refused admission) for the budget.
        assert_eq!(dropped.size + held, 10, "{dropped:?}, {held} held");
        assert!(dropped.size >= 7, "{dropped:?}");
        assert_eq!(dropped.expired, 0, "{dropped:?}");
        // Two replacements, then the last one expired.
        assert_eq!(
            expired,
            Evictions {
                size: 0,
                expired: 1
            }
        );
    }

    #[tokio::test]
    async fn a_value_stored_in_a_race_with_an_invalidation_is_never_served() {
        let cache = InMemoryCache::default();
        let v = cache.get("user:1", "f").await.unwrap().version;
        // The put checked its version just before the write landed, and inserts after it.
        cache.invalidate("user:1").await.unwrap();
        cache.values.insert(
            key("user:1", "f"),
            Entry {
                version: v,
                value: "computed before the write".into(),
                ttl: MINUTE,
            },
        );

        let after = cache.get("user:1", "f").await.unwrap();

        assert_eq!(after.value, None);
        assert!(after.version > v);
    }

    #[tokio::test]
    async fn a_replaced_value_lives_for_the_ttl_of_its_last_put() {
        let cache = InMemoryCache::default();
        cache
            .put_if_current("user:1", "f", "a", 0, Duration::from_millis(30))
            .await
            .unwrap();
        cache
            .put_if_current("user:1", "f", "b", 0, MINUTE)
            .await
            .unwrap();

        tokio::time::sleep(Duration::from_millis(60)).await;

        assert_eq!(
            cache.get("user:1", "f").await.unwrap().value.as_deref(),
            Some("b")
        );
    }

    #[test]
    fn keys_of_different_scope_and_field_splits_differ() {
        assert_ne!(key("user:1", "0f"), key("user:10", "f"));
    }
}
