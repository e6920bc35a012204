//! Securities: shared and private, prices and their history.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, error_code, id, invalid_fields, items};

/// Adds a shared security (as sync or an operator would) and returns its id.
async fn shared(app: &TestApp, symbol: &str, name: &str) -> String {
    let id = uuid::Uuid::now_v7();
    app.execute(
        "INSERT INTO investments (id, symbol, name, type, created_at, updated_at) \
         VALUES ($1, $2, $3, 'stock', $4, $4)",
        vec![
            id.into(),
            symbol.into(),
            name.into(),
            chrono::Utc::now().into(),
        ],
    )
    .await;
    id.to_string()
}

app_test!(
    a_private_security_is_seen_and_priced_only_by_its_owner,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        let (bob, _) = app.signed_in("bob").await;
        let body = json!({"symbol": "fund-x", "name": "Family fund", "type": "mutual_fund", "expense_ratio": "0.35", "country": "US"});
        let created = app.create("/api/v1/investments", &ada, body).await;
        assert_eq!(
            (created["symbol"].as_str(), created["owner"].as_str()),
            (Some("FUND-X"), Some("me"))
        );
        assert_eq!(created["current_price"], Value::Null);
        let path = format!("/api/v1/investments/{}", id(&created));

        for (price, date) in [
            ("10.5", "2026-11-20"),
            ("11", "2026-11-22"),
            ("10.75", "2026-11-21"),
        ] {
            let body = json!({"price": price, "date": date});
            let (status, _) = app.put_json(&format!("{path}/price"), &body, &ada).await;
            assert_eq!(status, StatusCode::OK, "{price}");
        }
        let seen = app.read(&path, &ada).await;
        assert_eq!(
            (seen["current_price"].as_str(), seen["price_date"].as_str()),
            (Some("11"), Some("2026-11-22"))
        );
        let history = app.read(&format!("{path}/prices"), &ada).await;
        let prices: Vec<&str> = items(&history)
            .iter()
            .map(|p| p["price"].as_str().unwrap())
            .collect();
        assert_eq!(prices, ["10.5", "10.75", "11"]);
        let some = format!("{path}/prices?from=2026-11-21&to=2026-11-21");
        assert_eq!(app.count(&some, &ada).await, 1);

        let attempts = vec![
            (Method::GET, path.clone(), None),
            (Method::GET, format!("{path}/prices"), None),
            (
                Method::PUT,
                format!("{path}/price"),
                Some(json!({"price": "1", "date": "2026-11-23"})),
            ),
        ];
        app.assert_each_refused(attempts, &bob, StatusCode::NOT_FOUND, "not_found")
            .await;
        assert_eq!(app.read(&path, &ada).await["current_price"], "11");
        assert_eq!(app.count("/api/v1/investments", &bob).await, 0);
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
            .put(
                &format!("/api/v1/investments/{aapl}/price"),
                &json!({"price": "180"}),
                &ada,
            )
            .await;
        error_code(response, StatusCode::NOT_FOUND).await;
        let mine = app
            .create(
                "/api/v1/investments",
                &ada,
                json!({"symbol": "MINE", "name": "Mine", "type": "other"}),
            )
            .await;
        let path = format!("/api/v1/investments/{}/price", id(&mine));
        for price in [json!(0), json!("-1"), json!("0.000000001")] {
            let response = app.put(&path, &json!({"price": price}), &ada).await;
            assert_eq!(invalid_fields(response).await, ["price"], "{price}");
        }
        let bad =
            json!({"symbol": "NO SPACES", "name": "", "type": "bitcoin", "dividend_yield": "101"});
        let response = app.post("/api/v1/investments", &bad, Some(&ada)).await;
        assert_eq!(
            invalid_fields(response).await,
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
        assert_eq!(items(&by_symbol).len(), 1);
        let by_name = app.read("/api/v1/investments?q=vanguard", &ada).await;
        assert_eq!(by_name["items"][0]["symbol"], "VTI");
        assert_eq!(app.count("/api/v1/investments?q=100%25", &ada).await, 1);
        let (all, _) = app.all_pages("/api/v1/investments?limit=3", &ada).await;
        let symbols: Vec<&str> = all.iter().map(|i| i["symbol"].as_str().unwrap()).collect();
        assert_eq!(symbols, ["AAPL", "BRK.B", "MSFT", "VTI"]);
    }
);

app_test!(
    price_history_dates_outside_the_supported_years_are_refused_not_a_server_error,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        let body = json!({"symbol": "fund-y", "name": "Fund", "type": "mutual_fund"});
        let created = app.create("/api/v1/investments", &ada, body).await;
        let path = format!("/api/v1/investments/{}/prices", id(&created));
        for query in [
            "?from=%2B20000-01-01",
            "?to=-0005-01-01",
            "?from=0000-12-31",
        ] {
            let response = app.get(&format!("{path}{query}"), Some(&ada)).await;
            let status = response.status();
            assert!(status.is_client_error(), "{query}: {status}");
            error_code(response, status).await;
        }
        app.read(&format!("{path}?from=0001-01-01&to=9999-12-31"), &ada)
            .await;
    }
);
