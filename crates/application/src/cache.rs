//! Cached reports per user, never stale after a write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nestegg_ports::{Cache, CacheLookup, Cached, Metrics, NoMetrics};
use serde::Serialize;
use uuid::Uuid;

use crate::error::AppError;

/// Reads through the cache and invalidates a user's reports after their writes. A cache
/// outage never fails a request: reads fall back to computing, and the outage is logged.
///
/// An invalidation that cannot reach the cache is remembered and tried again (before the next
/// lookup, and whenever [`ReportCache::retry_invalidations`] is called) until it gets through.
/// Until then the user's cached values are neither read nor stored: a cache that comes back
/// with what it held (Redis restarted with its data, or reachable again after a network
/// fault) still holds values from before the write, under a version the write never bumped.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct ReportCache {
    cache: Arc<dyn Cache>,
    ttl: Duration,
    metrics: Arc<dyn Metrics>,
    outstanding: Arc<Outstanding>,
}

/// The most users whose invalidation is remembered; past that, every cached value is
/// distrusted until the cache is reachable again and a TTL has passed.
const MAX_OUTSTANDING: usize = 100_000;

/// Invalidations that did not reach the cache.
#[derive(Default)]
struct Outstanding {
    state: Mutex<OutstandingState>,
    /// Whether a task is retrying them (one at a time).
    retrying: AtomicBool,
}

#[derive(Default)]
struct OutstandingState {
    /// Each user with the number of the latest failed invalidation, so that a retry that
    /// succeeds forgets the user only if no later one failed meanwhile.
    users: HashMap<Uuid, u64>,
    /// Failed invalidations so far.
    failures: u64,
    /// Some users were not remembered ([`MAX_OUTSTANDING`]): no cached value is trusted.
    overflowed: bool,
    /// After an overflow: no cached value is trusted before this (a TTL after the cache
    /// was reachable again, when every value from before has expired).
    distrust_until: Option<Instant>,
}

impl Outstanding {
    fn lock(&self) -> MutexGuard<'_, OutstandingState> {
        // A panic while holding this lock leaves the map whole; carry on with it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, user_id: Uuid) {
        let mut state = self.lock();
        state.failures += 1;
        let n = state.failures;
        if state.users.len() < MAX_OUTSTANDING || state.users.contains_key(&user_id) {
            state.users.insert(user_id, n);
        } else {
            state.overflowed = true;
        }
    }

    /// Whether the user's cached values may be trusted now.
    fn trusts(&self, user_id: Uuid) -> bool {
        let mut state = self.lock();
        if let Some(until) = state.distrust_until {
            if Instant::now() < until {
                return false;
            }
            state.distrust_until = None;
        }
        !state.overflowed && !state.users.contains_key(&user_id)
    }

    fn is_empty(&self) -> bool {
        let state = self.lock();
        state.users.is_empty() && !state.overflowed
    }
}

/// What a cache lookup found: the text, or the version to store a computed value under
/// (`None` when the cache is unavailable, so nothing is stored).
enum Lookup {
    Hit(String),
    Miss(Option<u64>),
}

fn scope(user_id: Uuid) -> String {
    format!("user:{user_id}")
}

impl ReportCache {
    /// A cache keeping values for `ttl` at most.
    #[must_use]
    pub fn new(cache: Arc<dyn Cache>, ttl: Duration) -> Self {
        Self {
            cache,
            ttl,
            metrics: Arc::new(NoMetrics),
            outstanding: Arc::default(),
        }
    }

