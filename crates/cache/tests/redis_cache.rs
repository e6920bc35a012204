//! The Redis cache against the real Redis of `TEST_REDIS_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::Duration;

use deadpool_redis::redis;
use nestegg_cache::{RedisCache, RedisStore};
use nestegg_ports::{Cache, CacheError, Cached};

mod common;
#[macro_use]
mod contract;

const MINUTE: Duration = Duration::from_secs(60);

/// A cache with a key prefix of its own, or `None` (skip) without `TEST_REDIS_URL`.
fn cache() -> Option<RedisCache> {
    common::store().map(RedisCache::new)
}

cache_contract!(redis_cache, cache());

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

/// A cache over a prefix of its own and a raw connection to look at its keys, or `None`.
async fn cache_and_keys(
    max_fields: u32,
) -> Option<(RedisCache, String, deadpool_redis::Connection)> {
    common::store()?;
    let url = std::env::var("TEST_REDIS_URL").unwrap();
    let prefix = format!("nestegg-test:{}:", uuid::Uuid::new_v4());
    let store = RedisStore::new(&url, &prefix).unwrap();
    let conn = deadpool_redis::Config::from_url(&url)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap()
        .get()
        .await
        .unwrap();
    let cache = RedisCache::new(store).with_max_fields_per_scope(max_fields);
    Some((cache, prefix, conn))
}

/// Every key under `prefix`.
async fn keys(conn: &mut deadpool_redis::Connection, prefix: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn redis_keeps_only_the_newest_values_of_a_scope_within_the_bound_and_counts_those_it_evicted()
 {
    let Some((cache, prefix, mut conn)) = cache_and_keys(32).await else {
        return;
    };
    let report = "x".repeat(1024);

    for n in 0..2_000 {
        let field = format!("history:{n}");
        let v = cache.get("user:1", &field).await.unwrap().version;
        assert!(
            cache
                .put_if_current("user:1", &field, &report, v, MINUTE)
                .await
                .unwrap()
        );
    }
    let held = keys(&mut conn, &prefix).await;

    // 32 values and the scope's index: nothing else was left behind.
    assert_eq!(held.len(), 33, "{held:?}");
    assert_eq!(cache.evictions(), 2_000 - 32);
    assert!(held.iter().any(|k| k.ends_with(":idx")));
    assert!(
        cache
            .get("user:1", "history:1999")
            .await
            .unwrap()
            .value
            .is_some()
    );
    assert_eq!(cache.get("user:1", "history:0").await.unwrap().value, None);
}

#[tokio::test]
async fn redis_gives_every_value_key_a_ttl_of_its_own_and_the_index_outlives_none_by_much() {
    let Some((cache, prefix, mut conn)) = cache_and_keys(32).await else {
        return;
    };
    cache
        .put_if_current("user:1", "a", "x", 0, Duration::from_secs(30))
        .await
        .unwrap();
    cache
        .put_if_current("user:1", "b", "x", 0, MINUTE)
        .await
        .unwrap();

    let mut ttls = Vec::new();
    for suffix in [":f:a", ":f:b", ":idx"] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}cache:user:1{suffix}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        ttls.push(ttl);
    }

    assert!((1..=30_000).contains(&ttls[0]), "{ttls:?}");
    assert!((30_001..=60_000).contains(&ttls[1]), "{ttls:?}");
    assert!((30_001..=60_000).contains(&ttls[2]), "{ttls:?}");
}

#[tokio::test]
async fn a_redis_invalidation_deletes_the_scope_values_and_the_hash_of_earlier_releases() {
    let Some((cache, prefix, mut conn)) = cache_and_keys(32).await else {
        return;
    };
    for field in ["a", "b"] {
        cache
            .put_if_current("user:1", field, "x", 0, MINUTE)
            .await
            .unwrap();
    }
    let legacy = format!("{prefix}cache:user:1");
    let () = redis::cmd("HSET")
        .arg(&legacy)
        .arg("summary")
        .arg("stale")
        .query_async(&mut conn)
        .await
        .unwrap();

    cache.invalidate("user:1").await.unwrap();
    let held = keys(&mut conn, &prefix).await;

    assert_eq!(held, [format!("{prefix}cache:user:1:ver")]);
}

#[tokio::test]
async fn a_value_a_redis_invalidation_missed_is_still_not_served_after_it() {
    let Some((cache, prefix, mut conn)) = cache_and_keys(32).await else {
        return;
    };
    cache
        .put_if_current("user:1", "summary", "before the write", 0, MINUTE)
        .await
        .unwrap();

    // A version bump that deleted nothing (as a lost index would leave it).
    let () = redis::cmd("INCR")
        .arg(format!("{prefix}cache:user:1:ver"))
        .query_async::<i64>(&mut conn)
        .await
        .map(|_| ())
        .unwrap();
    let after = cache.get("user:1", "summary").await.unwrap();

    assert_eq!(
        after,
        Cached {
            version: 1,
            value: None
        }
    );
}
