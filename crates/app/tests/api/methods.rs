//! Methods: a known path with a wrong method is a 405 naming the right ones; `HEAD` works
//! wherever `GET` does.

use nestegg_persistence::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_on_a_known_route_is_405_with_allow_and_the_envelope() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (token, _) = app.signed_in("ada").await;
    for (method, path, allow) in [
        (Method::PUT, "/api/v1/accounts", "GET, HEAD, POST"),
        (Method::DELETE, "/api/v1/overview", "GET, HEAD"),
        (Method::GET, "/api/v1/auth/login", "POST"),
        (
            Method::POST,
            "/api/v1/accounts/0192f1c4-0000-7000-8000-000000000000",
            "GET, HEAD, PATCH, DELETE",
        ),
    ] {
        let response = app.send(method.clone(), path, None, Some(&token)).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert_eq!(
            body["error"]["message"],
            format!("{method} is not allowed here; use {allow}")
        );
    }
    // A path no route has is still a 404.
    let response = app.get("/api/v1/nothing-here", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "no such route");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_wherever_get_does_with_the_headers_and_no_body() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let (token, _) = app.signed_in("ada").await;
    app.checking(&token, "100.00").await;
    for path in ["/health/live", "/api/v1/accounts", "/api/v1/overview"] {
        let get = app.get(path, Some(&token)).await;
        let get_type = get.headers()["content-type"].clone();
        let get_body = get.bytes().await.unwrap();
        assert!(!get_body.is_empty(), "{path}");
        let head = app.send(Method::HEAD, path, None, Some(&token)).await;
        assert_eq!(head.status(), StatusCode::OK, "{path}");
        assert_eq!(head.headers()["content-type"], get_type, "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
    // HEAD needs the same token GET does.
    let head = app.send(Method::HEAD, "/api/v1/accounts", None, None).await;
    assert_eq!(head.status(), StatusCode::UNAUTHORIZED);
}
