//! The Redis throttle against the real Redis of `TEST_REDIS_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::Duration;

use chrono::Utc;
use nestegg_cache::{RedisStore, RedisThrottle};
use nestegg_ports::{HealthProbe, LoginThrottle, ThrottleKey, Throttled};

mod common;
use common::store;

fn key(name: &str, max: u32, window: Duration) -> ThrottleKey {
    ThrottleKey {
        key: name.into(),
        max_failures: max,
        window,
    }
}

/// One attempt judged wrong.
async fn fail_once(throttle: &RedisThrottle, keys: &[ThrottleKey]) {
    throttle.acquire(keys, Utc::now()).await.unwrap();
    throttle.fail(keys, Utc::now()).await;
}

#[tokio::test]
async fn redis_throttle_refuses_after_the_allowed_failures_and_never_counts_forgiven_attempts() {
    let Some(store) = store() else { return };
    store.ping().await.unwrap();
    let throttle = RedisThrottle::new(store);
    let keys = [key("pair:ada", 2, Duration::from_secs(600))];
    for _ in 0..10 {
        assert_eq!(throttle.acquire(&keys, Utc::now()).await, Ok(vec![0]));
        throttle.forgive(&keys, Utc::now()).await;
    }
    fail_once(&throttle, &keys).await;
    assert_eq!(throttle.acquire(&keys, Utc::now()).await, Ok(vec![1]));
    throttle.fail(&keys, Utc::now()).await;
    let Err(Throttled::Refused { retry_after }) = throttle.acquire(&keys, Utc::now()).await else {
        panic!("two failures of two allowed must refuse");
    };
    assert!(
        retry_after > Duration::from_secs(590) && retry_after <= Duration::from_secs(600),
        "{retry_after:?}"
    );
}

#[tokio::test]
async fn redis_throttle_windows_expire_on_their_own() {
    let Some(store) = store() else { return };
    let throttle = RedisThrottle::new(store);
    let keys = [key("addr:1", 1, Duration::from_millis(300))];
    fail_once(&throttle, &keys).await;
    assert!(throttle.acquire(&keys, Utc::now()).await.is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(throttle.acquire(&keys, Utc::now()).await.is_ok());
}

#[tokio::test]
async fn redis_throttle_lets_only_the_limit_of_concurrent_attempts_be_judged_at_once() {
    let Some(store) = store() else { return };
    let throttle = std::sync::Arc::new(RedisThrottle::new(store));
    let keys = [key("pair:ada", 5, Duration::from_secs(60))];
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (t, k) = (throttle.clone(), keys.clone());
            tokio::spawn(async move { t.acquire(&k, Utc::now()).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let allowed = answers.iter().filter(|a| a.is_ok()).count();
    let busy = answers
        .iter()
        .filter(|a| **a == Err(Throttled::Busy))
        .count();
    assert_eq!((allowed, busy), (5, 15));
    // Once the five are judged wrong, the rest are refused outright.
    throttle.fail(&keys, Utc::now()).await;
    for _ in 0..4 {
        throttle.fail(&keys, Utc::now()).await;
    }
    assert!(matches!(
        throttle.acquire(&keys, Utc::now()).await,
        Err(Throttled::Refused { .. })
    ));
}

#[tokio::test]
async fn redis_throttle_reports_failures_per_key_and_never_refuses_a_key_without_a_limit() {
    let Some(store) = store() else { return };
    let throttle = RedisThrottle::new(store);
    let login = key("user:ada", ThrottleKey::NO_LIMIT, Duration::from_secs(60));
    for _ in 0..30 {
        fail_once(&throttle, std::slice::from_ref(&login)).await;
    }
    let both = [login, key("addr:1", 5, Duration::from_secs(60))];
    assert_eq!(throttle.acquire(&both, Utc::now()).await, Ok(vec![30, 0]));
}

#[tokio::test]
async fn redis_throttle_keys_of_different_prefixes_do_not_meet() {
    let (Some(a), Some(b)) = (store(), store()) else {
        return;
    };
    let (a, b) = (RedisThrottle::new(a), RedisThrottle::new(b));
    let keys = [key("login:ada", 1, Duration::from_secs(60))];
    fail_once(&a, &keys).await;
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
