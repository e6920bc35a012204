//! Portfolios: the default flag, items, trades, summary and rebalancing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, error_code};

async fn security(app: &TestApp, token: &str, symbol: &str, t: &str, price: &str) -> String {
    let created = app
        .post(
            "/api/v1/investments",
            &json!({"symbol": symbol, "name": symbol, "type": t}),
            Some(token),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let response = app
        .send(
            Method::PUT,
            &format!("/api/v1/investments/{id}/price"),
            Some(&json!({"price": price, "date": "2026-11-20"})),
            Some(token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    id
}

async fn portfolio(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post("/api/v1/portfolios", &body, Some(token)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    response.json().await.unwrap()
}

app_test!(
    the_aapl_example_through_the_api,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let aapl = security(&app, &token, "AAPL", "stock", "180").await;
        let p = portfolio(&app, &token, json!({"name": "Main"})).await;
        let base = format!("/api/v1/portfolios/{}", p["id"].as_str().unwrap());
        let trade = |side: &str, qty: &str, price: &str, fee: &str| json!({"investment_id": aapl, "side": side, "quantity": qty, "price": price, "fee": fee, "date": "2026-11-20"});
        for body in [
            trade("buy", "10", "150", "0"),
            trade("buy", "5", "170", "1.00"),
        ] {
            let response = app
                .post(&format!("{base}/trades"), &body, Some(&token))
                .await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        let s = app.read(&format!("{base}/summary"), &token).await;
        assert_eq!(s["total_value"], "2700");
        assert_eq!(s["items"][0]["average_cost"], "156.73333333");
        assert_eq!(s["items"][0]["unrealized_gain_loss"], "349");
        assert_eq!(s["items"][0]["weight_percent"], "100");
        assert_eq!(app.read(&base, &token).await["total_value"], "2700");

        let response = app
            .post(
                &format!("{base}/trades"),
                &trade("sell", "5", "190", "0"),
                Some(&token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let sold: Value = response.json().await.unwrap();
        assert_eq!(sold["realized_gain"], "166.3333");
        assert_eq!(sold["item"]["quantity"], "10");
        let s = app.read(&format!("{base}/summary"), &token).await;
        assert_eq!(s["realized_gain_loss"], "166.3333");

        let response = app
            .post(
                &format!("{base}/trades"),
                &trade("sell", "10.5", "190", "0"),
                Some(&token),
            )
            .await;
        assert_eq!(
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY)
                .await
                .0,
            "insufficient_quantity"
        );
        let response = app
            .post(
                &format!("{base}/trades"),
                &trade("sell", "10", "200", "0"),
                Some(&token),
            )
            .await;
        let emptied: Value = response.json().await.unwrap();
        assert_eq!(emptied["item"], Value::Null);
        assert!(
            app.read(&format!("{base}/items"), &token).await["items"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert_eq!(app.read(&base, &token).await["total_value"], "0");
    }
);

app_test!(
    exactly_one_portfolio_is_the_default_while_any_exist,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let first = portfolio(&app, &token, json!({"name": "First"})).await;
        assert_eq!(first["is_default"], true);
        let second = portfolio(&app, &token, json!({"name": "Second", "is_default": true})).await;
        assert_eq!(second["is_default"], true);
        let defaults = |list: &Value| -> Vec<String> {
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["is_default"] == true)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            defaults(&app.read("/api/v1/portfolios", &token).await),
            ["Second"]
        );
        let first_path = format!("/api/v1/portfolios/{}", first["id"].as_str().unwrap());
        app.send(
            Method::PATCH,
            &first_path,
            Some(&json!({"is_default": true})),
            Some(&token),
        )
        .await;
        assert_eq!(
            defaults(&app.read("/api/v1/portfolios", &token).await),
            ["First"]
        );
        let response = app
            .send(
                Method::PATCH,
                &first_path,
                Some(&json!({"is_default": false})),
                Some(&token),
            )
            .await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        app.send(Method::DELETE, &first_path, None, Some(&token))
            .await;
        assert_eq!(
            defaults(&app.read("/api/v1/portfolios", &token).await),
            ["Second"]
        );
    }
);

app_test!(
    target_allocations_are_validated,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        for bad in [
            json!({"name": "x", "target_allocation": {"stock": 60, "bond": "40.5"}}),
            json!({"name": "x", "target_allocation": {"stock": 101}}),
            json!({"name": "x", "target_allocation": {"stonks": 10}}),
            json!({"name": "x", "target_allocation": {"stock": -1}}),
        ] {
            let response = app.post("/api/v1/portfolios", &bad, Some(&token)).await;
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let ok = portfolio(
            &app,
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

app_test!(
    items_are_unique_per_security_and_rebalancing_respects_the_cash,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let stock = security(&app, &token, "VTI", "etf", "100").await;
        let btc = security(&app, &token, "BTC", "crypto", "30000").await;
        let p = portfolio(
            &app,
            &token,
            json!({"name": "Main", "target_allocation": {"etf": 50, "crypto": 50}}),
        )
        .await;
        let base = format!("/api/v1/portfolios/{}", p["id"].as_str().unwrap());
        for (id, qty) in [(&stock, "10"), (&btc, "0.01")] {
            let response = app
                .post(
                    &format!("{base}/items"),
                    &json!({"investment_id": id, "quantity": qty, "average_cost": "90"}),
                    Some(&token),
                )
                .await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        let again = app
            .post(
                &format!("{base}/items"),
                &json!({"investment_id": stock, "quantity": 1, "average_cost": 1}),
                Some(&token),
            )
            .await;
        assert_eq!(
            error_code(again, StatusCode::CONFLICT).await.0,
            "duplicate_item"
        );
        let bad = app
            .post(
                &format!("{base}/items"),
                &json!({"investment_id": stock, "quantity": 0, "average_cost": -1}),
                Some(&token),
            )
            .await;
        error_code(bad, StatusCode::UNPROCESSABLE_ENTITY).await;

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
        let p = portfolio(&app, &ada, json!({"name": "Ada's"})).await;
        let base = format!("/api/v1/portfolios/{}", p["id"].as_str().unwrap());
        let item: Value = app
            .post(
                &format!("{base}/items"),
                &json!({"investment_id": vti, "quantity": 1, "average_cost": 1}),
                Some(&ada),
            )
            .await
            .json()
            .await
            .unwrap();
        let item_path = format!("{base}/items/{}", item["id"].as_str().unwrap());
        let bobs = portfolio(&app, &bob, json!({"name": "Bob's"})).await;
        let bob_base = format!("/api/v1/portfolios/{}", bobs["id"].as_str().unwrap());
        let attempts: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, base.clone(), None),
            (
                Method::PATCH,
                base.clone(),
                Some(json!({"name": "Mine now"})),
            ),
            (Method::DELETE, base.clone(), None),
            (Method::GET, format!("{base}/items"), None),
            (
                Method::POST,
                format!("{base}/items"),
                Some(json!({"investment_id": vti, "quantity": 1, "average_cost": 1})),
            ),
            (
                Method::PATCH,
                item_path.clone(),
                Some(json!({"quantity": 5})),
            ),
            (Method::DELETE, item_path.clone(), None),
            (
                Method::POST,
                format!("{base}/trades"),
                Some(
                    json!({"investment_id": vti, "side": "buy", "quantity": 1, "price": 1, "date": "2026-11-20"}),
                ),
            ),
            (Method::GET, format!("{base}/summary"), None),
            (Method::GET, format!("{base}/rebalance"), None),
            (Method::GET, format!("{base}/trades"), None),
            // Ada's private security cannot go into Bob's portfolio either.
            (
                Method::POST,
                format!("{bob_base}/items"),
                Some(json!({"investment_id": vti, "quantity": 1, "average_cost": 1})),
            ),
            (
                Method::POST,
                format!("{bob_base}/trades"),
                Some(
                    json!({"investment_id": vti, "side": "buy", "quantity": 1, "price": 1, "date": "2026-11-20"}),
                ),
            ),
        ];
        for (method, path, body) in attempts {
            let response = app
                .send(method.clone(), &path, body.as_ref(), Some(&bob))
                .await;
            error_code(response, StatusCode::NOT_FOUND).await;
        }
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
        let p = portfolio(&app, &token, json!({"name": "Main"})).await;
        let base = format!("/api/v1/portfolios/{}", p["id"].as_str().unwrap());
        let item: Value = app
            .post(
                &format!("{base}/items"),
                &json!({"investment_id": vti, "quantity": "3", "average_cost": "90"}),
                Some(&token),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (
                item["current_value"].as_str(),
                item["unrealized_gain_loss"].as_str()
            ),
            (Some("300"), Some("30"))
        );
        let response = app
            .send(
                Method::PUT,
                &format!("/api/v1/investments/{vti}/price"),
                Some(&json!({"price": "120.5", "date": "2026-11-21"})),
                Some(&token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let items = app.read(&format!("{base}/items"), &token).await;
        let item = &items["items"][0];
        assert_eq!(item["current_value"], "361.5");
        assert_eq!(item["unrealized_gain_loss"], "91.5");
        assert_eq!(item["unrealized_gain_loss_percent"], "33.8889");
        assert_eq!(app.read(&base, &token).await["total_value"], "361.5");
        // An older price only joins the history.
        app.send(
            Method::PUT,
            &format!("/api/v1/investments/{vti}/price"),
            Some(&json!({"price": "1", "date": "2026-01-01"})),
            Some(&token),
        )
        .await;
        assert_eq!(app.read(&base, &token).await["total_value"], "361.5");
    }
);

app_test!(
    without_sells_an_overweight_portfolio_only_buys,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let vti = security(&app, &token, "VTI", "etf", "100").await;
        let bnd = security(&app, &token, "BND", "bond", "50").await;
        let p = portfolio(
            &app,
            &token,
            json!({"name": "Main", "target_allocation": {"etf": 50, "bond": 50}}),
        )
        .await;
        let base = format!("/api/v1/portfolios/{}", p["id"].as_str().unwrap());
        for (id, qty) in [(&vti, "20"), (&bnd, "2")] {
            app.post(
                &format!("{base}/items"),
                &json!({"investment_id": id, "quantity": qty, "average_cost": "1"}),
                Some(&token),
            )
            .await;
        }
        let r = app
            .read(
                &format!("{base}/rebalance?cash=100&allow_sells=false"),
                &token,
            )
            .await;
        let sides: Vec<&str> = r["trades"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["side"].as_str().unwrap())
            .collect();
        assert_eq!(sides, ["buy"]);
        assert_eq!(r["trades"][0]["symbol"], "BND");
        assert_eq!(r["trades"][0]["amount"], "100");
        let with_sells = app
            .read(&format!("{base}/rebalance?cash=100"), &token)
            .await;
        let sides: Vec<&str> = with_sells["trades"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["side"].as_str().unwrap())
            .collect();
        assert_eq!(sides, ["sell", "buy"]);
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
        let item: Value = app
            .post(
                &format!("/api/v1/portfolios/{}/items", adas["id"].as_str().unwrap()),
                &json!({"investment_id": vti, "quantity": 1, "average_cost": 1}),
                Some(&ada),
            )
            .await
            .json()
            .await
            .unwrap();
        let bobs = portfolio(&app, &bob, json!({"name": "Bob's"})).await;
        let path = format!(
            "/api/v1/portfolios/{}/items/{}",
            bobs["id"].as_str().unwrap(),
            item["id"].as_str().unwrap()
        );
        let response = app
            .send(
                Method::PATCH,
                &path,
                Some(&json!({"quantity": 9})),
                Some(&bob),
            )
            .await;
        error_code(response, StatusCode::NOT_FOUND).await;
        let response = app.send(Method::DELETE, &path, None, Some(&bob)).await;
        error_code(response, StatusCode::NOT_FOUND).await;
        let items = app
            .read(
                &format!("/api/v1/portfolios/{}/items", adas["id"].as_str().unwrap()),
                &ada,
            )
            .await;
        assert_eq!(items["items"][0]["quantity"], "1");
    }
);
