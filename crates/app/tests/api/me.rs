//! The signed-in user's own account.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{PASSWORD, TestApp, error_code};

app_test!(
    preferences_and_username_can_be_changed,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        let body = json!({"preferences": {"base_currency": "EUR", "theme": "dark"}});
        let response = app
            .send(Method::PATCH, "/api/v1/me", Some(&body), Some(&access))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["preferences"]["base_currency"], "EUR");
        assert_eq!(me["username"], "ada");

        let response = app
            .send(
                Method::PATCH,
                "/api/v1/me",
                Some(&json!({"username": "ada.l"})),
                Some(&access),
            )
            .await;
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["username"], "ada.l");
        assert_eq!(me["preferences"]["theme"], "dark");
        assert_eq!(app.login("ada.l", PASSWORD).await.status(), StatusCode::OK);
    }
);

app_test!(
    invalid_profile_changes_are_refused_field_by_field,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        app.register("bob").await;
        let bad = json!({"username": "X", "preferences": {"base_currency": "EURO"}});
        let response = app
            .send(Method::PATCH, "/api/v1/me", Some(&bad), Some(&access))
            .await;
        let (code, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(code, "validation_failed");
        assert!(body["error"]["fields"]["username"].is_string());
        assert!(body["error"]["fields"]["preferences"].is_string());
        let nulls = json!({"username": null, "preferences": null});
        let response = app
            .send(Method::PATCH, "/api/v1/me", Some(&nulls), Some(&access))
            .await;
        let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["error"]["fields"].as_object().unwrap().len(), 2);
        let taken = json!({"username": "bob"});
        let response = app
            .send(Method::PATCH, "/api/v1/me", Some(&taken), Some(&access))
            .await;
        assert_eq!(
            error_code(response, StatusCode::CONFLICT).await.0,
            "username_taken"
        );
        let me: Value = app
            .get("/api/v1/me", Some(&access))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["username"], "ada");
    }
);

app_test!(
    changing_the_password_revokes_refresh_tokens_and_needs_the_current_one,
    |app: TestApp| async move {
        let (access, refresh) = app.signed_in("ada").await;
        let wrong =
            json!({"current_password": "not it at all", "new_password": "a new long password"});
        let response = app
            .send(
                Method::PUT,
                "/api/v1/me/password",
                Some(&wrong),
                Some(&access),
            )
            .await;
        let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(body["error"]["fields"]["current_password"].is_string());

        let right = json!({"current_password": PASSWORD, "new_password": "a new long password"});
        let response = app
            .send(
                Method::PUT,
                "/api/v1/me/password",
                Some(&right),
                Some(&access),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let old = app.refresh(&refresh).await;
        assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.login("ada", PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.login("ada", "a new long password").await.status(),
            StatusCode::OK
        );
    }
);

app_test!(
    deleting_the_account_needs_the_password_and_removes_the_user,
    |app: TestApp| async move {
        let (access, refresh) = app.signed_in("ada").await;
        let (bob_access, _) = app.signed_in("bob").await;
        let wrong = json!({"password": "not the password"});
        let response = app
            .send(Method::DELETE, "/api/v1/me", Some(&wrong), Some(&access))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.get("/api/v1/me", Some(&access)).await.status(),
            StatusCode::OK
        );

        let right = json!({"password": PASSWORD});
        let response = app
            .send(Method::DELETE, "/api/v1/me", Some(&right), Some(&access))
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        assert_eq!(
            app.get("/api/v1/me", Some(&access)).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.login("ada", PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let refreshed = app.refresh(&refresh).await;
        assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.get("/api/v1/me", Some(&bob_access)).await.status(),
            StatusCode::OK
        );
        // The same email can register again: nothing of the old account is left holding it.
        app.register("ada").await;
    }
);
