//! `GET /me/export`: all of the caller's data, and nobody else's, in one streamed document.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, described, id};

const TOKEN_SECRET: &str = "access-sandbox-never-exported";

/// Gives the caller one of every kind of row; returns the ids the export must hold.
async fn everything(app: &TestApp, token: &str, name: &str) -> Value {
    let account = app.checking(token, "100.00").await;
    let kept = app
        .transaction(token, described(&account, "-12.34", "2026-11-20", name))
        .await;
    let edited = app
        .transaction(token, described(&account, "-5.00", "2026-11-21", "before"))
        .await;
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/transactions/{}", id(&edited)),
            &json!({"description": "after"}),
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .put_json(
            "/api/v1/fx-rates/EUR",
            &json!({"rate": "1.0825", "date": "2026-11-20"}),
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let symbol = format!("P{}", name.to_uppercase());
    let security = id(&app
        .create(
            "/api/v1/investments",
            token,
            json!({"symbol": symbol, "name": "Private", "type": "stock"}),
        )
        .await);
    for (price, date) in [("10.5", "2026-11-19"), ("11.25", "2026-11-20")] {
        let (status, body) = app
            .put_json(
                &format!("/api/v1/investments/{security}/price"),
                &json!({"price": price, "date": date}),
                token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let portfolio = id(&app
        .create("/api/v1/portfolios", token, json!({"name": "Main"}))
        .await);
    let trade = app
        .create(
            &format!("/api/v1/portfolios/{portfolio}/trades"),
            token,
            json!({"investment_id": security, "side": "buy", "quantity": "3", "price": "10.5", "fee": "1", "date": "2026-11-20"}),
        )
        .await;
    let connection = uuid::Uuid::now_v7();
    let user = app.user_id(token).await;
    let now = chrono::Utc::now();
    app.execute(
        "INSERT INTO plaid_connections (id, user_id, plaid_item_id, access_token, \
         institution_name, sync_cursor, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'Bank', 'cursor-secret', $5, $5)",
        vec![
            connection.into(),
            user.into(),
            format!("item-{name}").into(),
            TOKEN_SECRET.into(),
            now.into(),
        ],
    )
    .await;
    json!({
        "user": user.to_string(),
        "account": account,
        "transactions": [id(&kept), id(&edited)],
        "edited": id(&edited),
        "security": security,
        "portfolio": portfolio,
        "trade": trade["id"],
        "connection": connection.to_string(),
    })
}

/// The export's response, asserting its headers; (raw text, parsed document).
async fn export(app: &TestApp, token: &str) -> (String, Value) {
    let response = app.get("/api/v1/me/export", Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(
        headers[CONTENT_DISPOSITION],
        "attachment; filename=\"nestegg-export.json\""
    );
    assert!(
        headers.get(CONTENT_LENGTH).is_none(),
        "the body is streamed, not measured first"
    );
    let raw = response.text().await.unwrap();
    let document = serde_json::from_str(&raw).unwrap();
    (raw, document)
}

fn section<'a>(document: &'a Value, key: &str) -> &'a Vec<Value> {
    document[key].as_array().unwrap_or_else(|| panic!("{key}"))
}

fn ids(rows: &[Value], key: &str) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| r[key].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

app_test!(
    the_export_holds_every_section_of_the_callers_data_and_nothing_of_anyone_elses,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        let (bob, _) = app.signed_in("bob").await;
        let mine = everything(&app, &ada, "ada").await;
        let theirs = everything(&app, &bob, "bob").await;

        let (raw, doc) = export(&app, &ada).await;

        assert_eq!(doc["format"], "nestegg-export");
        assert_eq!(doc["version"], 1);
        assert!(doc["exported_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(doc["user"]["id"], mine["user"]);
        assert_eq!(doc["user"]["username"], "ada");
        assert!(doc["user"].get("password_hash").is_none());
        assert!(doc["user"].get("hashed_password").is_none());
        assert!(!raw.contains("$2"), "no bcrypt hash anywhere");
        assert!(!raw.contains(TOKEN_SECRET), "no Plaid token anywhere");
        assert!(!raw.contains("cursor-secret"), "no Plaid cursor anywhere");
        for other in [&theirs["user"], &theirs["account"], &theirs["security"]] {
            assert!(!raw.contains(other.as_str().unwrap()), "{other} is bob's");
        }
        assert!(!raw.contains("\"bob\""));

        let accounts = section(&doc, "accounts");
        assert_eq!(ids(accounts, "id"), [mine["account"].as_str().unwrap()]);
        assert_eq!(accounts[0]["current_balance"], "82.66");

        let transactions = section(&doc, "transactions");
        let mut expected: Vec<String> =
            serde_json::from_value(mine["transactions"].clone()).unwrap();
        expected.sort();
        assert_eq!(ids(transactions, "id"), expected);
        assert!(transactions.iter().all(|t| t["amount"].is_string()));
        assert!(
            transactions.iter().all(
                |t| t["created_at"].as_str().unwrap().len() == "2026-11-25T12:00:00.000Z".len()
            )
        );

        let history = section(&doc, "transaction_history");
        assert_eq!(history.len(), 3, "two created, one updated");
        assert_eq!(ids(history, "transaction_id"), expected);
        let update = history.iter().find(|h| h["action"] == "updated").unwrap();
        assert_eq!(update["transaction_id"], mine["edited"]);
        assert_eq!(update["changes"]["description"], json!(["before", "after"]));

        let snapshots = section(&doc, "snapshots");
        assert!(!snapshots.is_empty());
        assert_eq!(
            ids(snapshots, "account_id"),
            [mine["account"].as_str().unwrap()]
        );
        assert!(snapshots.iter().all(|s| s["balance"].is_string()));
        assert!(section(&doc, "adjustments").is_empty());

        let rates = section(&doc, "fx_rates");
        assert_eq!(rates.len(), 1);
        assert_eq!(rates[0]["currency"], "EUR");
        assert_eq!(rates[0]["rate"], "1.0825");

        let securities = section(&doc, "securities");
        assert_eq!(ids(securities, "id"), [mine["security"].as_str().unwrap()]);
        assert_eq!(securities[0]["owner"], "me");
        let prices = section(&doc, "prices");
        assert_eq!(prices.len(), 2);
        assert_eq!(
            ids(prices, "investment_id"),
            [mine["security"].as_str().unwrap()]
        );
        let mut amounts: Vec<&str> = prices
            .iter()
            .map(|p| p["price"].as_str().unwrap())
            .collect();
        amounts.sort_unstable();
        assert_eq!(amounts, ["10.5", "11.25"]);

        assert_eq!(
            ids(section(&doc, "portfolios"), "id"),
            [mine["portfolio"].as_str().unwrap()]
        );
        let items = section(&doc, "portfolio_items");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["portfolio_id"], mine["portfolio"]);
        assert_eq!(items[0]["quantity"], "3");
        let trades = section(&doc, "trades");
        assert_eq!(trades.len(), 1);
        assert_eq!(trades[0]["id"], mine["trade"]);
        assert_eq!(trades[0]["portfolio_id"], mine["portfolio"]);
        assert_eq!(trades[0]["price"], "10.5");

        let connections = section(&doc, "plaid_connections");
        assert_eq!(
            ids(connections, "id"),
            [mine["connection"].as_str().unwrap()]
        );
        assert!(connections[0].get("access_token").is_none());
    }
);

app_test!(
    an_export_larger_than_a_page_is_read_in_pages_and_joined_whole,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = app.new_account(&token, "Cash", "other", "0").await;
        let user = app.user_id(&token).await;
        // History rows hold no decimals, so they can be written directly on either backend.
        let total = 2_345;
        let now = chrono::Utc::now();
        let account: uuid::Uuid = account.parse().unwrap();
        let mut written = 0;
        while written < total {
            let batch = (total - written).min(300);
            let mut rows = Vec::new();
            let mut values: Vec<sea_orm::Value> = Vec::new();
            for _ in 0..batch {
                let n = values.len();
                rows.push(format!(
                    "(${}, ${}, ${}, ${}, 'deleted', ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6
                ));
                values.extend([
                    uuid::Uuid::now_v7().into(),
                    user.into(),
                    uuid::Uuid::now_v7().into(),
                    account.into(),
                    json!({}).into(),
                    now.into(),
                ]);
            }
            app.execute(
                &format!(
                    "INSERT INTO transaction_history (id, user_id, transaction_id, account_id, \
                     action, changes, created_at) VALUES {}",
                    rows.join(", ")
                ),
                values,
            )
            .await;
            written += batch;
        }

        let (_, doc) = export(&app, &token).await;
        let history = section(&doc, "transaction_history");
        assert_eq!(history.len(), total);
        assert_eq!(
            ids(history, "id").len(),
            total,
            "no row twice, none lost between pages"
        );
    }
);

app_test!(
    an_export_without_a_token_is_refused,
    |app: TestApp| async move {
        let response = app.get("/api/v1/me/export", None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
);
