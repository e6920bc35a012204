//! The real `nestegg` binary as an operator meets it: what it logs when it starts and while it
//! serves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::{Server, TempDir, free_port};

/// `nestegg serve` in `dir` with `env` (and nothing else of this process's environment),
/// logging JSON lines to a file of its own; back once it says it serves.
fn serve(dir: &TempDir, env: &[(&str, &str)]) -> Server {
    let log = dir.0.join(format!("log-{}", uuid::Uuid::new_v4()));
    let json = ("NESTEGG_LOG_FORMAT", "json");
    let mut server = Server::spawn(env.iter().copied().chain([json]), &log, Some(&dir.0));
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

/// Everything `nestegg serve` logged up to serving, on a fresh SQLite file with `cost`.
fn start_log(cost: &str) -> String {
    let dir = TempDir::new("start");
    let url = dir.sqlite_url();
    let server = serve(
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
    let dir = TempDir::new("start");
    let url = dir.sqlite_url();
    let server = serve(
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

/// Runs `nestegg args...` in `dir` with `env` only; returns (exit code, stdout, stderr).
fn nestegg(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_nestegg"))
        .args(args)
        .current_dir(&dir.0)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Runs `nestegg args...` in `dir` with `DATABASE_URL=database_url` only.
fn nestegg_on(dir: &TempDir, database_url: &str, args: &[&str]) -> (i32, String, String) {
    nestegg(dir, args, &[("DATABASE_URL", database_url)])
}

/// The names `migrate status` lists with `state` (`applied` or `pending`).
fn listed(status: &str, state: &str) -> Vec<String> {
    status
        .lines()
        .filter_map(|l| l.strip_prefix(state)?.strip_prefix(' '))
        .map(str::to_owned)
        .collect()
}

#[test]
fn migrate_up_down_and_status_name_each_migration_they_apply_or_revert_or_say_there_is_nothing_to_do()
 {
    let dir = TempDir::new("start");
    let url = dir.sqlite_url();
    let env = [("DATABASE_URL", url.as_str())];
    let (code, status, err) = nestegg(&dir, &["migrate", "status"], &env);
    assert_eq!(code, 0, "{err}");
    let all = listed(&status, "pending");
    assert!(all.len() >= 5, "{status}");
    assert!(listed(&status, "applied").is_empty(), "{status}");
    assert!(
        status.contains(&format!("0 applied, {} pending", all.len())),
        "{status}"
    );

    let (code, up, err) = nestegg(&dir, &["migrate", "up"], &env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listed(&up, "applied"), all, "{up}");
    assert!(
        up.contains(&format!("{} migrations applied", all.len())),
        "{up}"
    );
    assert!(up.contains("SQLite"), "names the database: {up}");

    let (code, again, err) = nestegg(&dir, &["migrate", "up"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(listed(&again, "applied").is_empty(), "{again}");
    assert!(again.contains("nothing to do"), "{again}");

    let (code, down, err) = nestegg(&dir, &["migrate", "down"], &env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        listed(&down, "reverted"),
        [all[all.len() - 1].clone()],
        "{down}"
    );
    let (_, status, _) = nestegg(&dir, &["migrate", "status"], &env);
    assert_eq!(listed(&status, "applied"), all[..all.len() - 1], "{status}");
    assert_eq!(listed(&status, "pending"), all[all.len() - 1..], "{status}");

    let (code, down_all, err) = nestegg(&dir, &["migrate", "down", "--all"], &env);
    assert_eq!(code, 0, "{err}");
    let mut newest_first = all[..all.len() - 1].to_vec();
    newest_first.reverse();
    assert_eq!(listed(&down_all, "reverted"), newest_first, "{down_all}");

    for args in [&["migrate", "down"][..], &["migrate", "down", "--all"]] {
        let (code, out, err) = nestegg(&dir, args, &env);
        assert_ne!(code, 0, "{args:?} with nothing applied: {out}");
        assert!(listed(&out, "reverted").is_empty(), "{out}");
        assert!(err.contains("nothing to revert"), "{args:?}: {err}");
    }
}

#[test]
fn an_sqlite_url_without_a_mode_creates_the_file_and_one_whose_mode_forbids_it_says_so() {
    let dir = TempDir::new("start");
    let (code, out, err) = nestegg_on(&dir, "sqlite://plain.db", &["migrate", "up"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(dir.0.join("plain.db").is_file());
    assert!(
        out.contains(&format!("{}", dir.0.join("plain.db").display())),
        "names the file: {out}"
    );

    let (code, _, err) = nestegg_on(&dir, "sqlite://absent.db?mode=rw", &["migrate", "up"]);
    assert_ne!(code, 0);
    assert!(!dir.0.join("absent.db").exists());
    assert!(
        err.contains(&format!("{}", dir.0.join("absent.db").display())),
        "{err}"
    );
    assert!(err.contains("remove the mode"), "{err}");
}

#[test]
fn an_sqlite_file_in_a_missing_directory_is_refused_naming_the_directory_to_create() {
    let dir = TempDir::new("start");
    let (code, _, err) = nestegg_on(&dir, "sqlite://no/such/dir/n.db", &["migrate", "status"]);
    assert_ne!(code, 0);
    let missing = dir.0.join("no/such/dir");
    assert!(
        err.contains(&format!(
            "the directory {} does not exist: create it",
            missing.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn a_postgres_server_that_does_not_answer_is_named_with_what_to_check_and_never_the_password() {
    let dir = TempDir::new("start");
    // Port 1 on the loopback: nothing listens there.
    let (code, _, err) = nestegg_on(
        &dir,
        "postgres://nestegg:hunter2secret@127.0.0.1:1/money",
        &["migrate", "status"],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("PostgreSQL database money at 127.0.0.1:1 as user nestegg"),
        "{err}"
    );
    assert!(err.contains("check that PostgreSQL is running"), "{err}");
    assert!(!err.contains("hunter2secret"), "{err}");
}

#[test]
fn a_missing_postgres_database_is_named_with_the_command_that_creates_it_and_never_the_password() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("NESTEGG_REQUIRE_PG").as_deref() != Ok("1"),
            "NESTEGG_REQUIRE_PG=1 but TEST_DATABASE_URL is not set"
        );
        return;
    };
    // The admin URL with a password added (trust authentication ignores it) and a database
    // that does not exist.
    let (scheme, rest) = admin.split_once("://").unwrap();
    let (authority, _) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = authority
        .rsplit_once('@')
        .unwrap_or(("postgres", authority));
    let user = user.split(':').next().unwrap();
    let name = format!("nestegg_absent_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{scheme}://{user}:hunter2secret@{host}/{name}");
    let dir = TempDir::new("start");
    let (code, _, err) = nestegg_on(&dir, &url, &["migrate", "up"]);
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("cannot open the PostgreSQL database {name} at")),
        "{err}"
    );
    assert!(
        err.contains(&format!("database \"{name}\" does not exist;")),
        "{err}"
    );
    assert!(
        err.contains("; create it (createdb -h ") && err.contains(&format!(" {name}) or correct")),
        "{err}"
    );
    assert!(!err.contains("hunter2secret"), "{err}");
    assert!(!err.contains(" at line "), "{err}");
}

/// The JSON log line saying the server serves.
fn serving_line(logs: &str) -> Value {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("nestegg is serving"))
        })
        .unwrap_or_else(|| panic!("no serving line in:\n{logs}"))
}

#[test]
fn the_start_up_line_names_the_address_database_cache_migrations_applied_and_key_file() {
    let dir = TempDir::new("start");
    let env = [("DATABASE_URL", "sqlite://n.db")];
    let first = serve(&dir, &env);
    let line = serving_line(&first.logs());
    let addr = first.base.strip_prefix("http://").unwrap().to_owned();
    drop(first);
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["addr"], addr, "{line}");
    let db = dir.0.join("n.db");
    assert_eq!(
        line["database"],
        format!("SQLite database {}", db.display()),
        "{line}"
    );
    assert_eq!(line["cache"], "in-process", "{line}");
    assert!(
        line.get("metrics").is_none(),
        "no metrics unless asked: {line}"
    );
    let applied = line["migrations_applied"].as_str().unwrap();
    assert!(
        applied.starts_with("m20261125_000001_initial, m20261125_000002_fx_rates, "),
        "{line}"
    );
    assert_eq!(
        line["key_file"],
        format!("{}", dir.0.join("n.db.keys").display()),
        "{line}"
    );

    // Started again: nothing left to migrate; Redis named without its password; no key
    // file with both secrets set.
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let again = serve(
        &dir,
        &[
            ("DATABASE_URL", "sqlite://n.db"),
            ("REDIS_URL", "redis://:hunter2secret@127.0.0.1:1/0"),
            ("NESTEGG_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("NESTEGG_ENCRYPTION_KEY", key),
        ],
    );
    let logs = again.logs();
    let line = serving_line(&logs);
    assert_eq!(line["migrations_applied"], "none", "{line}");
    assert_eq!(
        line["cache"], "Redis redis://127.0.0.1:1/0 (key prefix nestegg:)",
        "{line}"
    );
    assert!(line.get("key_file").is_none(), "{line}");
    assert!(!logs.contains("hunter2secret"), "{logs}");
}

#[tokio::test]
async fn the_metrics_listener_serves_what_the_api_counted_is_named_at_start_and_stops_with_it() {
    let dir = TempDir::new("start");
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let url = dir.sqlite_url();
    let mut server = serve(
        &dir,
        &[
            ("DATABASE_URL", &url),
            ("NESTEGG_METRICS_ADDR", &metrics_addr),
        ],
    );
    let line = serving_line(&server.logs());
    let live = reqwest::get(format!("{}/health/live", server.base))
        .await
        .unwrap();
    let on_api = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    let scraped = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap();
    let status = scraped.status();
    let text = scraped.text().await.unwrap();
    let stopped = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };

    assert_eq!(
        line["metrics"],
        format!("http://{metrics_addr}/metrics"),
        "{line}"
    );
    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(on_api.status(), StatusCode::NOT_FOUND);
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains(
            "nestegg_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(stopped.success());
    assert!(exit.success(), "{exit}: {}", server.logs());
}

#[test]
fn help_lists_every_setting_of_the_settings_table_with_its_default() {
    let dir = TempDir::new("start");
    let (code, help, err) = nestegg(&dir, &["--help"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        help.contains(&nestegg::config::settings_help()),
        "the table, as rendered:\n{help}"
    );
    for setting in nestegg::config::SETTINGS {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", setting.name)))
            .unwrap_or_else(|| panic!("{} missing from:\n{help}", setting.name));
        assert!(
            line.contains(&format!("[default: {}]", setting.default.text())),
            "{line}"
        );
    }
    for args in [&["-h"][..], &["serve", "--help"]] {
        let (code, help, _) = nestegg(&dir, args, &[]);
        assert_eq!(code, 0);
        assert!(
            help.contains(&nestegg::config::settings_help()),
            "{args:?}:\n{help}"
        );
    }
}
