//! The OpenAPI document against the server that serves it: every documented operation is
//! routed, no other method is, and the bearer scheme is declared exactly where a token is needed.

use nestegg_persistence::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn app() -> TestApp {
    spawn_app(Backend::Sqlite).await.unwrap()
}

fn document() -> Value {
    serde_json::to_value(nestegg::openapi::document()).unwrap()
}

/// A concrete path for a template: ids that name nothing, a plausible currency.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", &uuid::Uuid::now_v7().to_string())
        .replace("{item_id}", &uuid::Uuid::now_v7().to_string())
        .replace("{currency}", "EUR")
}

/// Whether the answer came from the server's fallback for methods no route takes on a known
/// path: a 405 whose `Allow` names the methods the document lists (and `HEAD` beside `GET`).
async fn unrouted(response: reqwest::Response, documented: &[&str]) -> bool {
    let status = response.status();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if body["error"]["code"] != "method_not_allowed" {
        return false;
    }
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let mut expected: Vec<String> = Vec::new();
    for m in documented {
        expected.push(m.to_uppercase());
        if *m == "get" {
            expected.push("HEAD".into());
        }
    }
    let mut allowed: Vec<String> = allow.unwrap().split(", ").map(str::to_owned).collect();
    allowed.sort();
    expected.sort();
    assert_eq!(allowed, expected);
    true
}

async fn send(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
    app.send(method, path, body.as_ref(), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_without_a_token_and_is_the_generated_one() {
    let app = app().await;
    let response = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let served: Value = response.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served, document());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_no_undocumented_method_is() {
    let app = app().await;
    let doc = document();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() > 30, "{} paths", paths.len());
    let mut operations = 0;
    for (template, item) in paths {
        let path = concrete(template);
        let listed: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .collect();
        for method in METHODS {
            let documented = item.get(method).is_some();
            let answer = unrouted(send(&app, method, &path).await, &listed).await;
            assert_eq!(
                answer, !documented,
                "{method} {template}: documented {documented}, but routed {}",
                !answer
            );
            operations += usize::from(documented);
        }
    }
    // The route macros in the source, counted independently of the document.
    assert_eq!(operations, route_macros_in_source());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_but_the_public_ones_needs_a_token_as_the_document_declares() {
    let app = app().await;
    let doc = document();
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            let secured = operation["security"] == json!([{"bearer": []}]);
            let public = nestegg::openapi::PUBLIC.contains(&id);
            assert_eq!(secured, !public, "{id}: security {}", operation["security"]);
            let response = send(&app, method, &concrete(template)).await;
            let status = response.status();
            if secured {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {template}");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized", "{method} {template}");
                assert!(operation["responses"]["401"].is_object(), "{id}");
            } else {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {template}");
            }
        }
    }
}

/// Each GET operation of the document with its path template.
fn gets(doc: &Value) -> impl Iterator<Item = (&String, &Value)> {
    let paths = doc["paths"].as_object().unwrap();
    paths
        .iter()
        .filter_map(|(template, item)| Some((template, item.get("get")?)))
}

/// The app with ada signed in: (app, her token).
async fn ada_app() -> (TestApp, String) {
    let app = app().await;
    let (token, _) = app.signed_in("ada").await;
    (app, token)
}

