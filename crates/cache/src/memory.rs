//! Versioned report cache in process memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nestegg_ports::{Cache, CacheError, Cached};

#[derive(Debug)]
struct Entry {
    value: String,
    /// `None` when the ttl is too long to represent: the value never expires.
    expires: Option<Instant>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

#[derive(Debug, Default)]
struct Scope {
    /// Invalidations since this scope entered the map; its version is `epoch + counter`.
    counter: u64,
    fields: HashMap<String, Entry>,
}

/// The map and the epoch, under one lock so that a version is always read consistently.
///
/// Why versions never go backwards (so a version read before an invalidation can never match
/// again): a scope's version is `epoch + counter`, and a scope absent from the map has counter
/// 0. `invalidate` raises the counter of a scope in the map, or, when the map is full, the
/// epoch. Forgetting a scope (only once it holds no live field) takes its counter to 0, so the
/// epoch first grows by the largest counter forgotten: every forgotten scope stays at or above
/// the version it had, and every other scope only moves up (a put in flight there is refused,
/// which costs one recomputation and nothing else).
#[derive(Debug, Default)]
struct State {
    epoch: u64,
    scopes: HashMap<String, Scope>,
}

impl State {
    fn version(&self, scope: &str) -> u64 {
        let counter = self.scopes.get(scope).map_or(0, |s| s.counter);
        // 2^64 invalidations cannot happen; saturate rather than wrap back to old versions.
        self.epoch.saturating_add(counter)
    }

    /// Makes room for one more scope if it can: drops expired fields, then scopes left empty.
    fn prune(&mut self, now: Instant) {
        let mut forgotten = 0;
        self.scopes.retain(|_, scope| {
            scope.fields.retain(|_, entry| entry.is_live(now));
            let keep = !scope.fields.is_empty();
            if !keep {
                forgotten = forgotten.max(scope.counter);
            }
            keep
        });
        self.epoch = self.epoch.saturating_add(forgotten);
    }
}

/// Cached values in a map, for a single instance (and for tests).
///
/// Holds at most `max_scopes` scopes. When full it drops expired values and scopes left
/// without values; if every scope still holds live values, a put for a new scope is declined
/// (the caller just keeps its computed value) rather than growing the map.
#[derive(Debug)]
pub struct InMemoryCache {
    state: Mutex<State>,
    max_scopes: usize,
}

impl Default for InMemoryCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl InMemoryCache {
    /// A cache that holds at most `max_scopes` scopes.
    #[must_use]
    pub fn new(max_scopes: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_scopes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under the lock leaves the versions valid at each step (they only grow),
        // so a panic elsewhere while holding it leaves nothing unsafe to read.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `scope` is in the map or could be added to it, pruning if the map is full.
    fn has_room_for(&self, state: &mut State, scope: &str, now: Instant) -> bool {
        if state.scopes.contains_key(scope) || state.scopes.len() < self.max_scopes {
            return true;
        }
        state.prune(now);
        state.scopes.len() < self.max_scopes
    }
}

#[async_trait]
impl Cache for InMemoryCache {
    async fn get(&self, scope: &str, field: &str) -> Result<Cached, CacheError> {
        let now = Instant::now();
        let mut state = self.lock();
        let version = state.version(scope);
        let value = match state.scopes.get_mut(scope) {
            Some(s) => match s.fields.get(field) {
                Some(entry) if entry.is_live(now) => Some(entry.value.clone()),
                Some(_) => {
                    // Expired: free it now instead of waiting for the map to fill up.
                    s.fields.remove(field);
                    None
                }
                None => None,
            },
            None => None,
        };
        Ok(Cached { version, value })
    }

    async fn put_if_current(
        &self,
        scope: &str,
        field: &str,
        value: &str,
        version: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.version(scope) != version {
            return Ok(false);
        }
        if !self.has_room_for(&mut state, scope, now) {
            tracing::warn!("in-memory cache is full; a value went uncached");
            return Ok(false);
        }
        // Pruning may have raised the epoch: the version read above may be stale now.
        if state.version(scope) != version {
            return Ok(false);
        }
        let entry = Entry {
            value: value.to_owned(),
            expires: now.checked_add(ttl),
        };
        state
            .scopes
            .entry(scope.to_owned())
            .or_default()
            .fields
            .insert(field.to_owned(), entry);
        Ok(true)
    }

