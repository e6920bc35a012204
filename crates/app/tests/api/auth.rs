//! Register, login, refresh, logout, tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use nestegg_crypto::JwtAccessTokens;
use nestegg_ports::AccessTokens;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, assert_error, claims, error_code};

app_test!(
    a_newcomer_registers_logs_in_and_reads_their_profile,
    |app: TestApp| async move {
        let registered = app.register("ada").await;
        assert_eq!(registered["user"]["email"], "ada@example.com");
        assert!(registered["user"].get("hashed_password").is_none());

        let response = app.login("ada@example.com", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let tokens: Value = response.json().await.unwrap();
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 900);

        let me = app.me(tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(me["id"], registered["user"]["id"]);
        assert_eq!(me["username"], "ada");
        assert_eq!(me["preferences"], json!({}));
        for field in ["created_at", "updated_at"] {
            let text = me[field].as_str().unwrap();
            assert!(text.ends_with('Z'), "{field} = {text}");
            chrono::DateTime::parse_from_rfc3339(text).unwrap();
        }
    }
);

app_test!(
    an_email_is_matched_whatever_its_case,
    |app: TestApp| async move {
        app.register("ada").await;
        assert_eq!(
            app.login_status("ADA@Example.COM", PASSWORD).await,
            StatusCode::OK
        );
    }
);

app_test!(
    a_duplicate_email_or_username_is_a_conflict,
    |app: TestApp| async move {
        app.register("ada").await;
        for (email, username, code, field) in [
            ("ADA@example.com", "other", "email_taken", "email"),
            ("other@example.com", "ada", "username_taken", "username"),
        ] {
            let again = json!({"email": email, "username": username, "password": PASSWORD});
            let response = app.post("/api/v1/auth/register", &again, None).await;
            let body = assert_error(response, StatusCode::CONFLICT, code).await;
            assert!(body["error"]["fields"][field].is_string(), "{body}");
        }
    }
);

app_test!(
    a_wrong_password_and_an_unknown_login_get_the_same_answer,
    |app: TestApp| async move {
        app.register("ada").await;
        let wrong = app.login("ada", "not the password").await;
        let body_a = assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        let unknown = app.login("nobody", "not the password").await;
        let (_, body_b) = error_code(unknown, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body_a, body_b);
    }
);

app_test!(
    repeated_login_failures_are_rate_limited_with_retry_after,
    |app: TestApp| async move {
        app.register("ada").await;
        app.fail_logins("ada", 5).await;
        let limited = app.login("ada", PASSWORD).await;
        let retry: u64 = limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // Another login from the same address is not blocked by ada's counter.
        app.register("bob").await;
        assert_eq!(app.login_status("bob", PASSWORD).await, StatusCode::OK);
    }
);

app_test!(
    a_refresh_token_works_once_and_its_reuse_revokes_the_family,
    |app: TestApp| async move {
        let (_, first) = app.signed_in("ada").await;
        let pair = app.refreshed(&first).await;
        let second = pair["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second, first);
        app.me(pair["access_token"].as_str().unwrap()).await;

        // The spent token again: refused, and the whole family with it.
        let reuse = app.refresh(&first).await;
        assert_error(reuse, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
        let after = app.refresh(&second).await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    }
);

app_test!(
    logging_out_spends_the_refresh_token,
    |app: TestApp| async move {
        let (access, refresh) = app.signed_in("ada").await;
        let body = json!({"refresh_token": refresh});
        let out = app.post("/api/v1/auth/logout", &body, Some(&access)).await;
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        let again = app.refresh(&refresh).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
        let unauthenticated = app.post("/api/v1/auth/logout", &body, None).await;
        assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    }
);

app_test!(
    forged_expired_and_missing_tokens_are_refused,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        let payload = access.split('.').nth(1).unwrap().to_owned();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let other_key = JwtAccessTokens::new(&[1u8; 32], 900).unwrap();
        let user = app.user_id(&access).await;
        let ours = JwtAccessTokens::new(JWT_SECRET, 900).unwrap();
        let expired = ours
            .issue(claims(user), Utc::now() - chrono::Duration::hours(1))
            .unwrap()
            .token;
        let mut tampered = access.clone();
        tampered.pop();
        tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
        let cases = [
            format!("{none_header}.{payload}."),
            other_key.issue(claims(user), Utc::now()).unwrap().token,
            tampered,
            "garbage".to_owned(),
        ];
        for token in cases {
            let response = app.get("/api/v1/me", Some(&token)).await;
            assert!(
                response.headers().contains_key("www-authenticate"),
                "{token}"
            );
            assert_eq!(
                error_code(response, StatusCode::UNAUTHORIZED).await.0,
                "unauthorized",
                "{token}"
            );
        }
        for (token, code) in [
            (Some(expired.as_str()), "token_expired"),
            (None, "unauthorized"),
        ] {
            let response = app.get("/api/v1/me", token).await;
            assert_error(response, StatusCode::UNAUTHORIZED, code).await;
        }
        let basic = app
            .client
            .get(app.url("/api/v1/me"))
            .basic_auth("ada", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    }
);

app_test!(
    parallel_guesses_cannot_slip_past_the_login_limit,
    |app: TestApp| async move {
        app.register("ada").await;
        let app = std::sync::Arc::new(app);
        let guesses: Vec<_> = (0..20)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(
                    async move { app.login_status("ada", &format!("guess number {i}")).await },
                )
            })
            .collect();
        let mut statuses = Vec::new();
        for g in guesses {
            statuses.push(g.await.unwrap());
        }
        let count = |status: StatusCode| statuses.iter().filter(|s| **s == status).count();
        assert_eq!(
            (
                count(StatusCode::UNAUTHORIZED),
                count(StatusCode::TOO_MANY_REQUESTS)
            ),
            (5, 15)
        );
    }
);
