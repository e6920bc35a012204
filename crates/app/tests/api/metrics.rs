//! `GET /metrics` on the metrics listener: requests by route pattern and status (never a raw
//! path), login-throttle refusals, report-cache lookups, the database pool and bank syncs; and
//! the API's own listener not serving them.

use std::net::TcpListener;

use nestegg::metrics::server::serve_metrics;
use nestegg_persistence::testing::Backend;
use nestegg_plaid_fake::Failure;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::app_test;
use crate::helpers::{TestApp, error_code, spawn_app};

/// Serves the app's metrics on a listener of their own; its base URL.
fn metrics_listener(app: &TestApp) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = serve_metrics(listener, app.metrics.clone()).unwrap();
    let url = format!("http://{}", server.addr());
    tokio::spawn(server.run());
    url
}

/// The metrics as Prometheus reads them, after checking the answer's type.
async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", metrics_listener(app)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of one series (`name{labels}` exactly as exported), or `None` when absent.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

/// A request series: its counter and its histogram's count, which must agree.
fn requests(text: &str, method: &str, route: &str, status: u16) -> Option<f64> {
    let labels = format!("{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}");
    let count = value(text, &format!("nestegg_http_requests_total{labels}"));
    let observed = value(
        text,
        &format!("nestegg_http_request_duration_seconds_count{labels}"),
    );
    assert_eq!(count, observed, "{method} {route} {status}");
    count
}

app_test!(
    requests_are_counted_by_route_pattern_and_status_and_no_raw_path_or_id_becomes_a_label,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "10").await;
        let missing = uuid::Uuid::now_v7().to_string();
        let stray = uuid::Uuid::now_v7().to_string();
        app.read(&format!("/api/v1/accounts/{account}"), &token)
            .await;
        app.assert_gone(&format!("/api/v1/accounts/{missing}"), &token)
            .await;
        let unrouted = app.get(&format!("/no/such/route/{stray}"), None).await;
        error_code(unrouted, StatusCode::NOT_FOUND).await;
        app.fail_logins("ada", 5).await;
        let refused = app.login("ada", "wrong password!").await;
        error_code(refused, StatusCode::TOO_MANY_REQUESTS).await;

        let text = scrape(&app).await;

        let account_route = "/api/v1/accounts/{id}";
        assert_eq!(requests(&text, "GET", account_route, 200), Some(1.0));
        assert_eq!(requests(&text, "GET", account_route, 404), Some(1.0));
        assert_eq!(requests(&text, "GET", "unmatched", 404), Some(1.0));
        let login = "/api/v1/auth/login";
        assert_eq!(requests(&text, "POST", login, 200), Some(1.0));
        assert_eq!(requests(&text, "POST", login, 401), Some(5.0));
        assert_eq!(requests(&text, "POST", login, 429), Some(1.0));
        assert_eq!(requests(&text, "POST", "/api/v1/accounts", 201), Some(1.0));
        let all = "nestegg_http_request_duration_seconds_bucket\
                   {method=\"GET\",route=\"/api/v1/accounts/{id}\",status=\"200\",le=\"+Inf\"}";
        assert_eq!(value(&text, all), Some(1.0), "{text}");
        assert_eq!(
            value(
                &text,
                "nestegg_login_throttle_refusals_total{check=\"login\",reason=\"limit\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                "nestegg_login_throttle_refusals_total{check=\"login\",reason=\"busy\"}"
            ),
            Some(0.0)
        );
        for raw in [&account, &missing, &stray, &"/no/such".to_owned()] {
            assert!(!text.contains(raw.as_str()), "{raw} in:\n{text}");
        }
        // The pool and the waits to begin a transaction (creating the account began one).
        assert!(value(&text, "nestegg_db_pool_max_connections").unwrap() >= 1.0);
        assert!(value(&text, "nestegg_db_pool_connections{state=\"idle\"}").is_some());
        assert!(value(&text, "nestegg_db_pool_connections{state=\"in_use\"}").is_some());
        assert!(value(&text, "nestegg_db_transactions_begun_total").unwrap() >= 1.0);
        assert!(value(&text, "nestegg_db_transaction_begin_wait_seconds_total").is_some());
    }
);

app_test!(
    report_reads_are_counted_as_cache_misses_then_hits_and_a_write_makes_the_next_a_miss,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let lookups = |text: &str, result: &str| {
            value(
                text,
                &format!("nestegg_report_cache_lookups_total{{result=\"{result}\"}}"),
            )
        };
        let before = scrape(&app).await;
        assert_eq!(lookups(&before, "hit"), Some(0.0));
        assert_eq!(lookups(&before, "miss"), Some(0.0));

        app.read("/api/v1/overview", &token).await;
        app.read("/api/v1/overview", &token).await;
        app.checking(&token, "5").await;
        app.read("/api/v1/overview", &token).await;
        // A range not ending today is computed without the cache.
        app.read(
            "/api/v1/overview/history?from=2020-01-01&to=2020-02-01",
            &token,
        )
        .await;
        let after = scrape(&app).await;

        assert_eq!(lookups(&after, "miss"), Some(2.0), "{after}");
        assert_eq!(lookups(&after, "hit"), Some(1.0), "{after}");
        assert_eq!(lookups(&after, "unavailable"), Some(0.0));
        assert_eq!(
            value(
                &after,
                "nestegg_report_cache_evictions_total{cause=\"size\"}"
            ),
            Some(0.0)
        );
        assert!(value(&after, "nestegg_report_cache_entries").unwrap() >= 1.0);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_syncs_are_counted_by_trigger_and_outcome_with_their_durations() {
    let (app, fake) = crate::plaid::spawn(Backend::Sqlite).await.unwrap();
    let (token, connection) = crate::plaid::linked(&app, &fake, "ada").await;
    let path = format!("{}/sync", crate::plaid::connection_path(&connection));
    let ok = app
        .expect(StatusCode::OK, Method::POST, &path, None, &token)
        .await;
    fake.fail_next("/transactions/sync", 1, Failure::login_required());
    let failed = app
        .expect(StatusCode::OK, Method::POST, &path, None, &token)
        .await;
    assert_eq!(
        (ok["sync_status"].as_str(), failed["sync_status"].as_str()),
        (Some("ok"), Some("login_required"))
    );

    let text = scrape(&app).await;

    let syncs = |outcome: &str| {
        let labels = format!("{{trigger=\"manual\",outcome=\"{outcome}\"}}");
        let count = value(&text, &format!("nestegg_plaid_syncs_total{labels}"));
        let timed = value(
            &text,
            &format!("nestegg_plaid_sync_duration_seconds_count{labels}"),
        );
        (count, timed)
    };
    assert_eq!(syncs("ok"), (Some(1.0), Some(1.0)), "{text}");
    assert_eq!(syncs("login_required"), (Some(1.0), Some(1.0)), "{text}");
    assert_eq!(syncs("plaid_error"), (Some(0.0), None), "{text}");
    assert_eq!(
        value(
            &text,
            "nestegg_plaid_syncs_total{trigger=\"scheduled\",outcome=\"ok\"}"
        ),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_listener_does_not_serve_the_metrics_and_the_metrics_listener_serves_nothing_else()
{
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let metrics = metrics_listener(&app);

    let on_api = app.get("/metrics", None).await;
    let elsewhere = reqwest::get(format!("{metrics}/api/v1/openapi.json"))
        .await
        .unwrap();
    let posted = reqwest::Client::new()
        .post(format!("{metrics}/metrics"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    error_code(on_api, StatusCode::NOT_FOUND).await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED);
}
