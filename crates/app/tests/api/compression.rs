//! Compression: a large answer comes gzip-encoded to a client that accepts gzip, a small one
//! stays plain, and every answer says it varies with `Accept-Encoding`.

use std::io::Read;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::app_test;
use crate::helpers::{TestApp, described};

/// GETs `path` as `token`, with `Accept-Encoding: accept` when given.
async fn fetch(app: &TestApp, path: &str, token: Option<&str>, accept: Option<&str>) -> Response {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(accept) = accept {
        request = request.header(ACCEPT_ENCODING, accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response
}

fn header(response: &Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
}

/// Asserts the answer varies with `Accept-Encoding`; returns its `Content-Encoding`.
fn encoding(response: &Response) -> Option<String> {
    let vary = header(response, VARY).unwrap_or_default();
    assert!(vary.contains("accept-encoding"), "Vary: {vary:?}");
    header(response, CONTENT_ENCODING)
}

/// The body, gunzipped, as JSON.
async fn gunzipped(response: Response) -> Value {
    let bytes = response.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

app_test!(
    a_large_list_comes_gzipped_to_a_client_that_accepts_gzip_and_a_tiny_answer_stays_plain,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("zip", "100000").await;
        for day in 1..=28 {
            let date = format!("2026-02-{day:02}");
            app.transaction(
                &token,
                described(&account, "-12.34", &date, "groceries at the market"),
            )
            .await;
        }
        let path = "/api/v1/transactions?limit=500";

        let plain = fetch(&app, path, Some(&token), None).await;
        assert_eq!(encoding(&plain), None);
        let plain: Value = plain.json().await.unwrap();
        assert_eq!(plain["items"].as_array().unwrap().len(), 28);
        assert!(plain.to_string().len() > 4096);

        let zipped = fetch(&app, path, Some(&token), Some("gzip, deflate, br")).await;
        assert_eq!(encoding(&zipped).as_deref(), Some("gzip"));
        assert_eq!(gunzipped(zipped).await, plain);

        // A few bytes are not worth compressing.
        let tiny = fetch(&app, "/health/live", None, Some("gzip")).await;
        assert_eq!(encoding(&tiny), None);
        assert!(tiny.bytes().await.unwrap().len() < 1024);

        // No coding the client accepts, or gzip refused: the plain answer, never a 406.
        for accept in ["br", "gzip;q=0, identity", "gzip;q=0, identity;q=0"] {
            let response = fetch(&app, path, Some(&token), Some(accept)).await;
            assert_eq!(encoding(&response), None, "{accept}");
            assert!(header(&response, CONTENT_LENGTH).is_some(), "{accept}");
            assert_eq!(response.json::<Value>().await.unwrap(), plain, "{accept}");
        }
    }
);

app_test!(
    the_streamed_export_comes_gzipped_whole_to_a_client_that_accepts_gzip,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("zipexport", "500").await;
        for day in 1..=5 {
            let date = format!("2026-03-{day:02}");
            app.transaction(&token, described(&account, "-1.5", &date, "coffee"))
                .await;
        }
        let plain: Value = fetch(&app, "/api/v1/me/export", Some(&token), None)
            .await
            .json()
            .await
            .unwrap();
        let zipped = fetch(&app, "/api/v1/me/export", Some(&token), Some("gzip")).await;
        assert_eq!(encoding(&zipped).as_deref(), Some("gzip"));
        let export = gunzipped(zipped).await;
        assert_eq!(export["format"], "nestegg-export");
        assert_eq!(export["transactions"], plain["transactions"]);
        assert_eq!(export["transactions"].as_array().unwrap().len(), 5);
    }
);