    /// The same cache, counting each lookup (hit, miss, unavailable) in `metrics`.
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// Tries again the invalidations that did not reach the cache, one after another, until
    /// one fails. Whether none is left outstanding (`false` also when another task is at it).
    pub async fn retry_invalidations(&self) -> bool {
        if self.outstanding.is_empty() {
            return true;
        }
        if self.outstanding.retrying.swap(true, Ordering::AcqRel) {
            return false;
        }
        let users: Vec<(Uuid, u64)> = {
            let state = self.outstanding.lock();
            state.users.iter().map(|(u, n)| (*u, *n)).collect()
        };
        let mut reached = true;
        for (user_id, failure) in users {
            if let Err(e) = self.cache.invalidate(&scope(user_id)).await {
                tracing::debug!(error = %e, "cache still unreachable; invalidations outstanding");
                reached = false;
                break;
            }
            let mut state = self.outstanding.lock();
            if state.users.get(&user_id) == Some(&failure) {
                state.users.remove(&user_id);
            }
        }
        let done = {
            let mut state = self.outstanding.lock();
            if reached && state.overflowed {
                // Users beyond the bound were not remembered: distrust every value until all
                // those stored before now have expired.
                state.overflowed = false;
                state.distrust_until = Some(Instant::now() + self.ttl);
            }
            if reached && state.users.is_empty() {
                tracing::info!("cache reachable again; outstanding invalidations done");
            }
            state.users.is_empty() && !state.overflowed
        };
        self.outstanding.retrying.store(false, Ordering::Release);
        done
    }

    /// The cached JSON text of `field` for the user, or that of `compute`'s value, which is
    /// then cached unless a write invalidated the user's reports while it ran. The text is the
    /// caller's response shape, so a hit is served without parsing and serializing it again
    /// (the hot path of reports).
    ///
    /// # Errors
    /// Those of `compute`, or [`AppError::Unexpected`] if the value cannot be serialized.
    pub async fn get_or_compute_json<T: Serialize>(
        &self,
        user_id: Uuid,
        field: &str,
        compute: impl AsyncFnOnce() -> Result<T, AppError>,
    ) -> Result<String, AppError> {
        let version = match self.lookup(user_id, field).await {
            Lookup::Hit(text) => return Ok(text),
            Lookup::Miss(version) => version,
        };
        let text = Self::computed_json(compute).await?;
        if let Some(version) = version {
            self.store(&scope(user_id), field, &text, version).await;
        }
        Ok(text)
    }

    /// As [`ReportCache::get_or_compute_json`] when `worth_caching`; otherwise the JSON text
    /// of `compute`'s value, without reading or filling the cache.
    ///
    /// # Errors
    /// As [`ReportCache::get_or_compute_json`].
    pub async fn get_or_compute_json_if<T: Serialize>(
        &self,
        worth_caching: bool,
        user_id: Uuid,
        field: &str,
        compute: impl AsyncFnOnce() -> Result<T, AppError>,
    ) -> Result<String, AppError> {
        if worth_caching {
            self.get_or_compute_json(user_id, field, compute).await
        } else {
            Self::computed_json(compute).await
        }
    }

    async fn computed_json<T: Serialize>(
        compute: impl AsyncFnOnce() -> Result<T, AppError>,
    ) -> Result<String, AppError> {
        let value = compute().await?;
        serde_json::to_string(&value).map_err(|e| AppError::Unexpected(e.into()))
    }

    async fn lookup(&self, user_id: Uuid, field: &str) -> Lookup {
        let lookup = self.read(user_id, field).await;
        self.metrics.report_cache(match &lookup {
            Lookup::Hit(_) => CacheLookup::Hit,
            Lookup::Miss(Some(_)) => CacheLookup::Miss,
            Lookup::Miss(None) => CacheLookup::Unavailable,
        });
        lookup
    }

    async fn read(&self, user_id: Uuid, field: &str) -> Lookup {
        self.retry_invalidations().await;
        if !self.outstanding.trusts(user_id) {
            // Its values may predate a write whose invalidation has not reached the cache.
            return Lookup::Miss(None);
        }
        match self.cache.get(&scope(user_id), field).await {
            Ok(Cached {
                value: Some(text), ..
            }) => Lookup::Hit(text),
            Ok(Cached {
                version,
                value: None,
            }) => Lookup::Miss(Some(version)),
            Err(e) => {
                tracing::warn!(error = %e, "cache unavailable; computing from the database");
                Lookup::Miss(None)
            }
        }
    }

    async fn store(&self, scope: &str, field: &str, text: &str, version: u64) {
        if let Err(e) = self
            .cache
            .put_if_current(scope, field, text, version, self.ttl)
            .await
        {
            tracing::warn!(error = %e, "cache unavailable; value not stored");
        }
    }

