//! Bad input of every kind: a 4xx in the envelope, and the server keeps serving.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::app_test;
use crate::helpers::{TestApp, assert_error, error_code, invalid_fields};

async fn still_serving(app: &TestApp) {
    assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
}

async fn raw_post(app: &TestApp, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

app_test!(
    malformed_json_is_a_400_in_the_envelope,
    |app: TestApp| async move {
        for body in ["{", "not json", "", "{\"email\": }", "[1,2"] {
            let response = raw_post(&app, "/api/v1/auth/register", body).await;
            let (code, _) = error_code(response, StatusCode::BAD_REQUEST).await;
            assert!(
                code == "malformed_json" || code == "invalid_body",
                "{body:?} gave {code}"
            );
        }
        still_serving(&app).await;
    }
);

app_test!(
    wrong_types_missing_and_unknown_fields_are_400s,
    |app: TestApp| async move {
        let cases = [
            json!({"email": 5, "username": "ada", "password": "correct horse battery"}),
            json!({"email": "a@example.com", "username": "ada"}),
            json!({"email": "a@example.com", "username": "ada", "password": "correct horse battery", "admin": true}),
            json!(["not"]),
            json!("a string"),
        ];
        for body in cases {
            let response = app.post("/api/v1/auth/register", &body, None).await;
            let (code, err) = error_code(response, StatusCode::BAD_REQUEST).await;
            assert_eq!(code, "invalid_body", "{body}");
            assert!(err["error"]["message"].as_str().unwrap().len() > 5);
        }
        still_serving(&app).await;
    }
);

app_test!(
    invalid_values_are_422s_naming_each_field,
    |app: TestApp| async move {
        let body = json!({"email": "not-an-email", "username": "ada", "password": "x".repeat(129)});
        let response = app.post("/api/v1/auth/register", &body, None).await;
        assert_eq!(invalid_fields(response).await, ["email", "password"]);
        still_serving(&app).await;
    }
);

app_test!(
    a_two_megabyte_body_is_refused_with_413,
    |app: TestApp| async move {
        let huge = format!(
            "{{\"email\":\"a@example.com\",\"username\":\"ada\",\"password\":\"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        );
        let response = raw_post(&app, "/api/v1/auth/register", huge).await;
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        still_serving(&app).await;
    }
);

app_test!(
    a_body_without_the_json_content_type_is_415,
    |app: TestApp| async move {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "text/plain")
            .body("{\"login\":\"a\",\"password\":\"b\"}")
            .send()
            .await
            .unwrap();
        assert_error(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
);

app_test!(
    unknown_routes_and_methods_answer_in_the_envelope,
    |app: TestApp| async move {
        let response = app.get("/api/v1/nothing-here", None).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app
            .send(Method::GET, "/api/v1/auth/login", None, None)
            .await;
        assert_error(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
);

app_test!(
    every_response_carries_a_request_id_and_echoes_a_given_one,
    |app: TestApp| async move {
        let response = app.get("/health/live", None).await;
        assert!(!response.headers()["x-request-id"].is_empty());
        for (given, echoed) in [("trace-me-123", true), ("bad id with spaces", false)] {
            let response = app
                .client
                .get(app.url("/health/live"))
                .header("x-request-id", given)
                .send()
                .await
                .unwrap();
            let answered = &response.headers()["x-request-id"];
            assert_eq!(answered == given, echoed, "{given:?} answered {answered:?}");
        }
    }
);

app_test!(
    readiness_reports_the_database_and_the_cache,
    |app: TestApp| async move {
        assert_eq!(
            app.readiness().await,
            json!({"database": "ok", "cache": "ok"})
        );
    }
);

app_test!(
    an_array_body_is_refused_even_where_every_field_is_optional,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = app.checking(&token, "10.00").await;
        let before = app.me(&token).await;
        for path in [
            "/api/v1/me".to_owned(),
            format!("/api/v1/accounts/{account}"),
        ] {
            for body in [json!([]), json!([null]), json!("text"), json!(7)] {
                let response = app
                    .send(Method::PATCH, &path, Some(&body), Some(&token))
                    .await;
                let (code, err) = error_code(response, StatusCode::BAD_REQUEST).await;
                assert_eq!(code, "invalid_body", "{path} {body}");
                assert_eq!(err["error"]["message"], "the body must be a JSON object");
            }
        }
        assert_eq!(app.me(&token).await["updated_at"], before["updated_at"]);
    }
);
