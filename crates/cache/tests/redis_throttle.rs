//! The Redis throttle against the real Redis of `TEST_REDIS_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::Duration;

use chrono::Utc;
use nestegg_cache::{RedisStore, RedisThrottle};
use nestegg_ports::{HealthProbe, LoginThrottle, ThrottleKey};

mod common;
use common::store;

fn key(name: &str, max: u32, window: Duration) -> ThrottleKey {
    ThrottleKey {
        key: name.into(),
        max_failures: max,
        window,
    }
}

#[tokio::test]
async fn redis_throttle_refuses_after_the_allowed_attempts_until_forgiven_or_reset() {
    let Some(store) = store() else { return };
    store.ping().await.unwrap();
    let throttle = RedisThrottle::new(store);
    let keys = [key("login:ada", 2, Duration::from_secs(600))];
    for _ in 0..2 {
        assert!(throttle.acquire(&keys, Utc::now()).await.is_ok());
    }
    let wait = throttle.acquire(&keys, Utc::now()).await.unwrap_err();
    assert!(
        wait > Duration::from_secs(590) && wait <= Duration::from_secs(600),
        "{wait:?}"
    );
    throttle.forgive(&keys).await;
    assert!(throttle.acquire(&keys, Utc::now()).await.is_ok());
    assert!(throttle.acquire(&keys, Utc::now()).await.is_err());
    throttle.reset("login:ada").await;
    assert!(throttle.acquire(&keys, Utc::now()).await.is_ok());
}

#[tokio::test]
async fn redis_throttle_windows_expire_on_their_own() {
    let Some(store) = store() else { return };
    let throttle = RedisThrottle::new(store);
    let keys = [key("addr:1", 1, Duration::from_millis(300))];
    throttle.acquire(&keys, Utc::now()).await.unwrap();
    assert!(throttle.acquire(&keys, Utc::now()).await.is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(throttle.acquire(&keys, Utc::now()).await.is_ok());
}

#[tokio::test]
async fn redis_throttle_counts_concurrent_attempts_exactly() {
    let Some(store) = store() else { return };
    let throttle = std::sync::Arc::new(RedisThrottle::new(store));
    let keys = [key("login:ada", 5, Duration::from_secs(60))];
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (t, k) = (throttle.clone(), keys.clone());
            tokio::spawn(async move { t.acquire(&k, Utc::now()).await.is_ok() })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, 5);
}

#[tokio::test]
async fn redis_throttle_keys_of_different_prefixes_do_not_meet() {
    let (Some(a), Some(b)) = (store(), store()) else {
        return;
    };
    let (a, b) = (RedisThrottle::new(a), RedisThrottle::new(b));
    let keys = [key("login:ada", 1, Duration::from_secs(60))];
    a.acquire(&keys, Utc::now()).await.unwrap();
    assert!(a.acquire(&keys, Utc::now()).await.is_err());
    assert!(b.acquire(&keys, Utc::now()).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_redis_lets_logins_through_and_reports_unavailable() {
    // Port 1 on loopback: nothing listens there.
    let store = RedisStore::new("redis://127.0.0.1:1", "x:").unwrap();
    assert!(store.ping().await.is_err());
    let throttle = RedisThrottle::new(store);
    let keys = [key("login:ada", 0, Duration::from_secs(60))];
    assert!(throttle.acquire(&keys, Utc::now()).await.is_ok());
    assert!(throttle.acquire(&keys, Utc::now()).await.is_ok());
}
