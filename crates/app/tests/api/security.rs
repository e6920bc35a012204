//! Every authenticated route refuses missing, forged and expired tokens, and every JSON route
//! refuses an oversize body, without touching any data.

use chrono::Utc;
use nestegg_crypto::JwtAccessTokens;
use nestegg_ports::AccessTokens;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use nestegg_plaid_fake::{FakePlaid, Signing, WebhookKind};

use crate::helpers::{
    JWT_SECRET, PASSWORD, TestApp, assert_error, claims, described, error_code, id,
};
use crate::plaid::{connection_path, linked_item};
use crate::{app_test, plaid_test};

/// Every route that needs a bearer token, with a body that would otherwise be valid.
fn protected_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/me", None),
        (Method::GET, "/api/v1/me/export", None),
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
        (Method::GET, "/api/v1/accounts", None),
        (
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"name": "x", "type": "checking", "current_balance": 1})),
        ),
        (
            Method::POST,
            "/api/v1/transactions",
            Some(
                json!({"account_id": "01a212f7-1805-75ec-bc78-4e79eb529b02", "amount": 1, "date": "2026-11-01", "description": "x"}),
            ),
        ),
        (Method::GET, "/api/v1/transactions", None),
        (Method::GET, "/api/v1/overview", None),
        (Method::GET, "/api/v1/overview/history", None),
        (Method::GET, "/api/v1/cashflow", None),
        (Method::GET, "/api/v1/fx-rates", None),
        (
            Method::PUT,
            "/api/v1/fx-rates/EUR",
            Some(json!({"rate": 1})),
        ),
        // The bearer token is checked before whether Plaid is configured: these tests run
        // without Plaid settings, where a signed-in caller would get a 503.
        (Method::POST, "/api/v1/plaid/link-token", None),
        (
            Method::POST,
            "/api/v1/plaid/connections",
            Some(json!({"public_token": "public-sandbox-x"})),
        ),
        (Method::GET, "/api/v1/plaid/connections", None),
        (Method::GET, SOME_CONNECTION, None),
        (Method::DELETE, SOME_CONNECTION, None),
        (
            Method::POST,
            "/api/v1/plaid/connections/01a212f7-1805-75ec-bc78-4e79eb529b03/sync",
            None,
        ),
    ]
}

const SOME_CONNECTION: &str = "/api/v1/plaid/connections/01a212f7-1805-75ec-bc78-4e79eb529b03";

app_test!(
    every_protected_route_refuses_a_missing_forged_or_expired_token,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        let user = app.user_id(&access).await;
        let forged = JwtAccessTokens::new(&[3u8; 32], 900)
            .unwrap()
            .issue(claims(user), Utc::now())
            .unwrap()
            .token;
        let expired = JwtAccessTokens::new(JWT_SECRET, 900)
            .unwrap()
            .issue(claims(user), Utc::now() - chrono::Duration::minutes(16))
            .unwrap()
            .token;
        for (method, path, body) in protected_routes() {
            for token in [None, Some(forged.as_str()), Some(expired.as_str())] {
                let response = app.send(method.clone(), path, body.as_ref(), token).await;
                error_code(response, StatusCode::UNAUTHORIZED).await;
            }
        }
        // Nothing changed: the user is still there with the same name and password.
        assert_eq!(app.me(&access).await["username"], "ada");
        assert_eq!(app.login_status("ada", PASSWORD).await, StatusCode::OK);
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
        app.me(&access).await;
    }
);

