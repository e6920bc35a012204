//! The real `nestegg` binary as an operator meets it: what it logs when it starts and while it
//! serves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("nestegg-start-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}/n.db?mode=rwc", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A `nestegg serve` child process logging JSON lines to a file; killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts the binary in `dir` with `env` (and nothing else of this process's environment)
    /// on a free port, and waits until it says it serves.
    fn start(dir: &TempDir, env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.0.join(format!("log-{}", uuid::Uuid::new_v4()));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_nestegg"))
            .arg("serve")
            .current_dir(&dir.0)
            .env_clear()
            .env("NESTEGG_ADDR", format!("127.0.0.1:{port}"))
            .env("NESTEGG_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.logs().contains("nestegg is serving") {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("exited with {status} before serving:\n{}", server.logs());
            }
            assert!(
                Instant::now() < deadline,
                "never served:\n{}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Everything `nestegg serve` logged up to serving, on a fresh SQLite file with `cost`.
fn start_log(cost: &str) -> String {
    let dir = TempDir::new();
    let url = dir.sqlite_url();
    let server = Server::start(
        &dir,
        &[("DATABASE_URL", &url), ("NESTEGG_BCRYPT_COST", cost)],
    );
    server.logs()
}

#[test]
fn a_bcrypt_cost_below_ten_is_warned_about_at_start_and_a_sound_one_is_not() {
    let cheap = start_log("4");
    let warning = cheap
        .lines()
        .find(|l| l.contains("NESTEGG_BCRYPT_COST is below 10"))
        .unwrap_or_else(|| panic!("no warning in:\n{cheap}"));
    assert!(warning.contains("\"WARN\""), "{warning}");
    assert!(!start_log("10").contains("NESTEGG_BCRYPT_COST is below 10"));
}

/// Sends `body` (or nothing) with `method` to `path` under request id `id`; returns the status.
async fn send(
    client: &Client,
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    id: &str,
) -> (StatusCode, Value) {
    let mut request = client
        .request(method, server.url(path))
        .header("x-request-id", id);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn client_errors_are_logged_at_info_with_their_request_id_and_never_at_error() {
    let dir = TempDir::new();
    let url = dir.sqlite_url();
    let server = Server::start(
        &dir,
        &[("DATABASE_URL", &url), ("NESTEGG_BCRYPT_COST", "4")],
    );
    let client = Client::new();
    let user =
        json!({"email": "ada@example.com", "username": "ada", "password": "correct horse battery"});
    let post = reqwest::Method::POST;
    let (status, _) = send(
        &client,
        &server,
        post.clone(),
        "/auth/register",
        None,
        Some(user.clone()),
        "reg-1",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let login = json!({"login": "ada", "password": "correct horse battery"});
    let (_, tokens) = send(
        &client,
        &server,
        post.clone(),
        "/auth/login",
        None,
        Some(login),
        "login-1",
    )
    .await;
    let token = tokens["access_token"].as_str().unwrap();
    let (_, account) = send(
        &client,
        &server,
        post.clone(),
        "/accounts",
        Some(token),
        Some(json!({"name": "Savings", "type": "savings", "current_balance": "10"})),
        "account-1",
    )
    .await;
    let account = account["id"].as_str().unwrap();

    let refused = [
        (
            "taken-username",
            post.clone(),
            "/auth/register".to_owned(),
            Some(user),
            StatusCode::CONFLICT,
        ),
        (
            "missing-account",
            reqwest::Method::GET,
            format!("/accounts/{}", uuid::Uuid::new_v4()),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "refused-overdraft",
            post.clone(),
            "/transactions".to_owned(),
            Some(
                json!({"account_id": account, "amount": "-100", "date": "2026-01-05", "description": "x"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "bad-query",
            reqwest::Method::GET,
            "/transactions?limit=501".to_owned(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no-such-route",
            reqwest::Method::GET,
            "/nowhere".to_owned(),
            None,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (id, method, path, body, expected) in refused {
        let (status, answer) = send(&client, &server, method, &path, Some(token), body, id).await;
        assert_eq!(status, expected, "{id}: {answer}");
    }
    let logs = server.logs();
    let errors: Vec<&str> = logs.lines().filter(|l| l.contains("\"ERROR\"")).collect();
    assert!(
        errors.is_empty(),
        "client errors logged as errors:\n{}",
        errors.join("\n")
    );
    for id in [
        "taken-username",
        "missing-account",
        "refused-overdraft",
        "bad-query",
        "no-such-route",
    ] {
        let line: Value = logs
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["request_id"] == id || l["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no line with request id {id}:\n{logs}"));
        assert!(
            matches!(line["level"].as_str(), Some("INFO" | "DEBUG")),
            "{id}: {line}"
        );
    }
}
