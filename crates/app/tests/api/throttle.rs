//! Login throttling that cannot lock the owner out, client addresses behind proxies, and
//! sign-up control. Each client binds its own loopback source address, so the server sees
//! distinct peers: 127.0.0.2 attacks, 127.0.0.3 is the owner.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nestegg::config::Settings;
use nestegg_persistence::testing::{Backend, TestDb};
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, start, test_redis_url, test_settings};

const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const OWNER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// A client whose connections leave from `source`.
fn client_from(source: Ipv4Addr) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(source))
        .build()
        .unwrap()
}

/// The app on `backend` (`None` when it is not set up), its settings adjusted by `adjust`.
async fn spawn(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    let mut settings = test_settings(&db.url);
    adjust(&mut settings);
    Some(start(db, &settings, client_from(ATTACKER)))
}

/// The app on SQLite with the Redis throttle; `None` without `TEST_REDIS_URL`.
async fn spawn_with_redis() -> Option<TestApp> {
    let url = test_redis_url()?;
    spawn(Backend::Sqlite, |s| {
        s.redis_url = Some(url);
        s.redis_prefix = format!("nestegg-test:{}:", uuid::Uuid::new_v4());
    })
    .await
}

/// A login from `client`, with extra headers; its status.
async fn login_from(
    app: &TestApp,
    client: &Client,
    password: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"login": "ada", "password": password}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The attacker fails five times at ada's password and is then refused, even with the right
/// one; the owner, from an address that has not failed, still gets in.
async fn the_owner_gets_in_while_the_attacker_is_locked_out(app: TestApp) {
    app.register("ada").await;
    let owner = client_from(OWNER);
    for attempt in 1..=5 {
        let response = login_from(&app, &app.client, "a wrong guess", &[]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "guess {attempt}"
        );
    }
    for _ in 0..3 {
        let refused = login_from(&app, &app.client, PASSWORD, &[]).await;
        assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }
    let started = Instant::now();
    let response = login_from(&app, &owner, PASSWORD, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Five failures of the account slow its logins down by half a second, no more.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // A right password counts against nobody: the owner can keep logging in.
    for _ in 0..10 {
        let again = login_from(&app, &owner, PASSWORD, &[]).await;
        assert_eq!(again.status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_stranger_failing_from_another_address_cannot_lock_the_owner_out() {
    let app = spawn(Backend::Sqlite, |_| {}).await.unwrap();
    the_owner_gets_in_while_the_attacker_is_locked_out(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_stranger_failing_from_another_address_cannot_lock_the_owner_out() {
    if let Some(app) = spawn(Backend::Postgres, |_| {}).await {
        the_owner_gets_in_while_the_attacker_is_locked_out(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_stranger_failing_from_another_address_cannot_lock_the_owner_out() {
    if let Some(app) = spawn_with_redis().await {
        the_owner_gets_in_while_the_attacker_is_locked_out(app).await;
    }
}

/// Eight devices of one household (one address) log in to one account at once, again and
/// again: none is refused.
async fn eight_devices_log_in_at_once(app: TestApp) {
    app.register("ada").await;
    let app = Arc::new(app);
    let devices: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..10 {
                    statuses.push(login_from(&app, &app.client, PASSWORD, &[]).await.status());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for device in devices {
        statuses.extend(device.await.unwrap());
    }
    assert_eq!(statuses.len(), 80);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_eight_devices_logging_in_correctly_at_once_are_never_refused() {
    eight_devices_log_in_at_once(spawn(Backend::Sqlite, |_| {}).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_eight_devices_logging_in_correctly_at_once_are_never_refused() {
    if let Some(app) = spawn_with_redis().await {
        eight_devices_log_in_at_once(app).await;
    }
}

/// The app on SQLite trusting the proxies at `proxies` (a CIDR), with ada registered.
async fn ada_behind(proxies: &str) -> TestApp {
    let app = spawn(Backend::Sqlite, |s| {
        s.trusted_proxies = vec![proxies.parse().unwrap()];
    })
    .await
    .unwrap();
    app.register("ada").await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_an_untrusted_peer_cannot_dodge_the_limit() {
    let app = ada_behind("10.0.0.0/8").await;
    for i in 1..=5 {
        let forged = format!("198.51.100.{i}");
        let headers = [
            ("x-forwarded-for", forged.as_str()),
            ("forwarded", &format!("for={forged}")),
        ];
        let response = login_from(&app, &app.client, "a wrong guess", &headers).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let fresh = [("x-forwarded-for", "198.51.100.99")];
    let refused = login_from(&app, &app.client, PASSWORD, &fresh).await;
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_counters_of_its_own() {
    // 127.0.0.2 plays the proxy: every request comes from it, naming its client.
    let app = ada_behind("127.0.0.2/32").await;
    let attacker = [("x-forwarded-for", "198.51.100.7")];
    for attempt in 1..=5 {
        let response = login_from(&app, &app.client, "a wrong guess", &attacker).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "guess {attempt}"
        );
    }
    // Forging the owner's address to the left of what the proxy appended changes nothing.
    let forged = [("x-forwarded-for", "198.51.100.8, 198.51.100.7")];
    let refused = login_from(&app, &app.client, PASSWORD, &forged).await;
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let owner = [("x-forwarded-for", "198.51.100.8")];
    let response = login_from(&app, &app.client, PASSWORD, &owner).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rfc = [("forwarded", r#"for="198.51.100.9:4711";proto=https"#)];
    let response = login_from(&app, &app.client, PASSWORD, &rfc).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_registration_is_refused_with_403_and_logins_still_work() {
    let app = spawn(Backend::Sqlite, |s| s.registration_open = false)
        .await
        .unwrap();
    let response = app.try_register("ada").await;
    let body = assert_error(response, StatusCode::FORBIDDEN, "registration_closed").await;
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(
        app.login_status("ada", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_burst_beyond_the_bcrypt_queue_is_answered_503_with_retry_after_at_once() {
    // A queue of 4 admits one sign-up at a time; cost 10 keeps each busy for a while.
    let app = spawn(Backend::Sqlite, |s| {
        s.bcrypt_queue = 4;
        s.bcrypt_cost = 10;
    })
    .await
    .unwrap();
    let app = Arc::new(app);
    let burst: Vec<_> = (0..12)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let name = format!("user{i}");
                let started = Instant::now();
                let response = app.try_register(&name).await;
                let took = started.elapsed();
                let retry = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                (response.status(), retry, took)
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = Vec::new();
    for signup in burst {
        let (status, retry, took) = signup.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::SERVICE_UNAVAILABLE => refused.push((retry, took)),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(created >= 1, "the queue admits sign-ups");
    assert!(!refused.is_empty(), "a full queue refuses");
    for (retry, took) in refused {
        let seconds: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!(seconds >= 1);
        // Answered at once, not after waiting its turn behind the other hashes.
        assert!(took < Duration::from_millis(500), "{took:?}");
    }
    let response = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "late@example.com", "username": "late", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "the queue drains");
}
