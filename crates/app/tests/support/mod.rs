//! What the tests that run the real `nestegg` binary share: the server as a child process
//! (started, killed, sent SIGTERM), a private PostgreSQL cluster and a private Redis that a test
//! may stop and start again (never the machine's shared ones), and small HTTP helpers.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::Value;

/// A free TCP port on the loopback interface (free when this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nestegg-{what}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("nestegg.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The settings every server these tests start shares, beside `DATABASE_URL`: fixed secrets
/// (any process of one test can read another's tokens and Plaid links), the cheapest bcrypt
/// cost, logs at INFO.
pub fn server_env(database_url: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    vec![
        ("DATABASE_URL", database_url.to_owned()),
        (
            "NESTEGG_JWT_SECRET",
            "test-server-secret-test-server-secret".to_owned(),
        ),
        (
            "NESTEGG_ENCRYPTION_KEY",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        ),
        ("NESTEGG_BCRYPT_COST", "4".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
}

/// A `nestegg serve` child process; killed when dropped so a failing test leaves none behind.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts the binary with `env` (and nothing else from this process's environment) on a
    /// free port, in `dir` when given, its output appended to `log`; does not wait for it.
    pub fn spawn<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        env: impl IntoIterator<Item = (K, V)>,
        log: &Path,
        dir: Option<&Path>,
    ) -> Self {
        let port = free_port();
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_nestegg"));
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let child = command
            .arg("serve")
            .env_clear()
            .envs(env)
            .env("NESTEGG_ADDR", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            log: log.to_owned(),
        }
    }

    /// [`Server::spawn`]s the binary with `env`, and waits until `/health/ready` answers 200.
    pub async fn start(env: &[(&str, String)], log: &Path) -> Self {
        let mut server = Self::spawn(env.iter().map(|(k, v)| (*k, v.as_str())), log, None);
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
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

    /// `path` under `/api/v1`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown hook, no in-flight request finished, no lease released.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM, as a service manager stopping it does.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to exit; its status, or `None` if it still runs.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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

/// The answer's status and its body as JSON (a string when it is not JSON).
/// Runs `sql` on the database at `url` (the one the servers use) through a connection of
/// the test's own.
pub async fn query(url: &str, sql: &str) -> Vec<sea_orm::QueryResult> {
    use sea_orm::ConnectionTrait;
    let db = nestegg_persistence::Db::connect(url).await.unwrap();
    let rows = db
        .conn()
        .query_all_raw(nestegg_persistence::sql::statement(db.backend(), sql, []))
        .await
        .unwrap();
    db.close().await.unwrap();
    rows
}

pub async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub async fn post(
    client: &Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.unwrap()).await
}

pub async fn get(client: &Client, url: &str, token: &str) -> (StatusCode, Value) {
    answer(client.get(url).bearer_auth(token).send().await.unwrap()).await
}

/// POSTs `body` to `url` as `token`; asserts 201 Created and returns what was created.
pub async fn create(client: &Client, url: &str, token: &str, body: &Value) -> Value {
    let (status, created) = post(client, url, Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// GETs `url` as `token`; asserts 200 OK and returns the body.
pub async fn read(client: &Client, url: &str, token: &str) -> Value {
    let (status, body) = get(client, url, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Creates a checking account holding `balance` as `token`; its id.
pub async fn checking(client: &Client, server: &Server, token: &str, balance: &str) -> String {
    let body =
        serde_json::json!({"name": "Checking", "type": "checking", "current_balance": balance});
    let account = create(client, &server.url("/accounts"), token, &body).await;
    account["id"].as_str().unwrap().to_owned()
}

/// Registers `name` (password `PASSWORD`) and logs in; the access token.
pub async fn sign_up(client: &Client, server: &Server, name: &str) -> String {
    let (status, body) = post(
        client,
        &server.url("/auth/register"),
        None,
        &serde_json::json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, login) = post(
        client,
        &server.url("/auth/login"),
        None,
        &serde_json::json!({"login": name, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    login["access_token"].as_str().unwrap().to_owned()
}

pub const PASSWORD: &str = "correct horse battery";

/// Whether `NESTEGG_REQUIRE_<what>=1` makes a missing service a failure instead of a skip.
fn required(what: &str) -> bool {
    std::env::var(format!("NESTEGG_REQUIRE_{what}")).as_deref() == Ok("1")
}

/// The effective user id of this process, from `/proc/self/status`.
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The uid and gid of the system user `name`, from `/etc/passwd`.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`: `NESTEGG_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout), else the `PATH`.
fn postgres_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("NESTEGG_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

/// A PostgreSQL cluster of the test's own, in a temporary folder on a free port, so the test
/// may stop it without touching the machine's shared server. PostgreSQL refuses to run as
/// root, so under root it runs as the system user `postgres`. Stopped and removed when
/// dropped.
pub struct PrivatePostgres {
    dir: TempDir,
    bin: PathBuf,
    pub port: u16,
    run_as: Option<(u32, u32)>,
}

impl PrivatePostgres {
    /// Creates and starts the cluster, or `None` (with a message saying why) when the server
    /// binaries are missing, unless `NESTEGG_REQUIRE_PG=1`.
    pub fn start() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            assert!(
                !required("PG"),
                "NESTEGG_REQUIRE_PG=1 but the PostgreSQL server binaries (initdb, pg_ctl) were \
                 not found (set NESTEGG_PG_BIN to their folder)"
            );
            eprintln!(
                "skipped: the PostgreSQL server binaries (initdb, pg_ctl) were not found in \
                 /usr/lib/postgresql/*/bin or the PATH; set NESTEGG_PG_BIN to their folder"
            );
            return None;
        };
        let run_as = match euid() {
            Some(0) => Some(system_user("postgres").expect(
                "running as root, and PostgreSQL refuses root: a `postgres` system user is needed",
            )),
            _ => None,
        };
        let dir = TempDir::new("pg");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let cluster = Self {
            dir,
            bin,
            port: free_port(),
            run_as,
        };
        cluster.run(
            "initdb",
            &["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
        );
        cluster.start_again();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `program -D <the data directory> args...` as the cluster's user; asserts it
    /// succeeded.
    fn run(&self, program: &str, args: &[&str]) {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(self.bin.join(program));
        command
            .arg("-D")
            .arg(self.data())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// The URL of its `postgres` database, as the superuser `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it the hardest way PostgreSQL knows (`pg_ctl stop -m immediate`: every backend
    /// quits at once, no checkpoint; the next start recovers from the WAL).
    pub fn stop_immediately(&self) {
        self.run("pg_ctl", &["-m", "immediate", "-w", "stop"]);
    }

    /// Starts it (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let log = self.dir.path().join("postgres.log");
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(self.bin.join("pg_ctl"));
        command
            .args(["-D", self.data().to_str().unwrap_or_default()])
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command.status().ok();
    }
}

/// A `redis-server` of the test's own on a free port, keeping its data in an append-only file
/// written on every command (as a Redis that survives restarts does), so stopping it and
/// starting it again brings back what it held. Killed when dropped.
pub struct PrivateRedis {
    dir: TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts it, or `None` (with a message saying why) when `redis-server` is missing,
    /// unless `NESTEGG_REQUIRE_REDIS=1`.
    pub async fn start() -> Option<Self> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                !required("REDIS"),
                "NESTEGG_REQUIRE_REDIS=1 but redis-server is not on the PATH"
            );
            eprintln!("skipped: redis-server is not on the PATH");
            return None;
        }
        let mut redis = Self {
            dir: TempDir::new("redis"),
            port: free_port(),
            child: None,
        };
        redis.start_again().await;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port and files) and waits until it answers PING.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.path().join("redis.log")).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", self.dir.path().to_str().unwrap()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops it with SIGKILL (what it had acknowledged is in its append-only file).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Runs `redis-cli` against it; its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The settings that point a server at the fake Plaid.
pub fn plaid_env(fake: &nestegg_plaid_fake::FakePlaid) -> Vec<(&'static str, String)> {
    vec![
        ("PLAID_CLIENT_ID", fake.client_id().to_owned()),
        ("PLAID_SECRET", fake.secret().to_owned()),
        ("PLAID_BASE_URL", fake.base_url().to_owned()),
    ]
}

/// Links a new sandbox item of the fake Plaid to the user, as Plaid Link and the front end
/// would; the connection as the API answers it.
pub async fn link(
    client: &Client,
    server: &Server,
    token: &str,
    fake: &nestegg_plaid_fake::FakePlaid,
) -> Value {
    use nestegg_plaid::{PlaidClient, PlaidConfig, PlaidEnv};
    use nestegg_ports::plaid::Plaid;
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
        client,
        &server.url("/plaid/connections"),
        Some(token),
        &serde_json::json!({"public_token": public_token}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    connection
}
