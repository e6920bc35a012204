//! The app with Redis: shared login throttling and readiness.

use reqwest::StatusCode;
use serde_json::json;

use nestegg_cache::{RedisCache, RedisStore};
use nestegg_persistence::testing::{Backend, TestDb};
use nestegg_ports::Cache;

use crate::helpers::{
    PASSWORD, TestApp, assert_error, spawn_app_with_redis, start, test_redis_url, test_settings,
    txn_body,
};

/// Signs ada in with a checking account of 100; asserts the net worth (read `reads` times, so
/// the later reads can come from the cache), spends `amount` and asserts the net worth is
/// `after`. Returns ada's token.
async fn net_worth_follows_a_spend(
    app: &TestApp,
    reads: usize,
    amount: &str,
    after: &str,
) -> String {
    let (token, id) = app.with_checking("ada", "100").await;
    for read in 1..=reads {
        assert_eq!(app.net_worth(&token).await, "100", "read {read}");
    }
    app.transaction(&token, txn_body(&id, amount, "2026-11-01"))
        .await;
    assert_eq!(app.net_worth(&token).await, after);
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_login_failures_are_throttled_and_readiness_is_ok() {
    let Some(url) = test_redis_url() else { return };
    let app = spawn_app_with_redis(&url).await;
    assert_eq!(
        app.readiness().await,
        json!({"database": "ok", "cache": "ok"})
    );
    app.register("ada").await;
    app.fail_logins("ada", 5).await;
    let limited = app.login("ada", PASSWORD).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_api_keeps_answering_and_readiness_says_degraded() {
    let app = spawn_app_with_redis("redis://127.0.0.1:1").await;
    assert_eq!(
        app.readiness().await,
        json!({"database": "ok", "cache": "degraded"})
    );
    app.register("ada").await;
    assert_eq!(app.login_status("ada", PASSWORD).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_cached_reports_are_never_stale_after_a_write() {
    let Some(url) = test_redis_url() else { return };
    let app = spawn_app_with_redis(&url).await;
    let token = net_worth_follows_a_spend(&app, 2, "-1.5", "98.5").await;
    let flow = app
        .read("/api/v1/cashflow?from=2026-11-01&to=2026-11-30", &token)
        .await;
    assert_eq!(flow["expenses"], "1.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_reports_are_computed_from_the_database() {
    let app = spawn_app_with_redis("redis://127.0.0.1:1").await;
    net_worth_follows_a_spend(&app, 1, "-1", "99").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_thousands_of_distinct_history_ranges_leave_at_most_the_bound_per_user() {
    let Some(url) = test_redis_url() else { return };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = test_settings(&db.url);
    let prefix = format!("nestegg-test:{}:", uuid::Uuid::new_v4());
    settings.redis_url = Some(url.clone());
    settings.redis_prefix.clone_from(&prefix);
    let app = start(db, &settings, reqwest::Client::new());
    let (token, _) = app.with_checking("ada", "100").await;
    let scope = format!("user:{}", app.user_id(&token).await);
    let today = chrono::Utc::now().date_naive();
    let froms: Vec<_> = (1..=2_000)
        .filter_map(|n| today.checked_sub_days(chrono::Days::new(n)))
        .collect();

    for from in &froms {
        let path = format!("/api/v1/overview/history?from={from}&interval=month");
        assert!(app.read(&path, &token).await["items"].is_array(), "{from}");
    }
    // Read back through a cache of the same prefix: which of those ranges are still held?
    let cache = RedisCache::new(RedisStore::new(&url, &prefix).unwrap());
    let mut held = Vec::new();
    for from in &froms {
        let field = format!("history:{from}:{today}:Month");
        if cache.get(&scope, &field).await.unwrap().value.is_some() {
            held.push(*from);
        }
    }

    assert_eq!(held.len(), 32);
    assert!(held.contains(froms.last().unwrap()), "{held:?}");
}
