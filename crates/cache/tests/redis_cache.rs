//! The Redis cache against the real Redis of `TEST_REDIS_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::Duration;

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
