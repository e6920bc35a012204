//! Spawning the app for a test (zero-to-production's `spawn_app`).

use std::net::TcpListener;

use actix_web::web;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nestegg::config::{Secret, Settings};
use nestegg::startup::serve;
use nestegg::state::AppState;
use nestegg_persistence::testing::{Backend, TestDb};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub const JWT_SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub db: TestDb,
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
    init_logs();
    let db = TestDb::new(backend).await?;
    let settings = test_settings(&db.url);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let state = web::Data::new(AppState::new(&db.db, &settings).unwrap());
    let app = serve(listener, state, settings.body_limit).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        address,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db,
    })
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

    pub async fn register(&self, name: &str) -> Value {
        let response = self
            .post(
                "/api/v1/auth/register",
                &json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
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

    /// Exchanges a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": refresh_token}),
            None,
        )
        .await
    }

    /// Creates an account; asserts 201 and returns it.
    pub async fn account(&self, token: &str, body: Value) -> Value {
        let response = self.post("/api/v1/accounts", &body, Some(token)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        response.json().await.unwrap()
    }

    /// Creates a transaction; asserts 201 and returns it.
    pub async fn transaction(&self, token: &str, body: Value) -> Value {
        let response = self.post("/api/v1/transactions", &body, Some(token)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        response.json().await.unwrap()
    }

    /// GETs `path` and returns the JSON body after asserting 200.
    pub async fn read(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    /// Registers `name` and logs in; returns (access, refresh).
    pub async fn signed_in(&self, name: &str) -> (String, String) {
        self.register(name).await;
        let response = self.login(name, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

pub const PASSWORD: &str = "correct horse battery";

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
    init_logs();
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = test_settings(&db.url);
    settings.redis_url = Some(redis_url.to_owned());
    settings.redis_prefix = format!("nestegg-test:{}:", uuid::Uuid::new_v4());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let state = web::Data::new(AppState::new(&db.db, &settings).unwrap());
    let app = serve(listener, state, settings.body_limit).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: Client::new(),
        db,
    }
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
