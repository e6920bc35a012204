//! Bad input of every kind: a 4xx in the envelope, and the server keeps serving.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{
    PASSWORD, TestApp, assert_error, error_code, id, invalid_fields, spawn_app, txn_body, with,
};

/// What a date that does not parse is refused with.
const DATE: &str = "expected a date as YYYY-MM-DD";

async fn still_serving(app: &TestApp) {
    assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
}

/// POSTs `body` as it is, sent as `content_type`.
async fn raw_post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

app_test!(
    malformed_json_is_a_400_in_the_envelope,
    |app: TestApp| async move {
        for body in ["{", "not json", "", "{\"email\": }", "[1,2"] {
            let response = raw_post(&app, "/api/v1/auth/register", "application/json", body).await;
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
            if body.is_object() {
                assert!(err["error"]["fields"].is_object(), "{err}");
            }
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
        let response = raw_post(&app, "/api/v1/auth/register", "application/json", huge).await;
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        still_serving(&app).await;
    }
);

app_test!(
    a_body_without_the_json_content_type_is_415,
    |app: TestApp| async move {
        let body = "{\"login\":\"a\",\"password\":\"b\"}";
        let response = raw_post(&app, "/api/v1/auth/login", "text/plain", body).await;
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
        for (path, status, code) in [
            ("/api/v1/nothing-here", StatusCode::NOT_FOUND, "not_found"),
            (
                "/api/v1/auth/login",
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ),
        ] {
            assert_error(app.get(path, None).await, status, code).await;
        }
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
        let (token, account) = app.with_checking("ada", "10.00").await;
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

/// The reason a 400 gives for a decimal that does not parse.
const DECIMAL: &str =
    "expected a decimal number such as \"-12.50\" (at most 28 digits, no exponent)";

/// Asserts a 400 with `code` whose message names `field` with `reason`, and whose `fields`
/// say the same.
async fn assert_named(response: reqwest::Response, code: &str, field: &str, reason: &str) {
    let body = assert_error(response, StatusCode::BAD_REQUEST, code).await;
    assert_eq!(
        body["error"]["message"],
        format!("{field}: {reason}"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"], json!({ field: reason }), "{body}");
}

app_test!(
    a_body_value_that_does_not_parse_is_named_with_what_was_expected,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "10").await;
        let cases = [
            (json!({"date": "25/11/2026"}), "date", DATE),
            (json!({"date": "2026-13-01"}), "date", DATE),
            (json!({"date": 20_261_101}), "date", DATE),
            (
                json!({"account_id": "not-a-uuid"}),
                "account_id",
                "expected a UUID",
            ),
            (json!({"account_id": 7}), "account_id", "expected a UUID"),
            (
                json!({"amount": true}),
                "amount",
                "expected a decimal number, as a string or a JSON number",
            ),
            (json!({"amount": "ten"}), "amount", DECIMAL),
            (json!({"amount": "1e3"}), "amount", DECIMAL),
            (
                json!({"is_pending": "yes"}),
                "is_pending",
                "expected true or false",
            ),
            (
                json!({"description": 5}),
                "description",
                "expected a string",
            ),
            (
                json!({"description": null}),
                "description",
                "expected a string, not null",
            ),
            (
                json!({"merchant_name": ["x"]}),
                "merchant_name",
                "expected a string",
            ),
        ];
        for (bad, field, reason) in cases {
            let body = with(txn_body(&account, "1", "2026-11-01"), bad);
            let response = app.post("/api/v1/transactions", &body, Some(&token)).await;
            assert_named(response, "invalid_body", field, reason).await;
        }
        // A field inside a field is named by its path.
        let body = json!({"name": "Core", "target_allocation": {"stock": "lots"}});
        let response = app.post("/api/v1/portfolios", &body, Some(&token)).await;
        assert_named(response, "invalid_body", "target_allocation.stock", DECIMAL).await;
        let body = json!({"name": "Core", "target_allocation": ["stock"]});
        let response = app.post("/api/v1/portfolios", &body, Some(&token)).await;
        assert_named(
            response,
            "invalid_body",
            "target_allocation",
            "expected an object",
        )
        .await;
        assert_eq!(app.count("/api/v1/transactions", &token).await, 0);
    }
);

app_test!(
    unknown_and_missing_fields_are_named_with_the_fields_expected,
    |app: TestApp| async move {
        let register = json!({"email": "ada@example.com", "username": "ada",
                              "password": "correct horse battery", "admin": true});
        let response = app.post("/api/v1/auth/register", &register, None).await;
        assert_named(
            response,
            "invalid_body",
            "admin",
            "unknown field; expected one of: email, username, password",
        )
        .await;
        let response = app
            .post(
                "/api/v1/auth/register",
                &json!({"email": "ada@example.com", "username": "ada"}),
                None,
            )
            .await;
        assert_named(response, "invalid_body", "password", "required").await;
        let (token, account) = app.with_checking("ada", "10").await;
        let response = app
            .post(
                "/api/v1/transactions",
                &json!({"account_id": account, "amount": "1", "date": "2026-11-01"}),
                Some(&token),
            )
            .await;
        assert_named(response, "invalid_body", "description", "required").await;
        let t = app
            .transaction(&token, txn_body(&account, "1", "2026-11-01"))
            .await;
        let response = app
            .patch(
                &format!("/api/v1/transactions/{}", id(&t)),
                &json!({"posted": true}),
                &token,
            )
            .await;
        assert_named(
            response,
            "invalid_body",
            "posted",
            "unknown field; expected one of: description, merchant_name, category, \
             is_recurring, amount, date, is_pending, account_id",
        )
        .await;
    }
);

app_test!(
    a_query_value_that_does_not_parse_names_its_parameter,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "10").await;
        let cases = [
            (
                "/api/v1/transactions?from=2026-13-01".to_owned(),
                "from",
                DATE,
            ),
            ("/api/v1/overview/history?to=25/11/2026".into(), "to", DATE),
            ("/api/v1/cashflow?from=".into(), "from", DATE),
            (
                "/api/v1/transactions?limit=ten".into(),
                "limit",
                "expected a whole number",
            ),
            (
                "/api/v1/investments?limit=1.5".into(),
                "limit",
                "expected a whole number",
            ),
            (
                "/api/v1/transactions?is_pending=maybe".into(),
                "is_pending",
                "expected true or false",
            ),
            (
                "/api/v1/transactions?account_id=nope".into(),
                "account_id",
                "expected a UUID",
            ),
            (
                "/api/v1/transactions?min_amount=abc".into(),
                "min_amount",
                DECIMAL,
            ),
            (
                "/api/v1/transactions?sort=amount".into(),
                "sort",
                "unknown parameter; expected one of: account_id, from, to, category, q, \
                 min_amount, max_amount, is_pending, limit, cursor",
            ),
            (
                format!("/api/v1/accounts/{account}/snapshots?from=2026-01-01&from=2026-02-01"),
                "from",
                "given more than once",
            ),
        ];
        for (path, field, reason) in cases {
            let response = app.get(&path, Some(&token)).await;
            assert_named(response, "invalid_query", field, reason).await;
        }
        // A whole number out of a page's range is read, and refused by the rule that says it.
        for limit in ["-1", "0", "501", "99999999999"] {
            let path = format!("/api/v1/transactions?limit={limit}");
            let body = assert_error(
                app.get(&path, Some(&token)).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
            assert_eq!(
                body["error"]["fields"],
                json!({"limit": "must be between 1 and 500"}),
                "{limit}"
            );
        }
    }
);

app_test!(
    a_path_id_that_is_not_a_uuid_names_the_parameter,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let response = app.get("/api/v1/accounts/not-a-uuid", Some(&token)).await;
        assert_named(response, "invalid_path", "id", "expected a UUID").await;
        let real = uuid::Uuid::now_v7();
        let response = app
            .delete(&format!("/api/v1/portfolios/{real}/items/nope"), &token)
            .await;
        assert_named(response, "invalid_path", "item_id", "expected a UUID").await;
        let response = app.delete("/api/v1/portfolios/x/items/y", &token).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_path").await;
        assert_eq!(
            body["error"]["fields"],
            json!({"id": "expected a UUID", "item_id": "expected a UUID"})
        );
        assert_eq!(
            body["error"]["message"],
            "id: expected a UUID; item_id: expected a UUID"
        );
    }
);

/// Words of `text` that look like Rust rather than English: a capital letter inside a word
/// that is not all capitals (`CreateBody`, `NaiveDate`, `Uuid`, `String`), a primitive type,
/// serde's own vocabulary, or code quoting.
fn rust_words(text: &str) -> Vec<String> {
    const RUST: [&str; 20] = [
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "f32",
        "f64",
        "str",
        "struct",
        "enum",
        "variant",
        "sequence",
        "formatted",
    ];
    let mut found: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| {
            let mixed = w.chars().any(char::is_uppercase) && w.chars().any(char::is_lowercase);
            mixed || RUST.contains(w)
        })
        .map(str::to_owned)
        .collect();
    if text.contains('`') || text.contains("::") {
        found.push(text.to_owned());
    }
    found
}

