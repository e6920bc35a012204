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
    async fn acquire(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Duration> {
        let mut windows = self.lock();
        let wait = keys
            .iter()
            .filter_map(|k| {
                let w = windows.get(&k.key)?;
                (w.ends > now && w.failures >= k.max_failures).then(|| w.ends - now)
            })
            .max();
        if let Some(wait) = wait {
            // Round up so that a client waiting exactly Retry-After seconds gets through.
            let ms = wait.num_milliseconds().max(0).unsigned_abs();
            return Err(Duration::from_secs(ms.div_ceil(1000).max(1)));
        }
        if windows.len() + keys.len() > self.max_entries {
            windows.retain(|_, w| w.ends > now);
        }
        for k in keys {
            let fresh = Window {
                ends: now + to_chrono(k.window),
                failures: 0,
            };
            if !windows.contains_key(&k.key) && windows.len() >= self.max_entries {
                // Full of live windows: a flood of distinct keys. Do not grow further.
                tracing::warn!("login throttle is full; an attempt went uncounted");
                continue;
            }
            let entry = windows.entry(k.key.clone()).or_insert(fresh);
            if entry.ends <= now {
                *entry = fresh;
            }
            entry.failures = entry.failures.saturating_add(1);
        }
        Ok(())
    }

    async fn forgive(&self, keys: &[ThrottleKey]) {
        let mut windows = self.lock();
        for k in keys {
            if let Some(w) = windows.get_mut(&k.key) {
                w.failures = w.failures.saturating_sub(1);
            }
        }
    }

    async fn reset(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
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
    async fn the_attempt_after_the_allowed_ones_is_refused_until_the_window_ends() {
        let throttle = InMemoryThrottle::default();
        let keys = [key("login:ada", 3)];
        for _ in 0..3 {
            assert!(throttle.acquire(&keys, t0()).await.is_ok());
        }
        let later = t0() + chrono::Duration::seconds(100);
        assert_eq!(
            throttle.acquire(&keys, later).await,
            Err(Duration::from_secs(800))
        );
        let after = t0() + chrono::Duration::seconds(900);
        assert!(throttle.acquire(&keys, after).await.is_ok());
    }

    #[tokio::test]
    async fn a_refused_attempt_counts_against_no_key() {
        let throttle = InMemoryThrottle::default();
        throttle.acquire(&[key("addr:1", 1)], t0()).await.unwrap();
        let both = [key("login:ada", 1), key("addr:1", 1)];
        assert!(throttle.acquire(&both, t0()).await.is_err());
        assert!(throttle.acquire(&[key("login:ada", 1)], t0()).await.is_ok());
    }

    #[tokio::test]
    async fn forgiven_attempts_and_reset_keys_no_longer_count() {
        let throttle = InMemoryThrottle::default();
        let keys = [key("login:ada", 1)];
        throttle.acquire(&keys, t0()).await.unwrap();
        throttle.forgive(&keys).await;
        throttle.acquire(&keys, t0()).await.unwrap();
        throttle.reset("login:ada").await;
        assert!(throttle.acquire(&keys, t0()).await.is_ok());
    }

    #[tokio::test]
    async fn a_full_map_drops_ended_windows_and_never_grows_past_its_bound() {
        let throttle = InMemoryThrottle::new(2);
        throttle
            .acquire(&[key("a", 5), key("b", 5)], t0())
            .await
            .unwrap();
        throttle.acquire(&[key("c", 5)], t0()).await.unwrap();
        assert_eq!(throttle.lock().len(), 2);
        let later = t0() + chrono::Duration::seconds(901);
        throttle.acquire(&[key("c", 5)], later).await.unwrap();
        assert_eq!(throttle.lock().len(), 1);
    }
}
