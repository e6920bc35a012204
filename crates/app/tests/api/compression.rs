//! Compression: a large answer comes gzip-encoded to a client that accepts gzip, a small one
//! stays plain, and every answer says it varies with `Accept-Encoding`.

use std::io::Read;
use std::time::Duration;

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

/// Signs `name` in with a checking account and a spending of `amount` described as
/// `description` on each `day` of the month `month` (`2026-02`): (token, account).
async fn with_daily_spending(
    app: &TestApp,
    name: &str,
    month: &str,
    days: std::ops::RangeInclusive<u32>,
    (amount, description): (&str, &str),
) -> (String, String) {
    let (token, account) = app.with_checking(name, "100000").await;
    for day in days {
        let date = format!("{month}-{day:02}");
        app.transaction(&token, described(&account, amount, &date, description))
            .await;
    }
    (token, account)
}

app_test!(
    a_large_list_comes_gzipped_to_a_client_that_accepts_gzip_and_a_tiny_answer_stays_plain,
    |app: TestApp| async move {
        let spending = ("-12.34", "groceries at the market");
        let (token, _) = with_daily_spending(&app, "zip", "2026-02", 1..=28, spending).await;
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
        let spending = ("-1.5", "coffee");
        let (token, _) = with_daily_spending(&app, "zipexport", "2026-03", 1..=5, spending).await;
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

app_test!(
    a_gzipped_answer_on_a_kept_alive_connection_is_not_held_back_waiting_for_the_clients_delayed_ack,
    |app: TestApp| async move {
        let spending = ("-12.34", "groceries");
        let (token, _) = with_daily_spending(&app, "nagle", "2026-02", 1..=28, spending).await;
        // One connection, kept alive, each request written at once and its answer read whole
        // before the next (as Python's http.client does). Without TCP_NODELAY the end of a
        // compressed (chunked) answer waited for the ACK of its start, which the client's
        // kernel delays by 40 ms: such an answer took 40 ms more than the same one plain.
        let addr = app.url("").trim_start_matches("http://").to_owned();
        let (plain, zipped) = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            let (mut plain, mut zipped) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..3 {
                plain += answer_time(&mut stream, &token, "identity");
                zipped += answer_time(&mut stream, &token, "gzip");
            }
            (plain, zipped)
        })
        .await
        .unwrap();
        assert!(
            zipped < plain + Duration::from_millis(60),
            "three gzipped answers took {zipped:?}, the same plain {plain:?}"
        );
    }
);

/// Sends one GET of a page of transactions on `stream` and reads its answer to the end.
fn answer_time(stream: &mut std::net::TcpStream, token: &str, accept: &str) -> Duration {
    use std::io::Write;
    let started = std::time::Instant::now();
    let request = format!(
        "GET /api/v1/transactions?limit=500 HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {token}\r\nAccept-Encoding: {accept}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the connection closed");
        seen.extend_from_slice(&buf[..n]);
        let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let body = &seen[end + 4..];
        let done = match head.lines().find_map(|l| l.strip_prefix("content-length:")) {
            Some(length) => body.len() >= length.trim().parse::<usize>().unwrap(),
            None => body.ends_with(b"0\r\n\r\n"),
        };
        if done {
            return started.elapsed();
        }
    }
}
