//! Failed-login counting in process memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_ports::{LoginThrottle, ThrottleKey};

#[derive(Debug, Clone, Copy)]
struct Window {
    ends: DateTime<Utc>,
    failures: u32,
}

/// Fixed-window failure counters in a map. The map is pruned of ended windows whenever it
/// grows past a bound, so a flood of distinct logins cannot grow it without limit.
#[derive(Debug)]
pub struct InMemoryThrottle {
    windows: Mutex<HashMap<String, Window>>,
    max_entries: usize,
}

impl Default for InMemoryThrottle {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl InMemoryThrottle {
    /// A throttle that prunes when it holds more than `max_entries` keys.
    #[must_use]
    pub fn new(max_entries: usize) -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            max_entries,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        // A panic while holding the lock cannot leave the counters inconsistent in a way
        // that matters more than refusing every login would, so keep going.
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl LoginThrottle for InMemoryThrottle {
    async fn check(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Duration> {
        let windows = self.lock();
        let wait = keys
            .iter()
            .filter_map(|k| {
                let w = windows.get(&k.key)?;
                (w.ends > now && w.failures >= k.max_failures).then(|| w.ends - now)
            })
            .max();
        match wait {
            // Round up so that a client waiting exactly Retry-After seconds gets through.
            Some(wait) => {
                let ms = wait.num_milliseconds().max(0).unsigned_abs();
                Err(Duration::from_secs(ms.div_ceil(1000).max(1)))
            }
            None => Ok(()),
        }
    }

    async fn record_failure(&self, keys: &[ThrottleKey], now: DateTime<Utc>) {
        let mut windows = self.lock();
        if windows.len() >= self.max_entries {
            windows.retain(|_, w| w.ends > now);
        }
        for k in keys {
            let entry = windows.entry(k.key.clone()).or_insert(Window {
                ends: now + to_chrono(k.window),
                failures: 0,
            });
            if entry.ends <= now {
                *entry = Window {
                    ends: now + to_chrono(k.window),
                    failures: 0,
                };
            }
            entry.failures = entry.failures.saturating_add(1);
        }
    }

    async fn reset(&self, key: &str) {
        self.lock().remove(key);
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

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn the_attempt_after_the_allowed_failures_is_refused_until_the_window_ends() {
        let throttle = InMemoryThrottle::default();
        let keys = [key("login:ada", 3)];
        for _ in 0..3 {
            assert!(throttle.check(&keys, t0()).await.is_ok());
            throttle.record_failure(&keys, t0()).await;
        }
        let later = t0() + chrono::Duration::seconds(100);
        assert_eq!(
            throttle.check(&keys, later).await,
            Err(Duration::from_secs(800))
        );
        let after = t0() + chrono::Duration::seconds(900);
        assert!(throttle.check(&keys, after).await.is_ok());
    }

    #[tokio::test]
    async fn each_key_has_its_own_limit_and_the_longest_wait_wins() {
        let throttle = InMemoryThrottle::default();
        throttle.record_failure(&[key("addr:1", 1)], t0()).await;
        let keys = [key("login:ada", 5), key("addr:1", 1)];
        assert!(throttle.check(&keys, t0()).await.is_err());
        assert!(throttle.check(&[key("login:ada", 5)], t0()).await.is_ok());
    }

    #[tokio::test]
    async fn a_reset_forgets_the_failures_of_one_key() {
        let throttle = InMemoryThrottle::default();
        let keys = [key("login:ada", 1)];
        throttle.record_failure(&keys, t0()).await;
        throttle.reset("login:ada").await;
        assert!(throttle.check(&keys, t0()).await.is_ok());
    }

    #[tokio::test]
    async fn ended_windows_are_pruned_when_the_map_is_full() {
        let throttle = InMemoryThrottle::new(2);
        throttle
            .record_failure(&[key("a", 1), key("b", 1)], t0())
            .await;
        let later = t0() + chrono::Duration::seconds(901);
        throttle.record_failure(&[key("c", 1)], later).await;
        assert_eq!(throttle.lock().len(), 1);
    }
}
