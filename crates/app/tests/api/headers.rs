//! Headers that protect clients: no MIME sniffing, no referrer, no caching of API answers, and
//! CORS only for the origins configured.

use nestegg_persistence::testing::{Backend, TestDb};
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD, CACHE_CONTROL, ORIGIN,
};
use reqwest::{Client, Method, StatusCode};

use crate::app_test;
use crate::helpers::{PASSWORD, TestApp, start, test_settings};

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

app_test!(
    every_answer_forbids_sniffing_and_referrers_and_api_answers_are_never_cached,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let login = app.login("ada", PASSWORD).await;
        let me = app.get("/api/v1/me", Some(&token)).await;
        let refused = app.get("/api/v1/me", Some("forged")).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        for response in [&login, &me, &refused] {
            assert_eq!(
                header(response, "x-content-type-options").as_deref(),
                Some("nosniff")
            );
            assert_eq!(
                header(response, "referrer-policy").as_deref(),
                Some("no-referrer")
            );
            assert_eq!(
                header(response, CACHE_CONTROL.as_str()).as_deref(),
                Some("no-store")
            );
        }
        let health = app.get("/health/live", None).await;
        assert_eq!(
            header(&health, "x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }
);

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/accounts"))
        .header(ORIGIN, origin)
        .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

app_test!(
    without_configured_origins_no_browser_origin_is_allowed,
    |app: TestApp| async move {
        let response = preflight(&app, "https://app.example.com").await;
        assert!(header(&response, ACCESS_CONTROL_ALLOW_ORIGIN.as_str()).is_none());
        let simple = app
            .client
            .get(app.url("/health/live"))
            .header(ORIGIN, "https://app.example.com")
            .send()
            .await
            .unwrap();
        assert!(header(&simple, ACCESS_CONTROL_ALLOW_ORIGIN.as_str()).is_none());
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_configured_origins_may_call_the_api_from_a_browser() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = test_settings(&db.url);
    settings.cors_origins = vec!["https://app.example.com".into()];
    let app = start(db, &settings, Client::new());
    let allowed = preflight(&app, "https://app.example.com").await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, ACCESS_CONTROL_ALLOW_ORIGIN.as_str()).as_deref(),
        Some("https://app.example.com")
    );
    let other = preflight(&app, "https://evil.example.com").await;
    assert!(header(&other, ACCESS_CONTROL_ALLOW_ORIGIN.as_str()).is_none());
}
