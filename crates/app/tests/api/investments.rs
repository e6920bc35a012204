//! Securities: shared and private, prices and their history.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, error_code};

/// Adds a shared security (as sync or an operator would) and returns its id.
async fn shared(app: &TestApp, symbol: &str, name: &str) -> String {
    let id = uuid::Uuid::now_v7();
    let b = app.db.backend();
    let sql = "INSERT INTO investments (id, symbol, name, type, created_at, updated_at) \
               VALUES (?1, ?2, ?3, 'stock', ?4, ?4)";
    let sql = if b == DbBackend::Postgres {
        sql.replace('?', "$")
    } else {
        sql.to_owned()
    };
    app.db
        .db
        .conn()
        .execute_raw(Statement::from_sql_and_values(
            b,
            &sql,
            [
                id.into(),
                symbol.into(),
                name.into(),
                chrono::Utc::now().into(),
            ],
        ))
        .await
        .unwrap();
    id.to_string()
}

app_test!(
    a_private_security_is_seen_and_priced_only_by_its_owner,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        let (bob, _) = app.signed_in("bob").await;
        let body = json!({"symbol": "fund-x", "name": "Family fund", "type": "mutual_fund", "expense_ratio": "0.35", "country": "US"});
        let response = app.post("/api/v1/investments", &body, Some(&ada)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        assert_eq!(
            (created["symbol"].as_str(), created["owner"].as_str()),
            (Some("FUND-X"), Some("me"))
        );
        assert_eq!(created["current_price"], Value::Null);
        let id = created["id"].as_str().unwrap();
        let path = format!("/api/v1/investments/{id}");

        for (price, date) in [
            ("10.5", "2026-11-20"),
            ("11", "2026-11-22"),
            ("10.75", "2026-11-21"),
        ] {
            let response = app
                .send(
                    Method::PUT,
                    &format!("{path}/price"),
                    Some(&json!({"price": price, "date": date})),
                    Some(&ada),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{price}");
        }
        let seen = app.read(&path, &ada).await;
        assert_eq!(
            (seen["current_price"].as_str(), seen["price_date"].as_str()),
            (Some("11"), Some("2026-11-22"))
        );
        let history = app.read(&format!("{path}/prices"), &ada).await;
        let prices: Vec<&str> = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["price"].as_str().unwrap())
            .collect();
        assert_eq!(prices, ["10.5", "10.75", "11"]);
        let some = app
            .read(
                &format!("{path}/prices?from=2026-11-21&to=2026-11-21"),
                &ada,
            )
            .await;
        assert_eq!(some["items"].as_array().unwrap().len(), 1);

        for (method, p, body) in [
            (Method::GET, path.clone(), None),
            (Method::GET, format!("{path}/prices"), None),
            (
                Method::PUT,
                format!("{path}/price"),
                Some(json!({"price": "1", "date": "2026-11-23"})),
            ),
        ] {
            let response = app.send(method, &p, body.as_ref(), Some(&bob)).await;
            error_code(response, StatusCode::NOT_FOUND).await;
        }
        assert_eq!(app.read(&path, &ada).await["current_price"], "11");
        let bobs = app.read("/api/v1/investments", &bob).await;
        assert!(bobs["items"].as_array().unwrap().is_empty());
    }
);

app_test!(
    prices_must_be_positive_and_shared_securities_are_read_only,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        let aapl = shared(&app, "AAPL", "Apple Inc.").await;
        let seen = app.read(&format!("/api/v1/investments/{aapl}"), &ada).await;
        assert_eq!(seen["owner"], Value::Null);
        let response = app
            .send(
                Method::PUT,
                &format!("/api/v1/investments/{aapl}/price"),
                Some(&json!({"price": "180"})),
                Some(&ada),
            )
            .await;
        error_code(response, StatusCode::NOT_FOUND).await;
        let mine = app
            .post(
                "/api/v1/investments",
                &json!({"symbol": "MINE", "name": "Mine", "type": "other"}),
                Some(&ada),
            )
            .await;
        let mine: Value = mine.json().await.unwrap();
        let path = format!("/api/v1/investments/{}/price", mine["id"].as_str().unwrap());
        for price in [json!(0), json!("-1"), json!("0.000000001")] {
            let response = app
                .send(
                    Method::PUT,
                    &path,
                    Some(&json!({"price": price})),
                    Some(&ada),
                )
                .await;
            let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(body["error"]["fields"]["price"].is_string(), "{price}");
        }
        let bad =
            json!({"symbol": "NO SPACES", "name": "", "type": "bitcoin", "dividend_yield": "101"});
        let response = app.post("/api/v1/investments", &bad, Some(&ada)).await;
        let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let fields = body["error"]["fields"].as_object().unwrap();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["dividend_yield", "name", "symbol", "type"]
        );
    }
);

app_test!(
    securities_are_searched_by_symbol_and_name_and_paged,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        for (symbol, name) in [
            ("AAPL", "Apple Inc."),
            ("MSFT", "Microsoft"),
            ("VTI", "Vanguard Total Stock Market"),
            ("BRK.B", "Berkshire 100% Hathaway"),
        ] {
            shared(&app, symbol, name).await;
        }
        let by_symbol = app.read("/api/v1/investments?symbol=msft", &ada).await;
        assert_eq!(by_symbol["items"][0]["name"], "Microsoft");
        assert_eq!(by_symbol["items"].as_array().unwrap().len(), 1);
        let by_name = app.read("/api/v1/investments?q=vanguard", &ada).await;
        assert_eq!(by_name["items"][0]["symbol"], "VTI");
        let literal = app.read("/api/v1/investments?q=100%25", &ada).await;
        assert_eq!(literal["items"].as_array().unwrap().len(), 1);
        let mut symbols = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/investments?limit=3&cursor={c}"),
                None => "/api/v1/investments?limit=3".to_owned(),
            };
            let page = app.read(&path, &ada).await;
            symbols.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["symbol"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(symbols, ["AAPL", "BRK.B", "MSFT", "VTI"]);
    }
);
