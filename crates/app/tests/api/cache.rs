//! The app with Redis: shared login throttling and readiness.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_code, spawn_app_with_redis, test_redis_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_login_failures_are_throttled_and_readiness_is_ok() {
    let Some(url) = test_redis_url() else { return };
    let app = spawn_app_with_redis(&url).await;
    let ready: Value = app.get("/health/ready", None).await.json().await.unwrap();
    assert_eq!(ready, json!({"database": "ok", "cache": "ok"}));
    app.register("ada").await;
    for _ in 0..5 {
        assert_eq!(
            app.login("ada", "wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app.login("ada", PASSWORD).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        error_code(limited, StatusCode::TOO_MANY_REQUESTS).await.0,
        "rate_limited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_api_keeps_answering_and_readiness_says_degraded() {
    let app = spawn_app_with_redis("redis://127.0.0.1:1").await;
    let response = app.get("/health/ready", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let ready: Value = response.json().await.unwrap();
    assert_eq!(ready, json!({"database": "ok", "cache": "degraded"}));
    app.register("ada").await;
    assert_eq!(app.login("ada", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_cached_reports_are_never_stale_after_a_write() {
    let Some(url) = test_redis_url() else { return };
    let app = spawn_app_with_redis(&url).await;
    let (token, _) = app.signed_in("ada").await;
    let account = app
        .account(
            &token,
            json!({"name": "Checking", "type": "checking", "current_balance": "100"}),
        )
        .await;
    let id = account["id"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(
            app.read("/api/v1/overview", &token).await["net_worth"],
            "100"
        );
    }
    app.transaction(
        &token,
        json!({"account_id": id, "amount": "-1.5", "date": "2026-11-01", "description": "x"}),
    )
    .await;
    assert_eq!(
        app.read("/api/v1/overview", &token).await["net_worth"],
        "98.5"
    );
    let flow = app
        .read("/api/v1/cashflow?from=2026-11-01&to=2026-11-30", &token)
        .await;
    assert_eq!(flow["expenses"], "1.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_reports_are_computed_from_the_database() {
    let app = spawn_app_with_redis("redis://127.0.0.1:1").await;
    let (token, _) = app.signed_in("ada").await;
    let account = app
        .account(
            &token,
            json!({"name": "Checking", "type": "checking", "current_balance": "100"}),
        )
        .await;
    let id = account["id"].as_str().unwrap();
    assert_eq!(
        app.read("/api/v1/overview", &token).await["net_worth"],
        "100"
    );
    app.transaction(
        &token,
        json!({"account_id": id, "amount": "-1", "date": "2026-11-01", "description": "x"}),
    )
    .await;
    assert_eq!(
        app.read("/api/v1/overview", &token).await["net_worth"],
        "99"
    );
}
