//! Two `nestegg serve` processes on one PostgreSQL database (`TEST_DATABASE_URL`), with the
//! machine's Redis (`TEST_REDIS_URL`) and without it, taking requests in turn: a write through
//! one is never followed by a stale report from the other, a logout through one is refused at
//! once by the other, and failed logins count once across both. And a sole instance (the
//! default) is never joined by a second, on PostgreSQL or on an SQLite file. Skipped without PostgreSQL (or Redis) unless
//! `NESTEGG_REQUIRE_PG=1` (`NESTEGG_REQUIRE_REDIS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

use std::time::Duration;

use nestegg_persistence::testing::{Backend, TestDb};
use reqwest::{Client, StatusCode};
use rust_decimal::Decimal;
use serde_json::json;
use support::{PASSWORD, Server, TempDir, checking, get, post, server_env, sign_up};

/// The machine's Redis for these tests, with a key prefix of the test's own; `None` (a skip)
/// when `TEST_REDIS_URL` is unset, unless `NESTEGG_REQUIRE_REDIS=1`.
fn redis_env() -> Option<Vec<(&'static str, String)>> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) => Some(vec![
            ("REDIS_URL", url),
            (
                "NESTEGG_REDIS_PREFIX",
                format!("instances-test:{}:", uuid::Uuid::new_v4()),
            ),
        ]),
        Err(_) => {
            assert!(
                std::env::var("NESTEGG_REQUIRE_REDIS").as_deref() != Ok("1"),
                "TEST_REDIS_URL is unset and NESTEGG_REQUIRE_REDIS=1"
            );
            eprintln!("skipped: TEST_REDIS_URL is unset");
            None
        }
    }
}

async fn net_worth(client: &Client, server: &Server, token: &str) -> Decimal {
    let (status, body) = get(client, &server.url("/overview"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["net_worth"].as_str().unwrap().parse().unwrap()
}

/// Two instances of `several` on a fresh database, with `extra` settings (Redis or none).
async fn two_instances(
    db: &TestDb,
    dir: &TempDir,
    extra: &[(&'static str, String)],
) -> [Server; 2] {
    let mut env = server_env(&db.url);
    env.extend_from_slice(extra);
    env.push(("NESTEGG_INSTANCES", "several".to_owned()));
    [
        Server::start(&env, &dir.path().join("first.log")).await,
        Server::start(&env, &dir.path().join("second.log")).await,
    ]
}

/// Requests alternate between the two instances: reports, writes, logins and a logout.
async fn alternate_requests_between(servers: &[Server; 2]) {
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let token = sign_up(&client, &servers[0], "ada").await;
    let account = checking(&client, &servers[1], &token, "100.00").await;

    // Both instances have the overview cached; every write through one must retire the
    // other's copy before the write is answered.
    let mut expected = Decimal::new(10_000, 2);
    for server in servers {
        assert_eq!(net_worth(&client, server, &token).await, expected);
    }
    for round in 0..20 {
        let (writer, reader) = (&servers[round % 2], &servers[(round + 1) % 2]);
        let amount = Decimal::new(i64::try_from(round).unwrap() * 137 + 1, 2);
        let (status, body) = post(
            &client,
            &writer.url("/transactions"),
            Some(&token),
            &json!({"account_id": account, "amount": amount.to_string(),
                    "date": chrono::Utc::now().date_naive(), "description": "deposit"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "round {round}: {body}");
        expected += amount;
        assert_eq!(
            net_worth(&client, reader, &token).await,
            expected,
            "round {round}: the other instance answered an old net worth"
        );
        assert_eq!(net_worth(&client, writer, &token).await, expected);
    }

    // A logout through one instance: the other refuses the token at once.
    let (status, login) = post(
        &client,
        &servers[0].url("/auth/login"),
        None,
        &json!({"login": "ada", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let access = login["access_token"].as_str().unwrap();
    let refresh = login["refresh_token"].as_str().unwrap();
    let (status, _) = get(&client, &servers[1].url("/me"), access).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &client,
        &servers[0].url("/auth/logout"),
        Some(access),
        &json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = get(&client, &servers[1].url("/me"), access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "session_ended");

    // Five wrong passwords, alternating: the sixth attempt is refused on either instance.
    for n in 0..5 {
        let (status, body) = post(
            &client,
            &servers[n % 2].url("/auth/login"),
            None,
            &json!({"login": "ada", "password": "not the password"}),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}: {body}");
    }
    for server in servers {
        let (status, body) = post(
            &client,
            &server.url("/auth/login"),
            None,
            &json!({"login": "ada", "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error"]["code"], "rate_limited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_redis_two_instances_taking_turns_never_serve_a_stale_report_and_share_sessions_and_login_counts()
 {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let dir = TempDir::new("instances");
    let servers = two_instances(&db, &dir, &[]).await;
    assert!(
        servers[0]
            .logs()
            .contains("versions and login counters in the database"),
        "{}",
        servers[0].logs()
    );
    alternate_requests_between(&servers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_redis_two_instances_taking_turns_never_serve_a_stale_report_and_share_sessions_and_login_counts()
 {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(redis) = redis_env() else { return };
    let dir = TempDir::new("instances-redis");
    let servers = two_instances(&db, &dir, &redis).await;
    alternate_requests_between(&servers).await;
}

/// Runs `nestegg serve` with `env` expecting it to refuse to start; what it said.
fn refused_start(env: &[(&'static str, String)]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nestegg"))
        .arg("serve")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NESTEGG_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{said}");
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_one_sqlite_file_is_refused_and_the_first_serves_on() {
    let dir = TempDir::new("instances-sqlite");
    let env = server_env(&dir.sqlite_url());
    let first = Server::start(&env, &dir.path().join("first.log")).await;
    let said = refused_start(&env);
    assert!(said.contains("SQLite file"), "{said}");
    let client = Client::new();
    let (status, _) = get(&client, &format!("{}/health/ready", first.base), "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_second_instance_is_refused_beside_a_sole_one_naming_the_setting_and_the_first_serves_on()
 {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let dir = TempDir::new("instances-sole");
    let env = server_env(&db.url);
    let first = Server::start(&env, &dir.path().join("first.log")).await;
    for role in ["one", "several"] {
        let mut second_env = env.clone();
        second_env.push(("NESTEGG_INSTANCES", role.to_owned()));
        let said = refused_start(&second_env);
        assert!(said.contains("NESTEGG_INSTANCES"), "{role}: {said}");
    }
    let client = Client::new();
    let (status, _) = get(&client, &format!("{}/health/ready", first.base), "").await;
    assert_eq!(status, StatusCode::OK);
}