    /// Drops the user's cached reports; call after every write that changes them. If the
    /// cache cannot be reached, the invalidation is remembered and tried again.
    pub async fn invalidate(&self, user_id: Uuid) {
        if let Err(e) = self.cache.invalidate(&scope(user_id)).await {
            tracing::error!(error = %e, %user_id, "cache invalidation failed; it will be retried");
            self.outstanding.remember(user_id);
        }
    }

    /// What a write of the user's answered, after dropping their cached reports if it
    /// succeeded (a failed write changed nothing they show).
    pub(crate) async fn after_write<T>(
        &self,
        user_id: Uuid,
        written: Result<T, impl Into<AppError>>,
    ) -> Result<T, AppError> {
        let value = written.map_err(Into::into)?;
        self.invalidate(user_id).await;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use mockall::predicate::eq;
    use nestegg_ports::cache::MockCache;
    use nestegg_ports::{CacheError, CacheLookup};
    use uuid::Uuid;

    use crate::error::AppError;
    use crate::test_support::{Counted, Recorded, cached, report_cache as cache};

    use super::ReportCache;

    /// The cache being unreachable.
    fn down() -> CacheError {
        CacheError::Unavailable("down".into())
    }

    /// The user's `f` from `cache`, or the JSON of `value` where it has to be computed.
    async fn json_of(cache: &ReportCache, user: Uuid, value: impl serde::Serialize) -> String {
        cache
            .get_or_compute_json(user, "f", || async { Ok(value) })
            .await
            .unwrap()
    }

    /// The user's `f` from `cache`, where computing it would be a failure.
    async fn cached_json(cache: &ReportCache, user: Uuid) -> String {
        cache
            .get_or_compute_json(user, "f", || async {
                Err::<String, _>(AppError::NotFound("should not be computed"))
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_hit_is_served_without_computing() {
        let mut mock = MockCache::new();
        mock.expect_get()
            .returning(|_, _| cached(3, Some("\"cached\"")));
        mock.expect_put_if_current().never();
        assert_eq!(cached_json(&cache(mock), Uuid::nil()).await, "\"cached\"");
    }

    #[tokio::test]
    async fn a_miss_is_computed_and_stored_under_the_version_read_before() {
        let mut mock = MockCache::new();
        let user = Uuid::now_v7();
        mock.expect_get().returning(|_, _| cached(7, None));
        mock.expect_put_if_current()
            .with(
                eq(format!("user:{user}")),
                eq("f"),
                eq("42"),
                eq(7),
                eq(Duration::from_secs(60)),
            )
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        assert_eq!(json_of(&cache(mock), user, 42).await, "42");
    }

    #[tokio::test]
    async fn an_unavailable_cache_computes_and_stores_nothing() {
        let mut mock = MockCache::new();
        mock.expect_get().returning(|_, _| Err(down()));
        mock.expect_put_if_current().never();
        assert_eq!(json_of(&cache(mock), Uuid::nil(), 5).await, "5");
    }

    #[tokio::test]
    async fn a_value_not_worth_caching_is_computed_without_touching_the_cache() {
        let mut mock = MockCache::new();
        mock.expect_get().never();
        mock.expect_put_if_current().never();
        let text = cache(mock)
            .get_or_compute_json_if(false, Uuid::nil(), "f", || async { Ok([1, 2]) })
            .await
            .unwrap();
        assert_eq!(text, "[1,2]");
    }

    #[tokio::test]
    async fn each_lookup_is_counted_as_a_hit_a_miss_or_unavailable_and_uncached_reports_not_at_all()
    {
        let mut mock = MockCache::new();
        let mut answers = vec![Err(down()), cached(2, None), cached(2, Some("1"))];
        mock.expect_get()
            .times(3)
            .returning(move |_, _| answers.pop().unwrap());
        mock.expect_put_if_current()
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let recorded = Arc::new(Recorded::default());
        let cache = cache(mock).with_metrics(recorded.clone());
        for worth_caching in [true, true, true, false] {
            cache
                .get_or_compute_json_if(worth_caching, Uuid::nil(), "f", || async { Ok(1) })
                .await
                .unwrap();
        }
        assert_eq!(
            recorded.calls(),
            [
                Counted::Cache(CacheLookup::Hit),
                Counted::Cache(CacheLookup::Miss),
                Counted::Cache(CacheLookup::Unavailable),
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_invalidation_does_not_fail_the_write() {
        let mut mock = MockCache::new();
        mock.expect_invalidate().times(1).returning(|_| Err(down()));
        cache(mock).invalidate(Uuid::nil()).await;
    }

    #[tokio::test]
    async fn a_user_whose_invalidation_failed_is_computed_from_the_database_until_a_retry_reaches_the_cache()
     {
        let mut mock = MockCache::new();
        let user = Uuid::now_v7();
        let mut seq = mockall::Sequence::new();
        // The write's invalidation fails; at the next read the cache is still unreachable, so
        // the read is computed and nothing is read from or stored in the cache.
        mock.expect_invalidate()
            .times(2)
            .in_sequence(&mut seq)
            .returning(|_| Err(down()));
        // Then the retry reaches it, and only after that is the cache read again.
        mock.expect_invalidate()
            .with(eq(format!("user:{user}")))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(()));
        mock.expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| cached(9, Some("\"fresh\"")));
        mock.expect_put_if_current().never();
        let cache = cache(mock);
        cache.invalidate(user).await;
        assert_eq!(json_of(&cache, user, "computed").await, "\"computed\"");
        assert_eq!(cached_json(&cache, user).await, "\"fresh\"");
    }

    #[tokio::test]
    async fn an_invalidation_that_fails_again_while_an_earlier_one_is_retried_is_not_forgotten() {
        let mut mock = MockCache::new();
        let user = Uuid::now_v7();
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let cache_slot: std::sync::Arc<std::sync::OnceLock<ReportCache>> =
            std::sync::Arc::default();
        let (counted, slot) = (calls.clone(), cache_slot.clone());
        // 1: the first write's invalidation fails. 2: the retry reaches the cache, but while it
        // runs a second write's invalidation fails. 3: the next read retries again: the user is
        // still outstanding, not forgotten.
        mock.expect_invalidate().returning(move |_| {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            match n {
                1 => Err(down()),
                2 => {
                    // Another write's invalidation fails while this retry is in flight.
                    slot.get().unwrap().outstanding.remember(user);
                    Ok(())
                }
                _ => Ok(()),
            }
        });
        mock.expect_get().returning(|_, _| cached(1, Some("1")));
        let cache = cache(mock);
        cache_slot.set(cache.clone()).ok().unwrap();
        cache.invalidate(user).await;
        json_of(&cache, user, 0).await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        let text = json_of(&cache, user, 0).await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(text, "1");
    }

    #[tokio::test]
    async fn when_more_users_miss_their_invalidation_than_are_remembered_no_value_is_trusted_until_a_ttl_after_the_cache_returns()
     {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        let mut mock = MockCache::new();
        let offline = Arc::new(AtomicBool::new(true));
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let is_down = offline.clone();
        mock.expect_invalidate().returning(move |_| {
            if is_down.load(Ordering::SeqCst) {
                Err(down())
            } else {
                Ok(())
            }
        });
        let counted = reads.clone();
        mock.expect_get().returning(move |_, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            cached(1, Some("1"))
        });
        let ttl = Duration::from_millis(200);
        let cache = ReportCache::new(Arc::new(mock), ttl);
        for _ in 0..=super::MAX_OUTSTANDING {
            cache.invalidate(Uuid::new_v4()).await;
        }
        let someone = Uuid::new_v4();
        assert_eq!(json_of(&cache, someone, 0).await, "0");
        offline.store(false, Ordering::SeqCst);
        assert!(cache.retry_invalidations().await);
        // Reachable again, but users beyond the bound were never remembered.
        assert_eq!(json_of(&cache, someone, 0).await, "0");
        assert_eq!(reads.load(Ordering::SeqCst), 0);
        tokio::time::sleep(ttl).await;
        assert_eq!(json_of(&cache, someone, 0).await, "1");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }
}
