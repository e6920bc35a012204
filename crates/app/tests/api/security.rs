//! Every authenticated route refuses missing, forged and expired tokens, and every JSON route
//! refuses an oversize body, without touching any data.

use chrono::Utc;
use nestegg_crypto::JwtAccessTokens;
use nestegg_ports::AccessTokens;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, error_code};

/// Every route that needs a bearer token, with a body that would otherwise be valid.
fn protected_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/me", None),
        (
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"username": "mallory"})),
        ),
        (
            Method::DELETE,
            "/api/v1/me",
            Some(json!({"password": PASSWORD})),
        ),
        (
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "another long one"})),
        ),
        (
            Method::POST,
            "/api/v1/auth/logout",
            Some(json!({"refresh_token": "x"})),
        ),
    ]
}

app_test!(
    every_protected_route_refuses_a_missing_forged_or_expired_token,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        let me: Value = app
            .get("/api/v1/me", Some(&access))
            .await
            .json()
            .await
            .unwrap();
        let user: uuid::Uuid = me["id"].as_str().unwrap().parse().unwrap();
        let forged = JwtAccessTokens::new(&[3u8; 32], 900)
            .unwrap()
            .issue(user, Utc::now())
            .unwrap()
            .token;
        let expired = JwtAccessTokens::new(JWT_SECRET, 900)
            .unwrap()
            .issue(user, Utc::now() - chrono::Duration::minutes(16))
            .unwrap()
            .token;
        for (method, path, body) in protected_routes() {
            for token in [None, Some(forged.as_str()), Some(expired.as_str())] {
                let response = app.send(method.clone(), path, body.as_ref(), token).await;
                error_code(response, StatusCode::UNAUTHORIZED).await;
            }
        }
        // Nothing changed: the user is still there with the same name and password.
        let after: Value = app
            .get("/api/v1/me", Some(&access))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(after["username"], "ada");
        assert_eq!(app.login("ada", PASSWORD).await.status(), StatusCode::OK);
    }
);

app_test!(
    every_json_route_refuses_an_oversize_body,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        let huge = format!("{{\"password\":\"{}\"}}", "x".repeat(300 * 1024));
        let mut routes: Vec<(Method, &str)> = protected_routes()
            .into_iter()
            .filter(|(_, _, b)| b.is_some())
            .map(|(m, p, _)| (m, p))
            .collect();
        routes.extend([
            (Method::POST, "/api/v1/auth/register"),
            (Method::POST, "/api/v1/auth/login"),
            (Method::POST, "/api/v1/auth/refresh"),
        ]);
        for (method, path) in routes {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .bearer_auth(&access)
                .header("content-type", "application/json")
                .body(huge.clone())
                .send()
                .await
                .unwrap();
            let (code, _) = error_code(response, StatusCode::PAYLOAD_TOO_LARGE).await;
            assert_eq!(code, "payload_too_large", "{method} {path}");
        }
        assert_eq!(
            app.get("/api/v1/me", Some(&access)).await.status(),
            StatusCode::OK
        );
    }
);
