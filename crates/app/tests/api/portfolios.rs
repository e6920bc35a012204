//! Portfolios: the default flag, items, trades, summary and rebalancing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, assert_error, error_code, id, items};

/// Creates a private security of `kind` priced at `price`; returns its id.
async fn security(app: &TestApp, token: &str, symbol: &str, kind: &str, price: &str) -> String {
    let body = json!({"symbol": symbol, "name": symbol, "type": kind});
    let id = id(&app.create("/api/v1/investments", token, body).await);
    set_price(app, token, &id, price, "2026-11-20").await;
    id
}

/// Prices a security on `date`; asserts 200.
async fn set_price(app: &TestApp, token: &str, id: &str, price: &str, date: &str) {
    let body = json!({"price": price, "date": date});
    let path = format!("/api/v1/investments/{id}/price");
    let (status, json) = app.put_json(&path, &body, token).await;
    assert_eq!(status, StatusCode::OK, "{json}");
}

/// Creates a portfolio; asserts 201 and returns its path.
async fn portfolio(app: &TestApp, token: &str, body: Value) -> String {
    let created = app.create("/api/v1/portfolios", token, body).await;
    format!("/api/v1/portfolios/{}", id(&created))
}

fn item(investment: &str, quantity: &str, average_cost: &str) -> Value {
    json!({"investment_id": investment, "quantity": quantity, "average_cost": average_cost})
}

fn trade(investment: &str, side: &str, quantity: &str, price: &str, fee: &str) -> Value {
    json!({"investment_id": investment, "side": side, "quantity": quantity, "price": price, "fee": fee, "date": "2026-11-20"})
}

/// Adds an item to the portfolio at `base`; asserts 201 and returns it.
async fn add_item(app: &TestApp, token: &str, base: &str, body: Value) -> Value {
    app.create(&format!("{base}/items"), token, body).await
}

/// The sides of a rebalance's trades, in order.
fn sides(rebalance: &Value) -> Vec<&str> {
    rebalance["trades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["side"].as_str().unwrap())
        .collect()
}

app_test!(
    the_aapl_example_through_the_api,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let aapl = security(&app, &token, "AAPL", "stock", "180").await;
        let base = portfolio(&app, &token, json!({"name": "Main"})).await;
        let trades = format!("{base}/trades");
        for body in [
            trade(&aapl, "buy", "10", "150", "0"),
            trade(&aapl, "buy", "5", "170", "1.00"),
        ] {
            app.create(&trades, &token, body).await;
        }
        let s = app.read(&format!("{base}/summary"), &token).await;
        assert_eq!(s["total_value"], "2700");
        assert_eq!(s["items"][0]["average_cost"], "156.73333333");
        assert_eq!(s["items"][0]["unrealized_gain_loss"], "349");
        assert_eq!(s["items"][0]["weight_percent"], "100");
        assert_eq!(app.read(&base, &token).await["total_value"], "2700");

        let sold = app
            .create(&trades, &token, trade(&aapl, "sell", "5", "190", "0"))
            .await;
        assert_eq!(sold["realized_gain"], "166.3333");
        assert_eq!(sold["item"]["quantity"], "10");
        let s = app.read(&format!("{base}/summary"), &token).await;
        assert_eq!(s["realized_gain_loss"], "166.3333");

        let oversell = trade(&aapl, "sell", "10.5", "190", "0");
        let response = app.post(&trades, &oversell, Some(&token)).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient_quantity",
        )
        .await;
        let emptied = app
            .create(&trades, &token, trade(&aapl, "sell", "10", "200", "0"))
            .await;
        assert_eq!(emptied["item"], Value::Null);
        assert_eq!(app.count(&format!("{base}/items"), &token).await, 0);
        assert_eq!(app.read(&base, &token).await["total_value"], "0");
    }
);

app_test!(
    exactly_one_portfolio_is_the_default_while_any_exist,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let first = app
            .create("/api/v1/portfolios", &token, json!({"name": "First"}))
            .await;
        assert_eq!(first["is_default"], true);
        let second = app
            .create(
                "/api/v1/portfolios",
                &token,
                json!({"name": "Second", "is_default": true}),
            )
            .await;
        assert_eq!(second["is_default"], true);
        let defaults = async || {
            let list = app.read("/api/v1/portfolios", &token).await;
            items(&list)
                .iter()
                .filter(|p| p["is_default"] == true)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect::<Vec<String>>()
        };
        assert_eq!(defaults().await, ["Second"]);
        let first_path = format!("/api/v1/portfolios/{}", id(&first));
        app.patch(&first_path, &json!({"is_default": true}), &token)
            .await;
        assert_eq!(defaults().await, ["First"]);
        let response = app
            .patch(&first_path, &json!({"is_default": false}), &token)
            .await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        app.delete(&first_path, &token).await;
        assert_eq!(defaults().await, ["Second"]);
    }
);