    async fn invalidate(&self, scope: &str) -> Result<(), CacheError> {
        let now = Instant::now();
        let mut state = self.lock();
        if self.has_room_for(&mut state, scope, now) {
            let s = state.scopes.entry(scope.to_owned()).or_default();
            s.fields.clear();
            s.counter = s.counter.saturating_add(1);
        } else {
            // No room to count this scope on its own, and it holds no value (it is not in
            // the map): moving every version up is the one bump that needs no room.
            state.epoch = state.epoch.saturating_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! What only this cache does; the contract every cache keeps is in `tests/contract`.

    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A cache with room for these scopes only, each holding a value (field `f`) for `ttl`.
    async fn full_cache(scopes: &[&str], ttl: Duration) -> InMemoryCache {
        let cache = InMemoryCache::new(scopes.len());
        for scope in scopes {
            assert!(cache.put_if_current(scope, "f", "x", 0, ttl).await.unwrap());
        }
        cache
    }

    #[tokio::test]
    async fn a_full_cache_never_holds_more_scopes_than_its_bound() {
        let cache = full_cache(&["a", "b"], MINUTE).await;

        let third = cache
            .put_if_current("c", "f", "x", 0, MINUTE)
            .await
            .unwrap();
        cache.invalidate("d").await.unwrap();

        assert!(!third);
        assert_eq!(cache.lock().scopes.len(), 2);
        assert_eq!(
            cache.get("a", "f").await.unwrap().value.as_deref(),
            Some("x")
        );
        assert_eq!(cache.get("c", "f").await.unwrap().value, None);
    }

    #[tokio::test]
    async fn a_full_cache_makes_room_by_dropping_expired_values_and_their_scopes() {
        let cache = full_cache(&["a", "b"], Duration::from_millis(20)).await;
        tokio::time::sleep(Duration::from_millis(40)).await;

        let v = cache.get("c", "f").await.unwrap().version;
        let stored = cache
            .put_if_current("c", "f", "y", v, MINUTE)
            .await
            .unwrap();

        assert!(stored);
        assert_eq!(cache.lock().scopes.len(), 1);
        assert_eq!(
            cache.get("c", "f").await.unwrap().value.as_deref(),
            Some("y")
        );
    }

    #[tokio::test]
    async fn a_forgotten_scope_never_accepts_a_version_read_before_its_invalidation() {
        let cache = InMemoryCache::new(1);
        let before = cache.get("a", "f").await.unwrap().version;
        cache.invalidate("a").await.unwrap();
        cache.invalidate("a").await.unwrap();
        let current = cache.get("a", "f").await.unwrap().version;
        let other = cache.get("b", "f").await.unwrap().version;
        // "b" needs the only slot: "a" holds no value, so it is forgotten.
        cache
            .put_if_current("b", "f", "x", other, MINUTE)
            .await
            .unwrap();
        assert!(!cache.lock().scopes.contains_key("a"));

        let stale = cache
            .put_if_current("a", "f", "x", before, MINUTE)
            .await
            .unwrap();
        let after = cache.get("a", "f").await.unwrap().version;

        assert!(!stale);
        assert!(after >= current, "{after} < {current}");
    }

    #[tokio::test]
    async fn invalidating_a_new_scope_in_a_full_cache_still_refuses_older_versions() {
        let cache = full_cache(&["a"], MINUTE).await;
        let before = cache.get("b", "f").await.unwrap().version;

        cache.invalidate("b").await.unwrap();
        let stored = cache
            .put_if_current("b", "f", "x", before, MINUTE)
            .await
            .unwrap();

        assert!(!stored);
        assert!(cache.get("b", "f").await.unwrap().version > before);
        assert_eq!(cache.lock().scopes.len(), 1);
    }
}