/// A GET of each value that a query parameter's enum lists, on each path without ids.
fn enum_queries(doc: &Value) -> Vec<String> {
    let mut queries = Vec::new();
    for (template, get) in gets(doc) {
        if template.contains('{') {
            continue;
        }
        for param in get["parameters"].as_array().into_iter().flatten() {
            let schema = &param["schema"];
            let named = schema["$ref"]
                .as_str()
                .or_else(|| schema["oneOf"][0]["$ref"].as_str())
                .map(|r| &doc["components"]["schemas"][r.rsplit('/').next().unwrap()]);
            let Some(values) = named.and_then(|s| s["enum"].as_array()) else {
                continue;
            };
            let name = param["name"].as_str().unwrap();
            for value in values {
                queries.push(format!("{template}?{name}={}", value.as_str().unwrap()));
            }
        }
    }
    queries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_value_a_query_enum_lists_is_accepted_by_the_server() {
    let (app, token) = ada_app().await;
    let queries = enum_queries(&document());
    assert!(
        queries.len() >= 6,
        "only {} enum values tried",
        queries.len()
    );
    for path in &queries {
        let response = app.get(path, Some(&token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_get_that_reads_a_query_documents_its_parameters() {
    let (app, token) = ada_app().await;
    let doc = document();
    let mut readers = 0;
    for (template, get) in gets(&doc) {
        // A query the server reads refuses a field it does not know.
        let path = format!("{}?surely_unknown=1", concrete(template));
        let response = app.get(&path, Some(&token)).await;
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let reads_query = body["error"]["code"] == "invalid_query";
        let documented = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["in"] == "query");
        assert_eq!(reads_query, documented, "GET {template}");
        readers += usize::from(reads_query);
    }
    assert!(readers >= 8, "{readers}");
}

#[test]
fn every_reference_in_the_document_resolves() {
    fn walk(node: &Value, doc: &Value, seen: &mut usize) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.strip_prefix('#').unwrap();
                    assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
                    *seen += 1;
                }
                map.values().for_each(|v| walk(v, doc, seen));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc, seen)),
            _ => {}
        }
    }
    let doc = document();
    let mut seen = 0;
    walk(&doc, &doc, &mut seen);
    assert!(seen > 100, "{seen}");
}

#[test]
fn every_operation_the_contract_lists_by_id_exists() {
    let doc = document();
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    for id in nestegg::openapi::PUBLIC
        .iter()
        .chain(nestegg::openapi::CALLS_PLAID)
    {
        assert!(ids.contains(id), "{id}");
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "operation ids repeat");
}

#[test]
fn every_error_status_in_the_document_answers_with_the_envelope() {
    let doc = document();
    let responses = &doc["components"]["responses"];
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                let response = match response["$ref"].as_str() {
                    Some(r) => &responses[r.rsplit('/').next().unwrap()],
                    None => response,
                };
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                let expected = if template == "/health/ready" && status == "503" {
                    "#/components/schemas/Readiness"
                } else {
                    "#/components/schemas/Envelope"
                };
                assert_eq!(schema, expected, "{method} {template} {status}");
            }
        }
    }
}

#[test]
fn values_carry_their_formats_decimals_their_pattern_and_enums_the_domains_names() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let decimal = &schemas["Decimal"];
    assert_eq!(decimal["type"], "string");
    assert_eq!(
        decimal["pattern"],
        nestegg::openapi::schema::DECIMAL_PATTERN
    );
    let account = &schemas["AccountDto"]["properties"];
    assert_eq!(
        account["current_balance"]["$ref"],
        "#/components/schemas/Decimal"
    );
    assert_eq!(account["id"]["format"], "uuid");
    assert_eq!(account["opened_on"]["format"], "date");
    assert_eq!(
        account["created_at"]["$ref"],
        "#/components/schemas/Timestamp"
    );
    assert_eq!(schemas["Timestamp"]["format"], "date-time");
    let names: Vec<&str> = nestegg_domain::AccountType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_eq!(schemas["AccountType"]["enum"], json!(names));
    assert_eq!(
        schemas["TransactionDto"]["properties"]["amount"]["$ref"],
        "#/components/schemas/Decimal"
    );
    // Request bodies refuse fields they do not know, as the server does.
    assert_eq!(schemas["NewAccountBody"]["additionalProperties"], false);
    // A PATCH field whose `null` is refused is not nullable in the document either.
    assert_eq!(
        schemas["AccountPatchBody"]["properties"]["name"]["type"],
        "string"
    );
}

/// `#[get("..")]`-style route macros in the app's source: each mounts one operation. The
/// metrics listener (`src/metrics/`) is another server, outside the API and its document: its
/// one route is left out, and `tests/api/metrics.rs` checks the API's listener does not serve it.
fn route_macros_in_source() -> usize {
    fn walk(dir: &std::path::Path, count: &mut usize) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && path.ends_with("src/metrics") {
                continue;
            }
            if path.is_dir() {
                walk(&path, count);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines().map(str::trim) {
                    if METHODS
                        .iter()
                        .any(|m| line.starts_with(&format!("#[{m}(\"")))
                    {
                        *count += 1;
                    }
                    assert!(
                        !line.contains(".route(") && !line.contains("web::resource("),
                        "{}: a route mounted outside the documented `service(..)` calls: {line}",
                        path.display()
                    );
                }
            }
        }
    }
    let mut count = 0;
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut count,
    );
    count
}
