//! What every `Cache` adapter promises, written once and run against each adapter.

/// Expands to a module `$name` of tests, each on a fresh cache from `$cache`, an
/// `Option<impl Cache>` (`None` skips the test, for a backend that is not configured).
macro_rules! cache_contract {
    ($name:ident, $cache:expr) => {
        mod $name {
            use std::time::Duration;

            use nestegg_ports::{Cache, Cached};

            #[allow(unused_imports)]
            use super::*;

            const MINUTE: Duration = Duration::from_secs(60);

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

                let stored = cache
                    .put_if_current("user:1", "summary", "{\"n\":1}", miss.version, MINUTE)
                    .await
                    .unwrap();
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
                let v = cache.get("user:1", "summary").await.unwrap().version;
                assert!(
                    cache
                        .put_if_current("user:1", "summary", "old", v, MINUTE)
                        .await
                        .unwrap()
                );
                cache.invalidate("user:1").await.unwrap();

                let stored = cache
                    .put_if_current("user:1", "summary", "stale", v, MINUTE)
                    .await
                    .unwrap();
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

                let stored = cache
                    .put_if_current(
                        "user:1",
                        "summary",
                        "computed before the write",
                        read.version,
                        MINUTE,
                    )
                    .await
                    .unwrap();
                let next = cache.get("user:1", "summary").await.unwrap();

                assert!(!stored);
                assert_eq!(next.value, None);
                assert!(next.version > read.version, "{next:?}");
            }

            #[tokio::test]
            async fn invalidating_a_scope_drops_all_its_fields_and_no_other_scope_fields() {
                let Some(cache) = $cache else { return };
                for (scope, field) in [("user:1", "a"), ("user:1", "b"), ("user:2", "a")] {
                    let v = cache.get(scope, field).await.unwrap().version;
                    assert!(
                        cache
                            .put_if_current(scope, field, "x", v, MINUTE)
                            .await
                            .unwrap()
                    );
                }

                cache.invalidate("user:1").await.unwrap();

                assert_eq!(cache.get("user:1", "a").await.unwrap().value, None);
                assert_eq!(cache.get("user:1", "b").await.unwrap().value, None);
                assert_eq!(
                    cache.get("user:2", "a").await.unwrap().value.as_deref(),
                    Some("x")
                );
            }

            #[tokio::test]
            async fn a_value_reads_as_missing_once_its_ttl_has_passed() {
                let Some(cache) = $cache else { return };
                let v = cache.get("user:1", "summary").await.unwrap().version;
                cache
                    .put_if_current("user:1", "summary", "x", v, Duration::from_millis(50))
                    .await
                    .unwrap();
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
                let v = cache.get("user:1", "short").await.unwrap().version;
                cache
                    .put_if_current("user:1", "short", "s", v, Duration::from_millis(50))
                    .await
                    .unwrap();
                // A later put in the same scope must not push the first value's expiry on.
                cache
                    .put_if_current("user:1", "long", "l", v, MINUTE)
                    .await
                    .unwrap();

                tokio::time::sleep(Duration::from_millis(150)).await;

                assert_eq!(cache.get("user:1", "short").await.unwrap().value, None);
                assert_eq!(
                    cache.get("user:1", "long").await.unwrap().value.as_deref(),
                    Some("l")
                );
            }

            #[tokio::test]
            async fn a_value_stored_again_after_an_invalidation_is_served_at_the_new_version() {
                let Some(cache) = $cache else { return };
                let old = cache.get("user:1", "summary").await.unwrap().version;
                cache
                    .put_if_current("user:1", "summary", "before", old, MINUTE)
                    .await
                    .unwrap();
                cache.invalidate("user:1").await.unwrap();

                let new = cache.get("user:1", "summary").await.unwrap().version;
                let stored = cache
                    .put_if_current("user:1", "summary", "after", new, MINUTE)
                    .await
                    .unwrap();
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
                let v = cache.get("user:1", "a:b:c").await.unwrap().version;
                // Colons and digits where an adapter might keep its own bookkeeping.
                let text = "12:{\"k\":\"v:w\"}\n\u{e9}";

                cache
                    .put_if_current("user:1", "a:b:c", text, v, MINUTE)
                    .await
                    .unwrap();

                assert_eq!(
                    cache.get("user:1", "a:b:c").await.unwrap().value.as_deref(),
                    Some(text)
                );
                assert_eq!(cache.get("user:1", "a:b").await.unwrap().value, None);
            }
        }
    };
}
