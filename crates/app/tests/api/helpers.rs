//! Spawning the app for a test (zero-to-production's `spawn_app`).

use std::net::TcpListener;

use actix_web::web;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nestegg::config::{Secret, Settings};
use nestegg::startup::serve;
use nestegg::state::AppState;
use nestegg_persistence::testing::{Backend, TestDb};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

pub const JWT_SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub db: TestDb,
    /// What the server counts; `tests/api/metrics.rs` serves it on a listener of its own.
    pub metrics: std::sync::Arc<nestegg::metrics::AppMetrics>,
}

/// Access-token claims for `user` in a session of its own (for hand-made tokens).
pub fn claims(user: uuid::Uuid) -> nestegg_ports::AccessClaims {
    nestegg_ports::AccessClaims {
        user_id: user,
        session_id: uuid::Uuid::now_v7(),
    }
}

/// Settings for a test: fixed secrets, the cheapest bcrypt cost.
pub fn test_settings(database_url: &str) -> Settings {
    let key = STANDARD.encode([7u8; 32]);
    let vars = [
        ("DATABASE_URL", database_url.to_owned()),
        ("NESTEGG_ADDR", "127.0.0.1:0".to_owned()),
        ("NESTEGG_BCRYPT_COST", "4".to_owned()),
        (
            "NESTEGG_JWT_SECRET",
            String::from_utf8(JWT_SECRET.to_vec()).unwrap(),
        ),
        ("NESTEGG_ENCRYPTION_KEY", key),
    ];
    let settings = Settings::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    assert_eq!(settings.jwt_secret, Secret::from_test(JWT_SECRET));
    settings
}

/// Logs go to stderr only with `TEST_LOG=1`; tests are silent otherwise.
fn init_logs() {
    if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
        nestegg::telemetry::init();
    }
}

/// Starts the app on a fresh database of `backend`; `None` when that backend is not set up.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    let settings = test_settings(&db.url);
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Some(start(db, &settings, client))
}

