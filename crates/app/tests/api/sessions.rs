//! Sessions: an access token names its session, and ending the session (logout, password
//! change, reuse of a spent refresh token, deleting the account, the absolute lifetime)
//! refuses the token at once, on every instance.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::Utc;
use nestegg::startup::serve;
use nestegg::state::AppState;
use nestegg_persistence::Db;
use nestegg_persistence::testing::{Backend, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{PASSWORD, TestApp, account_body, assert_error, start, test_settings};

const OTHER_PASSWORD: &str = "another good password";

/// Logs `name` in with `password`; the access and refresh tokens.
async fn session(app: &TestApp, name: &str, password: &str) -> (String, String) {
    let response = app.login(name, password).await;
    assert_eq!(response.status(), StatusCode::OK);
    pair(response.json().await.unwrap())
}

fn pair(body: Value) -> (String, String) {
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Asserts that `access` is refused with the envelope's `session_ended`.
async fn assert_ended(app: &TestApp, access: &str) {
    let response = app.get("/api/v1/me", Some(access)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "session_ended").await;
}

app_test!(
    after_logout_the_access_token_is_refused_at_once,
    |app: TestApp| async move {
        let (access, refresh) = app.signed_in("ada").await;
        let (other, _) = session(&app, "ada", PASSWORD).await;
        app.me(&access).await;
        let body = json!({"refresh_token": refresh});
        let out = app.post("/api/v1/auth/logout", &body, Some(&access)).await;
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        assert_ended(&app, &access).await;
        // Ada's other device keeps its session.
        assert_eq!(app.me(&other).await["username"], "ada");
    }
);

app_test!(
    after_a_password_change_every_access_token_of_the_user_is_refused_at_once,
    |app: TestApp| async move {
        let (access, refresh) = app.signed_in("ada").await;
        let (other, _) = session(&app, "ada", PASSWORD).await;
        let (bobs, _) = app.signed_in("bob").await;
        let change = json!({"current_password": PASSWORD, "new_password": OTHER_PASSWORD});
        let (status, _) = app
            .call(Method::PUT, "/api/v1/me/password", Some(&change), &access)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_ended(&app, &access).await;
        assert_ended(&app, &other).await;
        let again = app.refresh(&refresh).await;
        assert_error(again, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
        assert_eq!(app.me(&bobs).await["username"], "bob");
        let (fresh, _) = session(&app, "ada", OTHER_PASSWORD).await;
        assert_eq!(app.me(&fresh).await["username"], "ada");
    }
);

app_test!(
    after_deleting_the_account_its_access_token_is_a_401_not_a_conflict,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        app.account(&access, account_body("Checking", "checking", "10"))
            .await;
        let (status, _) = app
            .call(
                Method::DELETE,
                "/api/v1/me",
                Some(&json!({"password": PASSWORD})),
                &access,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let body = account_body("Savings", "savings", "10");
        let response = app.post("/api/v1/accounts", &body, Some(&access)).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "session_ended").await;
    }
);

app_test!(
    reusing_a_spent_refresh_token_ends_the_session_for_its_access_tokens,
    |app: TestApp| async move {
        let (_, first) = app.signed_in("ada").await;
        let (access, _) = pair(app.refreshed(&first).await);
        app.me(&access).await;
        let reuse = app.refresh(&first).await;
        assert_eq!(reuse.status(), StatusCode::UNAUTHORIZED);
        assert_ended(&app, &access).await;
    }
);

app_test!(
    a_session_past_its_absolute_lifetime_neither_refreshes_nor_authenticates,
    |app: TestApp| async move {
        // Before any request with the access token, so that no instance remembers it live.
        let (access, refresh) = app.signed_in("ada").await;
        let past = Utc::now() - chrono::Duration::seconds(1);
        app.execute("UPDATE sessions SET expires_at = $1", vec![past.into()])
            .await;
        let response = app.refresh(&refresh).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
        assert_ended(&app, &access).await;
    }
);

/// Another server instance over `app`'s database with its own state (and so its own session
/// cache), trusting a session's state for `check_seconds`; its base address.
async fn other_instance(app: &TestApp, check_seconds: u64) -> String {
    let mut settings = test_settings(&app.db.url);
    settings.session_check_ttl = Duration::from_secs(check_seconds);
    let db = Db::connect(&app.db.url).await.unwrap();
    let state = web::Data::new(AppState::new(&db, &settings).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = serve(listener, state, settings.body_limit).unwrap();
    let address = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until_stopped());
    address
}

app_test!(
    a_session_ended_on_one_instance_is_refused_on_another_within_its_check_window,
    |app: TestApp| async move {
        let other = other_instance(&app, 1).await;
        let (access, refresh) = app.signed_in("ada").await;
        let me_there = || {
            app.client
                .get(format!("{other}/api/v1/me"))
                .bearer_auth(&access)
                .send()
        };
        // The other instance has seen the session live, and may remember that for a second.
        assert_eq!(me_there().await.unwrap().status(), StatusCode::OK);
        let body = json!({"refresh_token": refresh});
        let out = app.post("/api/v1/auth/logout", &body, Some(&access)).await;
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        let ended = Instant::now();
        loop {
            let status = me_there().await.unwrap().status();
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(
                ended.elapsed() < Duration::from_secs(3),
                "still accepted {:?} after logout",
                ended.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
);

/// Refreshes `refresh` on `app`: the new pair, or `None` when refused.
async fn try_refresh(app: &TestApp, refresh: &str) -> Option<(String, String)> {
    let response = app.refresh(refresh).await;
    if response.status() == StatusCode::OK {
        Some(pair(response.json().await.unwrap()))
    } else {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        None
    }
}

/// 200 rounds of a refresh racing a password change on PostgreSQL (where they can run at
/// once): whatever wins, no token minted by the refresh works after the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_refresh_racing_a_password_change_never_mints_a_working_token() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let settings = test_settings(&db.url);
    let app = Arc::new(start(db, &settings, Client::new()));
    app.register("ada").await;
    let passwords = [PASSWORD, OTHER_PASSWORD];
    for round in 0..200 {
        let (current, new) = (passwords[round % 2], passwords[(round + 1) % 2]);
        let (access, refresh) = session(&app, "ada", current).await;
        let racer = Arc::clone(&app);
        let refreshing = tokio::spawn(async move { try_refresh(&racer, &refresh).await });
        let change = json!({"current_password": current, "new_password": new});
        let (status, body) = app
            .call(Method::PUT, "/api/v1/me/password", Some(&change), &access)
            .await;
        // The refresh may win and then the change runs with the refreshed session's old token,
        // which is still the same session: it must go through.
        assert_eq!(status, StatusCode::NO_CONTENT, "round {round}: {body}");
        if let Some((minted_access, minted_refresh)) = refreshing.await.unwrap() {
            assert_ended(&app, &minted_access).await;
            let again = app.refresh(&minted_refresh).await;
            assert_eq!(
                again.status(),
                StatusCode::UNAUTHORIZED,
                "round {round}: a refresh token minted in the race still works"
            );
        }
        assert_ended(&app, &access).await;
    }
}