app_test!(
    every_route_with_an_id_answers_404_for_another_users_and_changes_nothing,
    |app: TestApp| async move {
        let (ada, a) = app.with_checking("ada", "100").await;
        let (bob, _) = app.signed_in("bob").await;
        let t = app
            .transaction(&ada, described(&a, "-10", "2026-11-01", "Mine"))
            .await;
        let t = id(&t);
        let attempts: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/accounts/{a}"), None),
            (
                Method::PATCH,
                format!("/api/v1/accounts/{a}"),
                Some(json!({"name": "Stolen", "current_balance": "0"})),
            ),
            (Method::DELETE, format!("/api/v1/accounts/{a}"), None),
            (Method::GET, format!("/api/v1/accounts/{a}/snapshots"), None),
            (
                Method::GET,
                format!("/api/v1/accounts/{a}/adjustments"),
                None,
            ),
            (
                Method::PATCH,
                format!("/api/v1/accounts/{a}"),
                Some(
                    json!({"current_balance": "1", "as_of": "2026-11-01", "opened_on": "2026-01-01"}),
                ),
            ),
            (
                Method::GET,
                format!("/api/v1/transactions?account_id={a}"),
                None,
            ),
            (
                Method::POST,
                "/api/v1/transactions".to_owned(),
                Some(described(&a, "5", "2026-11-01", "Sneaky")),
            ),
            (Method::GET, format!("/api/v1/transactions/{t}"), None),
            (
                Method::PATCH,
                format!("/api/v1/transactions/{t}"),
                Some(json!({"amount": "-99"})),
            ),
            (Method::DELETE, format!("/api/v1/transactions/{t}"), None),
            (
                Method::GET,
                format!("/api/v1/transactions/{t}/history"),
                None,
            ),
        ];
        app.assert_each_refused(attempts, &bob, StatusCode::NOT_FOUND, "not_found")
            .await;
        let after = app.read(&format!("/api/v1/accounts/{a}"), &ada).await;
        assert_eq!(
            (after["name"].as_str(), after["current_balance"].as_str()),
            (Some("Checking"), Some("90"))
        );
        assert_eq!(after["opened_on"], "2026-11-01");
        let adjustments = format!("/api/v1/accounts/{a}/adjustments");
        assert_eq!(app.count(&adjustments, &ada).await, 0);
        let mine = app.read(&format!("/api/v1/transactions/{t}"), &ada).await;
        assert_eq!(mine["amount"], "-10");
        let history = format!("/api/v1/transactions/{t}/history");
        assert_eq!(app.count(&history, &ada).await, 1);
        assert_eq!(app.count("/api/v1/transactions", &bob).await, 0);
        assert_eq!(app.net_worth(&bob).await, "0");
    }
);

app_test!(malformed_ids_in_paths_are_400s, |app: TestApp| async move {
    let (token, _) = app.signed_in("ada").await;
    let paths = [
        "/api/v1/accounts/not-a-uuid",
        "/api/v1/transactions/123",
        "/api/v1/transactions/x/history",
        "/api/v1/plaid/connections/not-a-uuid",
    ];
    let attempts = paths
        .iter()
        .map(|path| (Method::GET, (*path).to_owned(), None))
        .collect();
    app.assert_each_refused(attempts, &token, StatusCode::BAD_REQUEST, "invalid_path")
        .await;
});

plaid_test!(
    the_plaid_webhook_refuses_an_oversize_body_with_413_and_an_unsigned_one_with_401,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, item) = linked_item(&app, &fake, "ada").await;
        let path = connection_path(&connection);
        let genuine = fake
            .webhook(&item, WebhookKind::Error, Signing::Valid)
            .unwrap();
        let send = |body: String, signature: Option<&str>, bearer: Option<&str>| {
            let mut request = app
                .client
                .post(app.url("/api/v1/plaid/webhook"))
                .header("content-type", "application/json")
                .body(body);
            if let Some(signature) = signature {
                request = request.header("Plaid-Verification", signature.to_owned());
            }
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            request.send()
        };
        // No Plaid-Verification JWT: refused, and a user's bearer token does not stand in.
        for bearer in [None, Some(token.as_str())] {
            let response = send(genuine.body.clone(), None, bearer).await.unwrap();
            assert_error(response, StatusCode::UNAUTHORIZED, "invalid_signature").await;
        }
        // Too large to read: refused before any signature is looked at.
        let huge = format!(
            "{{\"webhook_type\":\"ITEM\",\"webhook_code\":\"ERROR\",\"item_id\":\"{item}\",\"pad\":\"{}\"}}",
            "x".repeat(300 * 1024)
        );
        for signature in [None, Some(genuine.plaid_verification.as_str())] {
            let response = send(huge.clone(), signature, None).await.unwrap();
            assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        }
        assert_eq!(app.read(&path, &token).await["sync_status"], "pending");

        // The same body, signed: acted on.
        let response = send(
            genuine.body.clone(),
            Some(&genuine.plaid_verification),
            None,
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            app.read(&path, &token).await["sync_status"],
            "login_required"
        );
    }
);
