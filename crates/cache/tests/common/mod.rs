//! What the Redis suites share.

use nestegg_cache::RedisStore;

/// A store with a key prefix of its own, or `None` (skip) without `TEST_REDIS_URL`.
pub fn store() -> Option<RedisStore> {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else {
        assert!(
            std::env::var("NESTEGG_REQUIRE_REDIS").as_deref() != Ok("1"),
            "NESTEGG_REQUIRE_REDIS=1 but TEST_REDIS_URL is not set"
        );
        eprintln!("skipping a Redis test: TEST_REDIS_URL is not set");
        return None;
    };
    let prefix = format!("nestegg-test:{}:", uuid::Uuid::new_v4());
    Some(RedisStore::new(&url, &prefix).unwrap())
}
