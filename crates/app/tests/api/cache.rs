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