app_test!(
    target_allocations_are_validated,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        for targets in [
            json!({"stock": 60, "bond": "40.5"}),
            json!({"stock": 101}),
            json!({"stonks": 10}),
            json!({"stock": -1}),
        ] {
            let bad = json!({"name": "x", "target_allocation": targets});
            let response = app.post("/api/v1/portfolios", &bad, Some(&token)).await;
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let ok = app
            .create(
                "/api/v1/portfolios",
                &token,
                json!({"name": "x", "target_allocation": {"stock": 60, "bond": "40"}}),
            )
            .await;
        assert_eq!(
            ok["target_allocation"],
            json!({"bond": "40", "stock": "60"})
        );
    }
);

/// Ada with two securities priced and a portfolio "Main" of half each by type, holding
/// `holdings` (symbol, type, price, quantity, average cost): (token, portfolio path,
/// security ids).
async fn half_and_half(
    app: &TestApp,
    holdings: [(&str, &str, &str, &str, &str); 2],
) -> (String, String, Vec<String>) {
    let (token, _) = app.signed_in("ada").await;
    let mut ids = Vec::new();
    for (symbol, kind, price, _, _) in holdings {
        ids.push(security(app, &token, symbol, kind, price).await);
    }
    let targets: serde_json::Map<String, Value> = holdings
        .iter()
        .map(|(_, kind, ..)| ((*kind).to_owned(), json!(50)))
        .collect();
    let base = portfolio(
        app,
        &token,
        json!({"name": "Main", "target_allocation": targets}),
    )
    .await;
    for (id, (_, _, _, qty, cost)) in ids.iter().zip(holdings) {
        add_item(app, &token, &base, item(id, qty, cost)).await;
    }
    (token, base, ids)
}

app_test!(
    items_are_unique_per_security_and_rebalancing_respects_the_cash,
    |app: TestApp| async move {
        let (token, base, ids) = half_and_half(
            &app,
            [
                ("VTI", "etf", "100", "10", "90"),
                ("BTC", "crypto", "30000", "0.01", "90"),
            ],
        )
        .await;
        let stock = &ids[0];
        let items_path = format!("{base}/items");
        let again = json!({"investment_id": stock, "quantity": 1, "average_cost": 1});
        let response = app.post(&items_path, &again, Some(&token)).await;
        assert_error(response, StatusCode::CONFLICT, "duplicate_item").await;
        let bad = json!({"investment_id": stock, "quantity": 0, "average_cost": -1});
        let response = app.post(&items_path, &bad, Some(&token)).await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;

        let r = app
            .read(
                &format!("{base}/rebalance?cash=700&allow_sells=false"),
                &token,
            )
            .await;
        let trades = r["trades"].as_array().unwrap();
        assert_eq!(trades.len(), 1);
        assert_eq!(
            (trades[0]["symbol"].as_str(), trades[0]["side"].as_str()),
            (Some("BTC"), Some("buy"))
        );
        let spent: f64 = trades
            .iter()
            .map(|t| t["amount"].as_str().unwrap().parse::<f64>().unwrap())
            .sum();
        assert!(spent <= 700.0);
        let s = app.read(&format!("{base}/summary"), &token).await;
        assert_eq!(s["total_value"], "1300");
        assert_eq!(s["max_drift_percent"], "26.9231");
        let response = app
            .get(&format!("{base}/rebalance?cash=-5"), Some(&token))
            .await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
);

app_test!(
    another_users_portfolio_and_items_are_404_everywhere,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        let (bob, _) = app.signed_in("bob").await;
        let vti = security(&app, &ada, "VTI", "etf", "100").await;
        let base = portfolio(&app, &ada, json!({"name": "Ada's"})).await;
        let one = json!({"investment_id": vti, "quantity": 1, "average_cost": 1});
        let item = add_item(&app, &ada, &base, one.clone()).await;
        let item_path = format!("{base}/items/{}", id(&item));
        let bob_base = portfolio(&app, &bob, json!({"name": "Bob's"})).await;
        let buy = json!({"investment_id": vti, "side": "buy", "quantity": 1, "price": 1, "date": "2026-11-20"});
        let attempts: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, base.clone(), None),
            (
                Method::PATCH,
                base.clone(),
                Some(json!({"name": "Mine now"})),
            ),
            (Method::DELETE, base.clone(), None),
            (Method::GET, format!("{base}/items"), None),
            (Method::POST, format!("{base}/items"), Some(one.clone())),
            (
                Method::PATCH,
                item_path.clone(),
                Some(json!({"quantity": 5})),
            ),
            (Method::DELETE, item_path.clone(), None),
            (Method::POST, format!("{base}/trades"), Some(buy.clone())),
            (Method::GET, format!("{base}/summary"), None),
            (Method::GET, format!("{base}/rebalance"), None),
            (Method::GET, format!("{base}/trades"), None),
            // Ada's private security cannot go into Bob's portfolio either.
            (Method::POST, format!("{bob_base}/items"), Some(one)),
            (Method::POST, format!("{bob_base}/trades"), Some(buy)),
        ];
        app.assert_each_refused(attempts, &bob, StatusCode::NOT_FOUND, "not_found")
            .await;
        let after = app.read(&base, &ada).await;
        assert_eq!(
            (after["name"].as_str(), after["total_value"].as_str()),
            (Some("Ada's"), Some("100"))
        );
    }
);

