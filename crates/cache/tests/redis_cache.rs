//! The Redis cache against the real Redis of `TEST_REDIS_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::Duration;

use nestegg_cache::{RedisCache, RedisStore};
use nestegg_ports::{Cache, CacheError, Cached};

const MINUTE: Duration = Duration::from_secs(60);

/// A cache with a key prefix of its own, or `None` (skip) without `TEST_REDIS_URL`.
fn cache() -> Option<RedisCache> {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else {
        assert!(
            std::env::var("NESTEGG_REQUIRE_REDIS").as_deref() != Ok("1"),
            "NESTEGG_REQUIRE_REDIS=1 but TEST_REDIS_URL is not set"
        );
        eprintln!("skipping a Redis test: TEST_REDIS_URL is not set");
        return None;
    };
    let prefix = format!("nestegg-test:{}:", uuid::Uuid::new_v4());
    Some(RedisCache::new(RedisStore::new(&url, &prefix).unwrap()))
}

#[tokio::test]
async fn a_redis_cache_miss_returns_the_scope_version_and_no_value() {
    let Some(cache) = cache() else { return };

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
async fn a_redis_cache_value_put_at_the_current_version_is_read_back() {
    let Some(cache) = cache() else { return };
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
async fn a_redis_cache_put_with_a_version_read_before_an_invalidation_is_refused_and_not_stored() {
    let Some(cache) = cache() else { return };
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
async fn a_redis_cache_write_racing_a_reader_keeps_the_reader_value_out() {
    let Some(cache) = cache() else { return };
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
async fn invalidating_a_redis_cache_scope_drops_all_its_fields_and_no_other_scope_fields() {
    let Some(cache) = cache() else { return };
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
async fn a_redis_cache_value_reads_as_missing_once_its_ttl_has_passed() {
    let Some(cache) = cache() else { return };
    let v = cache.get("user:1", "summary").await.unwrap().version;
    cache
        .put_if_current("user:1", "summary", "x", v, Duration::from_millis(50))
        .await
        .unwrap();
    let fresh = cache.get("user:1", "summary").await.unwrap();

    tokio::time::sleep(Duration::from_millis(150)).await;
    let expired = cache.get("user:1", "summary").await.unwrap();

    assert_eq!(fresh.value.as_deref(), Some("x"));
    assert_eq!(expired.value, None);
    assert_eq!(expired.version, v);
}

#[tokio::test]
async fn redis_caches_of_different_prefixes_do_not_meet() {
    let (Some(a), Some(b)) = (cache(), cache()) else {
        return;
    };
    assert!(
        a.put_if_current("user:1", "f", "x", 0, MINUTE)
            .await
            .unwrap()
    );

    b.invalidate("user:1").await.unwrap();

    assert_eq!(
        a.get("user:1", "f").await.unwrap(),
        Cached {
            version: 0,
            value: Some("x".into())
        }
    );
    assert_eq!(b.get("user:1", "f").await.unwrap().value, None);
}

#[tokio::test]
async fn an_unreachable_redis_cache_reports_unavailable_for_every_call() {
    // Port 1 on loopback: nothing listens there.
    let cache = RedisCache::new(RedisStore::new("redis://127.0.0.1:1", "x:").unwrap());

    let get = cache.get("user:1", "f").await;
    let put = cache.put_if_current("user:1", "f", "x", 0, MINUTE).await;
    let invalidate = cache.invalidate("user:1").await;

    assert!(matches!(get, Err(CacheError::Unavailable(_))), "{get:?}");
    assert!(matches!(put, Err(CacheError::Unavailable(_))), "{put:?}");
    assert!(
        matches!(invalidate, Err(CacheError::Unavailable(_))),
        "{invalidate:?}"
    );
}
