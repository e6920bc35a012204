//! Login throttles: in process memory (a bounded moka cache) and in Redis (shared).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis;
use moka::Expiry;
use moka::policy::EvictionPolicy;
use nestegg_ports::throttle::PENDING_TIMEOUT;
use nestegg_ports::{LoginThrottle, RepoError, ThrottleCounter, ThrottleKey, Throttled};

use crate::redis::RedisStore;

/// One key's counter and the window it was made for (its entry expires with the window).
#[derive(Debug, Clone, Copy)]
struct Counter {
    count: ThrottleCounter,
    window: Duration,
}

/// Entries leave the cache when their window ends; an update keeps the window's end.
struct WindowExpiry;

impl Expiry<String, Counter> for WindowExpiry {
    fn expire_after_create(&self, _: &String, value: &Counter, _: Instant) -> Option<Duration> {
        Some(value.window)
    }
}

/// What one entry costs, roughly: the key's text, the counter and moka's own bookkeeping.
#[allow(clippy::ptr_arg)] // moka's weigher signature takes the key type by reference.
fn weigh(key: &String, _: &Counter) -> u32 {
    u32::try_from(key.len() + std::mem::size_of::<Counter>() + 96).unwrap_or(u32::MAX)
}

/// Counters in a bounded moka cache, weighed in bytes, each expiring with its window.
///
/// When the budget is reached the least recently used counters are evicted (LRU, not
/// moka's default TinyLFU, which may refuse to admit a new key and so leave it uncounted):
/// a flood of distinct keys makes the throttle forget old, idle keys, never stop counting
/// the ones being attacked now.
#[derive(Debug)]
pub struct InMemoryThrottle {
    counters: moka::sync::Cache<String, Counter>,
    // The check and the count of several keys must be one step; moka is atomic per key only.
    step: Mutex<()>,
}

impl Default for InMemoryThrottle {
    /// A 16 MiB budget: about 100,000 keys.
    fn default() -> Self {
        Self::new(16 * 1024 * 1024)
    }
}

impl InMemoryThrottle {
    /// A throttle that keeps at most about `max_bytes` of counters.
    #[must_use]
    pub fn new(max_bytes: u64) -> Self {
        Self {
            counters: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(weigh)
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(WindowExpiry)
                .build(),
            step: Mutex::new(()),
        }
    }

    /// The bytes held by counters (after pending evictions are done), for tests and metrics.
    #[must_use]
    pub fn weighted_size(&self) -> u64 {
        self.counters.run_pending_tasks();
        self.counters.weighted_size()
    }

