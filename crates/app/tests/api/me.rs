//! The signed-in user's own account.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::app_test;
use crate::helpers::{PASSWORD, TestApp, assert_error, invalid_fields};

app_test!(
    preferences_and_username_can_be_changed,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        let body = json!({"preferences": {"base_currency": "EUR", "theme": "dark"}});
        let (status, me) = app.patch_json("/api/v1/me", &body, &access).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["preferences"]["base_currency"], "EUR");
        assert_eq!(me["username"], "ada");

        let (status, me) = app
            .patch_json("/api/v1/me", &json!({"username": "ada.l"}), &access)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["username"], "ada.l");
        assert_eq!(me["preferences"]["theme"], "dark");
        assert_eq!(app.login_status("ada.l", PASSWORD).await, StatusCode::OK);
    }
);

app_test!(
    invalid_profile_changes_are_refused_field_by_field,
    |app: TestApp| async move {
        let (access, _) = app.signed_in("ada").await;
        app.register("bob").await;
        for bad in [
            json!({"username": "X", "preferences": {"base_currency": "EURO"}}),
            json!({"username": null, "preferences": null}),
        ] {
            let response = app.patch("/api/v1/me", &bad, &access).await;
            assert_eq!(
                invalid_fields(response).await,
                ["preferences", "username"],
                "{bad}"
            );
        }
        let taken = json!({"username": "bob"});
        let response = app.patch("/api/v1/me", &taken, &access).await;
        assert_error(response, StatusCode::CONFLICT, "username_taken").await;
        assert_eq!(app.me(&access).await["username"], "ada");
    }
);

app_test!(
    changing_the_password_revokes_refresh_tokens_and_needs_the_current_one,
    |app: TestApp| async move {
        let (access, refresh) = app.signed_in("ada").await;
        let new = "a new long password";
        let path = "/api/v1/me/password";
        let wrong = json!({"current_password": "not it at all", "new_password": new});
        let response = app.put(path, &wrong, &access).await;
        assert_eq!(invalid_fields(response).await, ["current_password"]);

        let right = json!({"current_password": PASSWORD, "new_password": new});
        let response = app.put(path, &right, &access).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let old = app.refresh(&refresh).await;
        assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
        for (password, expected) in [(PASSWORD, StatusCode::UNAUTHORIZED), (new, StatusCode::OK)] {
            assert_eq!(
                app.login_status("ada", password).await,
                expected,
                "{password}"
            );
        }
    }
);

app_test!(
    deleting_the_account_needs_the_password_and_removes_the_user,
    |app: TestApp| async move {
        let (access, refresh) = app.signed_in("ada").await;
        let (bob_access, _) = app.signed_in("bob").await;
        let delete = |password: &str| {
            let body = json!({"password": password});
            let (app, access) = (&app, &access);
            async move {
                app.send(Method::DELETE, "/api/v1/me", Some(&body), Some(access))
                    .await
                    .status()
            }
        };
        assert_eq!(
            delete("not the password").await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        app.me(&access).await;

        assert_eq!(delete(PASSWORD).await, StatusCode::NO_CONTENT);
        assert_eq!(
            app.get("/api/v1/me", Some(&access)).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.login_status("ada", PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        let refreshed = app.refresh(&refresh).await;
        assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
        app.me(&bob_access).await;
        // The same email can register again: nothing of the old account is left holding it.
        app.register("ada").await;
    }
);