/// Serves the app on `db` with `settings` on a random port.
pub fn start(db: TestDb, settings: &Settings, client: Client) -> TestApp {
    init_logs();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let state = web::Data::new(AppState::new(&db.db, settings).unwrap());
    let metrics = state.metrics.clone();
    let app = serve(listener, state, settings.body_limit).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client,
        db,
        metrics,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, body: &Value, token: &str) -> Response {
        self.send(Method::PATCH, path, Some(body), Some(token))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value, token: &str) -> Response {
        self.send(Method::PUT, path, Some(body), Some(token)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.send(Method::DELETE, path, None, Some(token)).await
    }

    /// Sends a request as `token`; returns its status and JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: &str,
    ) -> (StatusCode, Value) {
        let response = self.send(method, path, body, Some(token)).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    pub async fn patch_json(&self, path: &str, body: &Value, token: &str) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body), token).await
    }

    pub async fn put_json(&self, path: &str, body: &Value, token: &str) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body), token).await
    }

    /// Sends a request as `token`, asserts `expected` and returns the JSON body.
    pub async fn expect(
        &self,
        expected: StatusCode,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: &str,
    ) -> Value {
        let what = format!("{method} {path}");
        let (status, json) = self.call(method, path, body, token).await;
        assert_eq!(status, expected, "{what}: {json}");
        json
    }

    /// POSTs `body` to `path`; asserts 201 and returns what was created.
    pub async fn create(&self, path: &str, token: &str, body: Value) -> Value {
        self.expect(StatusCode::CREATED, Method::POST, path, Some(&body), token)
            .await
    }

    /// Asks to register `name` (`name@example.com`, password [`PASSWORD`]); the answer as it is.
    pub async fn try_register(&self, name: &str) -> Response {
        self.post(
            "/api/v1/auth/register",
            &json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD}),
            None,
        )
        .await
    }

    /// Registers `name`; asserts 201 and returns the answer.
    pub async fn register(&self, name: &str) -> Value {
        body_of(self.try_register(name).await, StatusCode::CREATED).await
    }

    /// Logs in; returns the token response.
    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            &json!({"login": login, "password": password}),
            None,
        )
        .await
    }

    /// The status of a login attempt.
    pub async fn login_status(&self, login: &str, password: &str) -> StatusCode {
        self.login(login, password).await.status()
    }

    /// Fails `n` logins of `name` with a wrong password, asserting each is a 401.
    pub async fn fail_logins(&self, name: &str, n: usize) {
        for attempt in 1..=n {
            assert_eq!(
                self.login_status(name, "wrong password!").await,
                StatusCode::UNAUTHORIZED,
                "failed login {attempt}"
            );
        }
    }

    /// Exchanges a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": refresh_token}),
            None,
        )
        .await
    }

    /// Exchanges a refresh token; asserts 200 and returns the new pair.
    pub async fn refreshed(&self, refresh_token: &str) -> Value {
        body_of(self.refresh(refresh_token).await, StatusCode::OK).await
    }

    /// Creates an account; asserts 201 and returns it.
    pub async fn account(&self, token: &str, body: Value) -> Value {
        self.create("/api/v1/accounts", token, body).await
    }

    /// Creates an account from [`account_body`]'s fields; returns its id.
    pub async fn new_account(&self, token: &str, name: &str, kind: &str, balance: &str) -> String {
        id(&self.account(token, account_body(name, kind, balance)).await)
    }

    /// Creates a checking account holding `balance`; returns its id.
    pub async fn checking(&self, token: &str, balance: &str) -> String {
        self.new_account(token, "Checking", "checking", balance)
            .await
    }

    /// Creates a transaction; asserts 201 and returns it.
    pub async fn transaction(&self, token: &str, body: Value) -> Value {
        self.create("/api/v1/transactions", token, body).await
    }

    /// GETs `path` and returns the JSON body after asserting 200.
    pub async fn read(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    /// Asserts `path` is no longer there: a 404.
    pub async fn assert_gone(&self, path: &str, token: &str) {
        let response = self.get(path, Some(token)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }

    /// How many items the page at `path` holds.
    pub async fn count(&self, path: &str, token: &str) -> usize {
        items(&self.read(path, token).await).len()
    }

    /// Follows `next_cursor` from `path` (which has a query already) to the end:
    /// every item in order, and how many pages it took.
    pub async fn all_pages(&self, path: &str, token: &str) -> (Vec<Value>, usize) {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}&cursor={c}"),
                None => path.to_owned(),
            };
            let page = self.read(&url, token).await;
            pages += 1;
            seen.extend(items(&page).iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        (seen, pages)
    }

    /// Runs SQL on the app's database, with `$1`-style placeholders on either backend.
    pub async fn execute(&self, sql: &str, values: Vec<sea_orm::Value>) {
        use sea_orm::ConnectionTrait;
        self.db
            .db
            .conn()
            .execute_raw(nestegg_persistence::sql::statement(
                self.db.backend(),
                sql,
                values,
            ))
            .await
            .unwrap();
    }

    /// The readiness report; asserts 200.
    pub async fn readiness(&self) -> Value {
        let response = self.get("/health/ready", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// The signed-in user's profile.
    pub async fn me(&self, token: &str) -> Value {
        self.read("/api/v1/me", token).await
    }

    /// The signed-in user's id.
    pub async fn user_id(&self, token: &str) -> uuid::Uuid {
        self.me(token).await["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The overview's net worth.
    pub async fn net_worth(&self, token: &str) -> Value {
        self.read("/api/v1/overview", token).await["net_worth"].clone()
    }

    /// An account's current balance.
    pub async fn balance(&self, token: &str, account: &str) -> Value {
        self.read(&format!("/api/v1/accounts/{account}"), token)
            .await["current_balance"]
            .clone()
    }

    /// Registers `name` and logs in; returns (access, refresh).
    pub async fn signed_in(&self, name: &str) -> (String, String) {
        self.register(name).await;
        let body = body_of(self.login(name, PASSWORD).await, StatusCode::OK).await;
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Signs `name` in with one checking account holding `balance`: (access token, account id).
    pub async fn with_checking(&self, name: &str, balance: &str) -> (String, String) {
        let (token, _) = self.signed_in(name).await;
        let account = self.checking(&token, balance).await;
        (token, account)
    }

    /// GETs `path` as `token`; asserts the envelope with `status` and `code`.
    pub async fn assert_get_error(&self, path: &str, token: &str, status: StatusCode, code: &str) {
        assert_error(self.get(path, Some(token)).await, status, code).await;
    }

    /// GETs each path as `token`; asserts each is refused in the envelope with `status`.
    pub async fn assert_gets_refused(&self, paths: &[&str], token: &str, status: StatusCode) {
        for path in paths {
            let response = self.get(path, Some(token)).await;
            assert_eq!(response.status(), status, "{path}");
            error_code(response, status).await;
        }
    }

    /// Sends each request as `token` and asserts it is refused with `status` and `code`.
    pub async fn assert_each_refused(
        &self,
        requests: Vec<(Method, String, Option<Value>)>,
        token: &str,
        status: StatusCode,
        code: &str,
    ) {
        for (method, path, body) in requests {
            let what = format!("{method} {path}");
            let response = self.send(method, &path, body.as_ref(), Some(token)).await;
            assert_eq!(error_code(response, status).await.0, code, "{what}");
        }
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// Asserts that `response` has `status`; its JSON body.
pub async fn body_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

/// Asserts the envelope and returns its code.
pub async fn error_code(response: Response, status: StatusCode) -> (String, Value) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("an error body in JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(
        body["error"]["message"].is_string(),
        "error.message in {body}"
    );
    (code, body)
}

/// Asserts the envelope with `status` and `code`; returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    let (actual, body) = error_code(response, status).await;
    assert_eq!(actual, code, "{body}");
    body
}

/// Asserts a 422 `validation_failed` envelope; returns the names of the fields it refuses,
/// each with a message.
pub async fn invalid_fields(response: Response) -> Vec<String> {
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields = body["error"]["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("error.fields in {body}"));
    for (name, message) in fields {
        assert!(message.is_string(), "{name} in {body}");
    }
    fields.keys().cloned().collect()
}

/// The `id` of a created resource.
pub fn id(created: &Value) -> String {
    created["id"].as_str().unwrap().to_owned()
}

/// The `items` of a page.
pub fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

/// A transaction body on `account` with its description.
pub fn described(account: &str, amount: &str, date: &str, description: &str) -> Value {
    with(
        txn_body(account, amount, date),
        json!({"description": description}),
    )
}

/// `base` with the fields of `extra` set over it.
pub fn with(mut base: Value, extra: Value) -> Value {
    let fields = base.as_object_mut().unwrap();
    for (key, value) in extra.as_object().unwrap() {
        fields.insert(key.clone(), value.clone());
    }
    base
}

/// An account body: the fields every account needs.
pub fn account_body(name: &str, kind: &str, balance: &str) -> Value {
    json!({"name": name, "type": kind, "current_balance": balance})
}

/// A transaction body on `account` described as "x"; set more with [`with`].
pub fn txn_body(account: &str, amount: &str, date: &str) -> Value {
    json!({"account_id": account, "amount": amount, "date": date, "description": "x"})
}

/// Runs a test body once on each backend: `app_test!(name, |app| async move { ... })`.
#[macro_export]
macro_rules! app_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app(nestegg_persistence::testing::Backend::Sqlite)
                    .await
                    .unwrap();
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) =
                    $crate::helpers::spawn_app(nestegg_persistence::testing::Backend::Postgres)
                        .await
                {
                    ($body)(app).await;
                }
            }
        }
    };
}

/// Starts the app on SQLite with Redis at `redis_url` under a key prefix of its own.
pub async fn spawn_app_with_redis(redis_url: &str) -> TestApp {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = test_settings(&db.url);
    settings.redis_url = Some(redis_url.to_owned());
    settings.redis_prefix = format!("nestegg-test:{}:", uuid::Uuid::new_v4());
    start(db, &settings, Client::new())
}

/// The Redis of `TEST_REDIS_URL`, or `None` (skip) when unset and not required.
pub fn test_redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("NESTEGG_REQUIRE_REDIS").as_deref() != Ok("1"),
                "NESTEGG_REQUIRE_REDIS=1 but TEST_REDIS_URL is not set"
            );
            None
        }
    }
}