    fn step(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guard protects no data of its own, so a panic elsewhere cannot leave it broken.
        self.step
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key's counter in its current window (a fresh one when the last window ended).
    fn current(&self, k: &ThrottleKey, now: DateTime<Utc>) -> ThrottleCounter {
        ThrottleCounter::at(self.counters.get(&k.key).map(|c| c.count), k, now)
    }

    fn store(&self, k: &ThrottleKey, count: ThrottleCounter) {
        if self
            .counters
            .get(&k.key)
            .is_some_and(|old| old.count.ends != count.ends)
        {
            // A new window replaces the entry, so that its expiry starts again too.
            self.counters.invalidate(&k.key);
        }
        self.counters.insert(
            k.key.clone(),
            Counter {
                count,
                window: k.window,
            },
        );
    }

    fn settle(&self, keys: &[ThrottleKey], now: DateTime<Utc>, failed: bool) {
        let _step = self.step();
        for k in keys {
            match self.current(k, now).settled(failed) {
                Some(c) => self.store(k, c),
                // Nothing left to remember: free the entry for others.
                None => self.counters.invalidate(&k.key),
            }
        }
    }
}

/// Seconds to announce for a wait, rounded up so that waiting exactly that long is enough.
fn whole_seconds(ms: u64) -> Duration {
    Duration::from_secs(ms.div_ceil(1000).max(1))
}

#[async_trait]
impl LoginThrottle for InMemoryThrottle {
    async fn acquire(
        &self,
        keys: &[ThrottleKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<u32>, Throttled> {
        let _step = self.step();
        let counters: Vec<ThrottleCounter> = keys.iter().map(|k| self.current(k, now)).collect();
        ThrottleCounter::judge(keys.iter().zip(&counters), now)?;
        for (k, c) in keys.iter().zip(&counters) {
            self.store(k, c.admitted(now));
        }
        Ok(counters.iter().map(|c| c.failures).collect())
    }

    async fn fail(&self, keys: &[ThrottleKey], now: DateTime<Utc>) {
        self.settle(keys, now, true);
    }

    async fn forgive(&self, keys: &[ThrottleKey], now: DateTime<Utc>) {
        self.settle(keys, now, false);
    }

    async fn pause(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
}

/// Refuses (`{1, wait ms}`) when a key's failures reached its limit, asks to come back
/// (`{2}`) when failures and pending attempts together did, else counts one pending attempt
/// on every key, starting a key's window on its first attempt, and answers `{0, 0, failures…}`.
/// One script, so the check and the count are atomic across instances.
/// KEYS: the counters (hashes of `f` failures, `p` pending, `pu` ms until which pending
/// counts); ARGV: now ms, pending timeout ms, then (limit, window ms) per key.
const ACQUIRE: &str = r"
local now = tonumber(ARGV[1])
local wait, busy, failures, pending = 0, false, {}, {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'f', 'p', 'pu')
  local f, p = tonumber(v[1] or '0'), tonumber(v[2] or '0')
  if tonumber(v[3] or '0') <= now then p = 0 end
  local limit = tonumber(ARGV[2 * i + 1])
  if f >= limit then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = tonumber(ARGV[2 * i + 2]) end
    if ttl > wait then wait = ttl end
  elseif f + p >= limit then
    busy = true
  end
  failures[i], pending[i] = f, p
end
if wait > 0 then return {1, wait} end
if busy then return {2, 0} end
local reply = {0, 0}
for i, key in ipairs(KEYS) do
  local fresh = redis.call('EXISTS', key) == 0
  redis.call('HSET', key, 'f', failures[i], 'p', pending[i] + 1, 'pu', now + tonumber(ARGV[2]))
  if fresh then redis.call('PEXPIRE', key, ARGV[2 * i + 2]) end
  reply[i + 2] = failures[i]
end
return reply
";

/// Settles one pending attempt per key: ARGV[1] is 1 for a failure, 0 to forgive; then the
/// window ms per key, for a failure whose key expired while it was judged (a new window).
const SETTLE: &str = r"
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    if tonumber(redis.call('HGET', key, 'p') or '0') > 0 then
      redis.call('HINCRBY', key, 'p', -1)
    end
    if ARGV[1] == '1' then redis.call('HINCRBY', key, 'f', 1) end
  elseif ARGV[1] == '1' then
    redis.call('HSET', key, 'f', 1, 'p', 0)
    redis.call('PEXPIRE', key, ARGV[i + 1])
  end
end
return 0
";

/// Failed-login counters in Redis: one hash per counter, expiring with its window, so every
/// instance sees the same counts and Redis's own memory policy bounds them. When Redis is down
/// the throttle lets logins through (and logs it) rather than locking every user out.
#[derive(Debug, Clone)]
pub struct RedisThrottle {
    store: RedisStore,
}

impl RedisThrottle {
    /// A throttle over `store`.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        Self { store }
    }

    async fn eval(
        &self,
        script: &str,
        keys: &[ThrottleKey],
        args: &[u64],
    ) -> Result<Vec<u64>, RepoError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(keys.len());
        for k in keys {
            cmd.arg(self.store.key(&k.key));
        }
        for a in args {
            cmd.arg(*a);
        }
        self.store.run::<Vec<u64>>(&cmd).await
    }

    async fn settle(&self, keys: &[ThrottleKey], failed: bool) {
        let args: Vec<u64> = std::iter::once(u64::from(failed))
            .chain(keys.iter().map(|k| window_ms(k.window)))
            .collect();
        if let Err(e) = self.eval(SETTLE, keys, &args).await {
            tracing::warn!(error = %e, "login throttle unavailable; an attempt went unsettled");
        }
    }
}

/// A window in ms for PEXPIRE, which refuses 0.
fn window_ms(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl LoginThrottle for RedisThrottle {
    async fn acquire(
        &self,
        keys: &[ThrottleKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<u32>, Throttled> {
        let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let args: Vec<u64> = [now_ms, window_ms(PENDING_TIMEOUT)]
            .into_iter()
            .chain(
                keys.iter()
                    .flat_map(|k| [u64::from(k.max_failures), window_ms(k.window)]),
            )
            .collect();
        match self.eval(ACQUIRE, keys, &args).await.as_deref() {
            Ok([0, _, failures @ ..]) => Ok(failures
                .iter()
                .map(|f| u32::try_from(*f).unwrap_or(u32::MAX))
                .collect()),
            Ok([2, ..]) => Err(Throttled::Busy),
            Ok([_, wait_ms, ..]) => Err(Throttled::Refused {
                retry_after: whole_seconds(*wait_ms),
            }),
            Ok(other) => {
                tracing::warn!(reply = ?other, "login throttle answered oddly; allowing the attempt");
                Ok(vec![0; keys.len()])
            }
            Err(e) => {
                tracing::warn!(error = %e, "login throttle unavailable; allowing the attempt");
                Ok(vec![0; keys.len()])
            }
        }
    }

    async fn fail(&self, keys: &[ThrottleKey], _now: DateTime<Utc>) {
        self.settle(keys, true).await;
    }

    async fn forgive(&self, keys: &[ThrottleKey], _now: DateTime<Utc>) {
        self.settle(keys, false).await;
    }

    async fn pause(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn key(name: &str, max: u32) -> ThrottleKey {
        ThrottleKey {
            key: name.into(),
            max_failures: max,
            window: Duration::from_secs(900),
        }
    }

    fn to_chrono(d: Duration) -> chrono::Duration {
        chrono::Duration::from_std(d).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    async fn fail_once(throttle: &InMemoryThrottle, keys: &[ThrottleKey], at: DateTime<Utc>) {
        throttle.acquire(keys, at).await.unwrap();
        throttle.fail(keys, at).await;
    }

    #[tokio::test]
    async fn the_attempt_after_the_allowed_failures_is_refused_until_the_window_ends() {
        let throttle = InMemoryThrottle::default();
        let keys = [key("pair:ada", 3)];
        for _ in 0..3 {
            fail_once(&throttle, &keys, t0()).await;
        }
        let later = t0() + chrono::Duration::seconds(100);
        assert_eq!(
            throttle.acquire(&keys, later).await,
            Err(Throttled::Refused {
                retry_after: Duration::from_secs(800)
            })
        );
        let after = t0() + chrono::Duration::seconds(900);
        assert_eq!(throttle.acquire(&keys, after).await, Ok(vec![0]));
    }

    #[tokio::test]
    async fn attempts_being_judged_make_the_next_wait_and_forgiven_ones_never_count() {
        let throttle = InMemoryThrottle::default();
        let keys = [key("pair:ada", 2)];
        throttle.acquire(&keys, t0()).await.unwrap();
        throttle.acquire(&keys, t0()).await.unwrap();
        assert_eq!(throttle.acquire(&keys, t0()).await, Err(Throttled::Busy));
        // An attempt never settled (its request dropped) stops counting after a while.
        let later = t0() + to_chrono(PENDING_TIMEOUT);
        assert_eq!(throttle.acquire(&keys, later).await, Ok(vec![0]));
        throttle.forgive(&keys, later).await;
        for _ in 0..10 {
            throttle.acquire(&keys, t0()).await.unwrap();
            throttle.forgive(&keys, t0()).await;
        }
        assert_eq!(throttle.acquire(&keys, t0()).await, Ok(vec![0]));
    }

    #[tokio::test]
    async fn a_refused_attempt_counts_against_no_key_and_failures_are_reported_per_key() {
        let throttle = InMemoryThrottle::default();
        fail_once(&throttle, &[key("addr:1", 1)], t0()).await;
        let both = [key("user:ada", ThrottleKey::NO_LIMIT), key("addr:1", 1)];
        assert!(matches!(
            throttle.acquire(&both, t0()).await,
            Err(Throttled::Refused { .. })
        ));
        let login = [key("user:ada", ThrottleKey::NO_LIMIT)];
        assert_eq!(throttle.acquire(&login, t0()).await, Ok(vec![0]));
        throttle.fail(&login, t0()).await;
        assert_eq!(throttle.acquire(&login, t0()).await, Ok(vec![1]));
    }

    #[tokio::test]
    async fn a_key_without_a_limit_is_never_refused() {
        let throttle = InMemoryThrottle::default();
        let keys = [key("user:ada", ThrottleKey::NO_LIMIT)];
        for _ in 0..1000 {
            fail_once(&throttle, &keys, t0()).await;
        }
        assert_eq!(throttle.acquire(&keys, t0()).await, Ok(vec![1000]));
    }

    #[tokio::test]
    async fn a_flood_of_distinct_keys_stays_within_the_budget_and_the_attacked_key_still_counts() {
        let budget = 64 * 1024;
        let throttle = InMemoryThrottle::new(budget);
        let attacked = [key("pair:ada:203.0.113.7", 5)];
        for _ in 0..5 {
            fail_once(&throttle, &attacked, t0()).await;
        }
        for round in 0..20_000u32 {
            throttle
                .acquire(&[key(&format!("addr:flood-{round}"), 5)], t0())
                .await
                .unwrap();
            if round % 100 == 0 {
                assert!(
                    matches!(
                        throttle.acquire(&attacked, t0()).await,
                        Err(Throttled::Refused { .. })
                    ),
                    "round {round}: the attacked key lost its failures"
                );
            }
        }
        assert!(
            throttle.weighted_size() <= budget,
            "{}",
            throttle.weighted_size()
        );
        // A brand-new key is still counted when the cache is full: it never fails open.
        let fresh = [key("pair:bob:198.51.100.1", 1)];
        fail_once(&throttle, &fresh, t0()).await;
        assert!(throttle.acquire(&fresh, t0()).await.is_err());
    }
}
