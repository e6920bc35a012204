//! What every `Cache` adapter promises, written once and run against each adapter.

use std::time::Duration;

use nestegg_ports::Cache;

/// A minute: longer than any test.
pub const MINUTE: Duration = Duration::from_secs(60);

/// The scope's version now.
pub async fn version(cache: &dyn Cache, scope: &str) -> u64 {
    cache.get(scope, "any").await.unwrap().version
}

/// The field's value now.
pub async fn value(cache: &dyn Cache, scope: &str, field: &str) -> Option<String> {
    cache.get(scope, field).await.unwrap().value
}

/// Puts `text` at (scope, field) for `ttl` if the scope is at `v`; whether it was stored.
pub async fn put(cache: &dyn Cache, at: (&str, &str), text: &str, v: u64, ttl: Duration) -> bool {
    cache
        .put_if_current(at.0, at.1, text, v, ttl)
        .await
        .unwrap()
}

/// Expands to a module `$name` of tests, each on a fresh cache from `$cache`, an
/// `Option<impl Cache>` (`None` skips the test, for a backend that is not configured).
macro_rules! cache_contract {
    ($name:ident, $cache:expr) => {
        mod $name {
            use std::time::Duration;

            use nestegg_ports::{Cache, Cached};

            #[allow(unused_imports)]
            use super::*;
            use $crate::contract::{MINUTE, put, value, version};

            const SUMMARY: (&str, &str) = ("user:1", "summary");

            #[tokio::test]
            async fn a_miss_returns_the_scope_version_and_no_value() {
                let Some(cache) = $cache else { return };

                let first = cache.get("user:1", "summary").await.unwrap();
                cache.invalidate("user:1").await.unwrap();
                let second = cache.get("user:1", "summary").await.unwrap();

                assert_eq!(
                    first,
                    Cached {
                        version: 0,
                        value: None
                    }
                );
                assert_eq!(second.value, None);
                assert!(second.version > first.version, "{second:?}");
            }

            #[tokio::test]
            async fn a_value_put_at_the_current_version_is_read_back() {
                let Some(cache) = $cache else { return };
                let miss = cache.get("user:1", "summary").await.unwrap();

                let stored = put(&cache, SUMMARY, "{\"n\":1}", miss.version, MINUTE).await;
                let hit = cache.get("user:1", "summary").await.unwrap();

                assert!(stored);
                assert_eq!(
                    hit,
                    Cached {
                        version: miss.version,
                        value: Some("{\"n\":1}".into())
                    }
                );
            }

            #[tokio::test]
            async fn a_put_with_a_version_read_before_an_invalidation_is_refused_and_not_stored() {
                let Some(cache) = $cache else { return };
                let v = version(&cache, "user:1").await;
                assert!(put(&cache, SUMMARY, "old", v, MINUTE).await);
                cache.invalidate("user:1").await.unwrap();

                let stored = put(&cache, SUMMARY, "stale", v, MINUTE).await;
                let after = cache.get("user:1", "summary").await.unwrap();

                assert!(!stored);
                assert_eq!(after.value, None);
                assert_ne!(after.version, v);
            }

            #[tokio::test]
            async fn a_write_racing_a_reader_keeps_the_reader_value_out() {
                let Some(cache) = $cache else { return };
                // The reader misses and starts computing with the version it read...
                let read = cache.get("user:1", "summary").await.unwrap();
                // ...while a write lands and invalidates the scope.
                cache.invalidate("user:1").await.unwrap();

                let text = "computed before the write";
                let stored = put(&cache, SUMMARY, text, read.version, MINUTE).await;
                let next = cache.get("user:1", "summary").await.unwrap();

                assert!(!stored);
                assert_eq!(next.value, None);
                assert!(next.version > read.version, "{next:?}");
            }

            #[tokio::test]
            async fn invalidating_a_scope_drops_all_its_fields_and_no_other_scope_fields() {
                let Some(cache) = $cache else { return };
                for at in [("user:1", "a"), ("user:1", "b"), ("user:2", "a")] {
                    let v = version(&cache, at.0).await;
                    assert!(put(&cache, at, "x", v, MINUTE).await);
                }

                cache.invalidate("user:1").await.unwrap();

                assert_eq!(value(&cache, "user:1", "a").await, None);
                assert_eq!(value(&cache, "user:1", "b").await, None);
                assert_eq!(value(&cache, "user:2", "a").await.as_deref(), Some("x"));
            }

            #[tokio::test]
            async fn a_value_reads_as_missing_once_its_ttl_has_passed() {
                let Some(cache) = $cache else { return };
                let v = version(&cache, "user:1").await;
                put(&cache, SUMMARY, "x", v, Duration::from_millis(50)).await;
                let fresh = cache.get("user:1", "summary").await.unwrap();

                // Redis expires keys on its own clock: leave it a margin over the TTL.
                tokio::time::sleep(Duration::from_millis(150)).await;
                let expired = cache.get("user:1", "summary").await.unwrap();

                assert_eq!(fresh.value.as_deref(), Some("x"));
                assert_eq!(expired.value, None);
                assert_eq!(expired.version, v);
            }

            #[tokio::test]
            async fn each_value_expires_on_its_own_ttl_whatever_is_stored_after_it() {
                let Some(cache) = $cache else { return };
                let v = version(&cache, "user:1").await;
                put(
                    &cache,
                    ("user:1", "short"),
                    "s",
                    v,
                    Duration::from_millis(50),
                )
                .await;
                // A later put in the same scope must not push the first value's expiry on.
                put(&cache, ("user:1", "long"), "l", v, MINUTE).await;

                tokio::time::sleep(Duration::from_millis(150)).await;

                assert_eq!(value(&cache, "user:1", "short").await, None);
                assert_eq!(value(&cache, "user:1", "long").await.as_deref(), Some("l"));
            }

            #[tokio::test]
            async fn a_value_stored_again_after_an_invalidation_is_served_at_the_new_version() {
                let Some(cache) = $cache else { return };
                let old = version(&cache, "user:1").await;
                put(&cache, SUMMARY, "before", old, MINUTE).await;
                cache.invalidate("user:1").await.unwrap();

                let new = version(&cache, "user:1").await;
                let stored = put(&cache, SUMMARY, "after", new, MINUTE).await;
                let hit = cache.get("user:1", "summary").await.unwrap();

                assert!(stored);
                assert_eq!(
                    hit,
                    Cached {
                        version: new,
                        value: Some("after".into())
                    }
                );
            }

            #[tokio::test]
            async fn values_and_fields_of_any_text_are_read_back_exactly() {
                let Some(cache) = $cache else { return };
                let v = version(&cache, "user:1").await;
                // Colons and digits where an adapter might keep its own bookkeeping.
                let text = "12:{\"k\":\"v:w\"}\n\u{e9}";

                put(&cache, ("user:1", "a:b:c"), text, v, MINUTE).await;

                assert_eq!(
                    value(&cache, "user:1", "a:b:c").await.as_deref(),
                    Some(text)
                );
                assert_eq!(value(&cache, "user:1", "a:b").await, None);
            }
        }
    };
}
