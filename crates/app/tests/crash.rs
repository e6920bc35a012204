//! The real `nestegg` binary killed with SIGKILL in the middle of a bank sync, then started
//! again on the same SQLite file: the sync's one write never happened, the dead server's lease
//! keeps the item locked until it runs out, and the next sync stores everything exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use nestegg_persistence::Db;
use nestegg_persistence::sql::statement;
use nestegg_plaid::{PlaidClient, PlaidConfig, PlaidEnv};
use nestegg_plaid_fake::{FakeConfig, FakePlaid};
use nestegg_ports::plaid::Plaid;
use reqwest::{Client, StatusCode};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const LEASE_SECONDS: u64 = 5;

/// A `nestegg serve` child process; killed when dropped so a failing test leaves none behind.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts the binary with `env` (and nothing else from this process's environment) on a
    /// free port, and waits until it answers `/health/ready`.
    async fn start(env: &[(&str, String)], log: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_nestegg"))
            .arg("serve")
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("NESTEGG_ADDR", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "nestegg exited with {status} before serving:\n{}",
                    server.logs()
                );
            }
            let ready = client
                .get(format!("{}/health/ready", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "nestegg did not get ready:\n{}",
                server.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown hook, no in-flight request finished, no lease released.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

async fn post(
    client: &Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Runs SQL on the file the servers use, through a connection of the test's own.
async fn query(url: &str, sql: &str) -> Vec<sea_orm::QueryResult> {
    let db = Db::connect(url).await.unwrap();
    let rows = db
        .conn()
        .query_all_raw(statement(db.backend(), sql, []))
        .await
        .unwrap();
    db.close().await.unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_sync_stores_nothing_of_it_and_after_a_restart_the_next_sync_stores_everything_once_when_the_dead_servers_lease_runs_out()
 {
    let dir = std::env::temp_dir().join(format!("nestegg-crash-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.join("nestegg.db").display());
    let log = dir.join("nestegg.log");
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let env = [
        ("DATABASE_URL", database_url.clone()),
        (
            "NESTEGG_JWT_SECRET",
            "crash-test-secret-crash-test-secret!".to_owned(),
        ),
        ("NESTEGG_ENCRYPTION_KEY", STANDARD.encode([9u8; 32])),
        ("NESTEGG_BCRYPT_COST", "4".to_owned()),
        ("PLAID_CLIENT_ID", fake.client_id().to_owned()),
        ("PLAID_SECRET", fake.secret().to_owned()),
        ("PLAID_BASE_URL", fake.base_url().to_owned()),
        ("NESTEGG_SYNC_INTERVAL_SECONDS", "0".to_owned()),
        ("NESTEGG_SYNC_LEASE_SECONDS", LEASE_SECONDS.to_string()),
        ("RUST_LOG", "info".to_owned()),
    ];
    let client = Client::new();
    let mut first = Server::start(&env, &log).await;

    let (status, _) = post(
        &client,
        &first.url("/auth/register"),
        None,
        &json!({"email": "ada@example.com", "username": "ada", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, login) = post(
        &client,
        &first.url("/auth/login"),
        None,
        &json!({"login": "ada", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["access_token"].as_str().unwrap().to_owned();
    let public_token = PlaidClient::new(PlaidConfig::new(
        fake.client_id(),
        fake.secret(),
        PlaidEnv::Sandbox,
        Some(fake.base_url().to_owned()),
    ))
    .unwrap()
    .sandbox_public_token("ins_109508", vec!["transactions".into()])
    .await
    .unwrap();
    let (status, connection) = post(
        &client,
        &first.url("/plaid/connections"),
        Some(&token),
        &json!({"public_token": public_token}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    let item = connection["plaid_item_id"].as_str().unwrap().to_owned();
    let sync_path = format!(
        "/plaid/connections/{}/sync",
        connection["id"].as_str().unwrap()
    );

    // A few thousand updates, 500 a page, each page answered after a pause: the sync takes
    // seconds, and the server dies while it pulls.
    fake.add_generated_transactions(&item, 3000).unwrap();
    let pages = fake.log_len(&item).unwrap().div_ceil(500);
    assert!(pages >= 7, "{pages} pages");
    fake.set_delay(Some("/transactions/sync"), Duration::from_millis(300));
    let running = tokio::spawn({
        let (client, url, token) = (client.clone(), first.url(&sync_path), token.clone());
        async move { client.post(url).bearer_auth(token).send().await }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    // The third request arriving means the first two pages were answered.
    while fake.calls_to("/transactions/sync") < 3 {
        assert!(
            Instant::now() < deadline,
            "the sync never got going:\n{}",
            first.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    let killed_at_page = fake.calls_to("/transactions/sync");
    assert!(
        killed_at_page < pages as u64,
        "killed at page {killed_at_page} of {pages}"
    );
    assert!(
        running.await.unwrap().is_err(),
        "the killed server answered the sync"
    );

    // Nothing of the sync was written; the dead server's lease is still in the row.
    let rows = query(&database_url, "SELECT COUNT(*) AS n FROM transactions").await;
    assert_eq!(rows[0].try_get::<i64>("", "n").unwrap(), 0);
    let rows = query(
        &database_url,
        "SELECT sync_cursor, lease_holder, lease_until FROM plaid_connections",
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .try_get::<Option<String>>("", "sync_cursor")
            .unwrap()
            .is_none()
    );
    assert!(
        rows[0]
            .try_get::<Option<uuid::Uuid>>("", "lease_holder")
            .unwrap()
            .is_some()
    );
    let lease_until: DateTime<Utc> = rows[0]
        .try_get::<Option<DateTime<Utc>>>("", "lease_until")
        .unwrap()
        .unwrap();

    // Started again on the same file. Until the dead server's lease runs out, a sync is
    // refused; then one runs, from the old cursor, and stores every transaction once.
    fake.set_delay(Some("/transactions/sync"), Duration::ZERO);
    let second = Server::start(&env, &log).await;
    assert!(
        Utc::now() < lease_until,
        "the restart took longer than the lease: nothing left to check"
    );
    let (status, refused) = post(&client, &second.url(&sync_path), Some(&token), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "sync_in_progress");
    let slack = chrono::TimeDelta::seconds(1);
    let report = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = Utc::now();
        let (status, body) = post(&client, &second.url(&sync_path), Some(&token), &json!({})).await;
        if status == StatusCode::CONFLICT {
            assert_eq!(body["error"]["code"], "sync_in_progress");
            assert!(
                sent < lease_until + slack,
                "the lease held past {lease_until}"
            );
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(Utc::now() >= lease_until, "a sync ran while the lease held");
        break body;
    };
    assert_eq!(report["sync_status"], "ok", "{report}");

    let at_bank: Vec<String> = fake
        .transactions(&item)
        .unwrap()
        .into_iter()
        .map(|t| t.transaction_id)
        .collect();
    assert_eq!(report["transactions_added"], at_bank.len());
    let mut stored: Vec<String> = query(
        &database_url,
        "SELECT plaid_transaction_id FROM transactions ORDER BY plaid_transaction_id",
    )
    .await
    .iter()
    .map(|r| r.try_get::<String>("", "plaid_transaction_id").unwrap())
    .collect();
    stored.sort();
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(
        distinct.len(),
        stored.len(),
        "a transaction is stored twice"
    );
    let mut expected = at_bank.clone();
    expected.sort();
    assert_eq!(stored, expected);

    let response = client
        .get(second.url("/accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let listed: Value = response.json().await.unwrap();
    let ours: BTreeMap<String, Decimal> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["plaid_account_id"].as_str().unwrap().to_owned(),
                a["current_balance"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let bank: BTreeMap<String, Decimal> = fake
        .accounts(&item)
        .unwrap()
        .into_iter()
        .map(|a| (a.account_id, a.balances.current.unwrap()))
        .collect();
    assert_eq!(ours, bank);

    drop(second);
    std::fs::remove_dir_all(&dir).ok();
}