#[test]
fn the_rust_word_check_catches_type_names_and_passes_plain_messages() {
    assert!(rust_words("date: expected a date as YYYY-MM-DD").is_empty());
    assert!(rust_words("id: expected a UUID; item_id: expected a UUID").is_empty());
    for leaky in [
        "expected struct CreateBody with 6 elements",
        "invalid type: string \"5\", expected u32",
        "expected a NaiveDate",
        "UUID parsing failed: Uuid",
        "unknown field `x`",
        "expected Option<String>",
    ] {
        assert!(!rust_words(leaky).is_empty(), "{leaky}");
    }
}

/// Resolves a `$ref` to its schema in the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

/// Every bad input the sweep sends, from the OpenAPI document: per operation, each path id as
/// text, each query parameter given twice and with texts of every wrong kind, an unknown
/// parameter, and bodies of an unknown field, an array, and each field alone (so the others
/// are missing) with values of every wrong kind.
fn bad_requests(doc: &Value) -> Vec<(Method, String, Option<Value>)> {
    let values = [
        json!("abc"),
        json!(""),
        json!(5),
        json!(-1),
        json!(1.5),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
        json!({"x": "y"}),
        json!("2026-13-01"),
        json!("1e3"),
    ];
    let texts = [
        "abc",
        "",
        "-1",
        "1.5",
        "99999999999999999999",
        "2026-13-01",
        "1e3",
        "%FF",
    ];
    let mut requests = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        if template.contains("webhook") {
            continue; // Verified before it is read: a 401 without Plaid's signature.
        }
        for (method, op) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let real = template
                .replace("{id}", &uuid::Uuid::now_v7().to_string())
                .replace("{item_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{currency}", "EUR");
            let has_body = !op["requestBody"].is_null();
            let empty = has_body.then(|| json!({}));
            for param in ["{id}", "{item_id}"] {
                if template.contains(param) {
                    let bad = template
                        .replace(param, "not-a-uuid")
                        .replace("{id}", &uuid::Uuid::now_v7().to_string())
                        .replace("{item_id}", &uuid::Uuid::now_v7().to_string());
                    requests.push((method.clone(), bad, empty.clone()));
                }
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] != "query" {
                    continue;
                }
                let name = param["name"].as_str().unwrap();
                for text in texts {
                    let path = format!("{real}?{name}={text}");
                    requests.push((method.clone(), path, empty.clone()));
                }
                requests.push((
                    method.clone(),
                    format!("{real}?{name}=1&{name}=2"),
                    empty.clone(),
                ));
            }
            if op["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["in"] == "query"))
            {
                requests.push((method.clone(), format!("{real}?zzz=1"), empty.clone()));
            }
            if !has_body {
                continue;
            }
            let schema = resolve(
                doc,
                &op["requestBody"]["content"]["application/json"]["schema"],
            );
            requests.push((method.clone(), real.clone(), Some(json!({"zzz": 1}))));
            requests.push((method.clone(), real.clone(), Some(json!([]))));
            for field in schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                for value in &values {
                    let body = json!({ field: value });
                    requests.push((method.clone(), real.clone(), Some(body)));
                }
            }
        }
    }
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_400_on_any_route_names_a_rust_type_and_each_names_its_field() {
    let app = spawn_app(nestegg_persistence::testing::Backend::Sqlite)
        .await
        .unwrap();
    let (mut token, _) = app.signed_in("ada").await;
    let doc = serde_json::to_value(nestegg::openapi::document()).unwrap();
    let requests = bad_requests(&doc);
    let mut refused = std::collections::BTreeMap::<String, usize>::new();
    let mut leaks = Vec::new();
    for (method, path, body) in requests {
        let what = format!("{method} {path} {}", body.clone().unwrap_or(Value::Null));
        let mut response = app
            .send(method.clone(), &path, body.as_ref(), Some(&token))
            .await;
        if response.status() == StatusCode::UNAUTHORIZED {
            // A logout in the sweep ended the session: sign in again and resend.
            token = app
                .login("ada", PASSWORD)
                .await
                .json::<Value>()
                .await
                .unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            response = app.send(method, &path, body.as_ref(), Some(&token)).await;
        }
        if response.status() != StatusCode::BAD_REQUEST {
            continue;
        }
        let (code, err) = error_code(response, StatusCode::BAD_REQUEST).await;
        *refused.entry(code.clone()).or_default() += 1;
        let message = err["error"]["message"].as_str().unwrap();
        let mut words = rust_words(message);
        let fields = err["error"]["fields"].as_object();
        for (field, reason) in fields.into_iter().flatten() {
            words.extend(rust_words(reason.as_str().unwrap()));
            assert!(
                message.contains(&format!("{field}: ")),
                "{what}: {message} does not name {field}"
            );
        }
        if !words.is_empty() {
            leaks.push(format!("{what}: {message} {words:?}"));
        }
        let whole_body = message == "the body must be a JSON object";
        if ["invalid_body", "invalid_query", "invalid_path"].contains(&code.as_str()) && !whole_body
        {
            assert!(
                fields.is_some_and(|f| !f.is_empty()),
                "{what}: {err} names no field"
            );
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    for (code, at_least) in [
        ("invalid_body", 500),
        ("invalid_query", 100),
        ("invalid_path", 20),
    ] {
        let seen = refused.get(code).copied().unwrap_or(0);
        assert!(seen >= at_least, "only {seen} {code}: {refused:?}");
    }
}