app_test!(
    a_price_change_revalues_the_items_and_the_portfolio,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let vti = security(&app, &token, "VTI", "etf", "100").await;
        let base = portfolio(&app, &token, json!({"name": "Main"})).await;
        let item = add_item(&app, &token, &base, item(&vti, "3", "90")).await;
        assert_eq!(
            (
                item["current_value"].as_str(),
                item["unrealized_gain_loss"].as_str()
            ),
            (Some("300"), Some("30"))
        );
        set_price(&app, &token, &vti, "120.5", "2026-11-21").await;
        let items = app.read(&format!("{base}/items"), &token).await;
        let item = &items["items"][0];
        assert_eq!(item["current_value"], "361.5");
        assert_eq!(item["unrealized_gain_loss"], "91.5");
        assert_eq!(item["unrealized_gain_loss_percent"], "33.8889");
        assert_eq!(app.read(&base, &token).await["total_value"], "361.5");
        // An older price only joins the history.
        set_price(&app, &token, &vti, "1", "2026-01-01").await;
        assert_eq!(app.read(&base, &token).await["total_value"], "361.5");
    }
);

app_test!(
    without_sells_an_overweight_portfolio_only_buys,
    |app: TestApp| async move {
        let (token, base, _) = half_and_half(
            &app,
            [
                ("VTI", "etf", "100", "20", "1"),
                ("BND", "bond", "50", "2", "1"),
            ],
        )
        .await;
        let r = app
            .read(
                &format!("{base}/rebalance?cash=100&allow_sells=false"),
                &token,
            )
            .await;
        assert_eq!(sides(&r), ["buy"]);
        assert_eq!(r["trades"][0]["symbol"], "BND");
        assert_eq!(r["trades"][0]["amount"], "100");
        let with_sells = app
            .read(&format!("{base}/rebalance?cash=100"), &token)
            .await;
        assert_eq!(sides(&with_sells), ["sell", "buy"]);
        // 2,000 in VTI and 100 in BND plus 100 cash: each wants 1,100, so 9 VTI (whole units) go.
        assert_eq!(
            (
                with_sells["trades"][0]["symbol"].as_str(),
                with_sells["trades"][0]["quantity"].as_str()
            ),
            (Some("VTI"), Some("9"))
        );
    }
);

app_test!(
    an_item_id_from_another_users_portfolio_is_404_even_under_your_own,
    |app: TestApp| async move {
        let (ada, _) = app.signed_in("ada").await;
        let (bob, _) = app.signed_in("bob").await;
        let vti = security(&app, &ada, "VTI", "etf", "100").await;
        let adas = portfolio(&app, &ada, json!({"name": "Ada's"})).await;
        let item = add_item(&app, &ada, &adas, item(&vti, "1", "1")).await;
        let bobs = portfolio(&app, &bob, json!({"name": "Bob's"})).await;
        let path = format!("{bobs}/items/{}", id(&item));
        let attempts = vec![
            (Method::PATCH, path.clone(), Some(json!({"quantity": 9}))),
            (Method::DELETE, path, None),
        ];
        app.assert_each_refused(attempts, &bob, StatusCode::NOT_FOUND, "not_found")
            .await;
        let items = app.read(&format!("{adas}/items"), &ada).await;
        assert_eq!(items["items"][0]["quantity"], "1");
    }
);
