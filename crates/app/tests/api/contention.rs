//! Concurrent writes that contend for the same rows (trades, price updates and transactions)
//! never answer a server error, and every figure comes out right.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::json;

use crate::app_test;
use crate::helpers::{TestApp, described, id, items};

const ROUNDS: usize = 25;

app_test!(
    trades_price_updates_and_transactions_racing_each_other_never_answer_5xx,
    |app: TestApp| async move {
        let (token, checking) = app.with_checking("ada", "100000").await;
        let security = id(&app
            .create(
                "/api/v1/investments",
                &token,
                json!({"symbol": "RACE", "name": "Race fund", "type": "etf"}),
            )
            .await);
        let portfolio = id(&app
            .create("/api/v1/portfolios", &token, json!({"name": "Racing"}))
            .await);
        let app = Arc::new(app);
        let token = Arc::new(token);

        let trades = {
            let (app, token, security) = (app.clone(), token.clone(), security.clone());
            let portfolio = portfolio.clone();
            tokio::spawn(async move {
                let path = format!("/api/v1/portfolios/{portfolio}/trades");
                let mut statuses = Vec::new();
                for _ in 0..ROUNDS {
                    let body = json!({"investment_id": security, "side": "buy", "quantity": "1",
                        "price": "10", "fee": "0", "date": "2026-11-20"});
                    statuses.push(app.post(&path, &body, Some(&token)).await.status());
                }
                statuses
            })
        };
        let prices = {
            let (app, token, security) = (app.clone(), token.clone(), security.clone());
            tokio::spawn(async move {
                let path = format!("/api/v1/investments/{security}/price");
                let mut statuses = Vec::new();
                for round in 0..ROUNDS {
                    let body = json!({"price": format!("{}", 10 + round), "date": "2026-11-21"});
                    statuses.push(app.put_json(&path, &body, &token).await.0);
                }
                statuses
            })
        };
        let spending = {
            let (app, token, checking) = (app.clone(), token.clone(), checking.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for round in 0..ROUNDS {
                    // Back-dated ones shift every later balance point too.
                    let date = format!("2026-11-{:02}", 1 + round % 20);
                    let body = described(&checking, "-1.25", &date, "coffee");
                    let response = app.post("/api/v1/transactions", &body, Some(&token)).await;
                    statuses.push(response.status());
                }
                statuses
            })
        };
        let mut all = Vec::new();
        for task in [trades, prices, spending] {
            all.extend(task.await.unwrap());
        }
        let failed: Vec<_> = all.iter().filter(|s| !s.is_success()).collect();
        assert!(failed.is_empty(), "not every write succeeded: {failed:?}");

        let expected = Decimal::from(100_000) - Decimal::new(125, 2) * Decimal::from(ROUNDS);
        let balance: Decimal = app
            .balance(&token, &checking)
            .await
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(balance, expected);
        let held = app
            .read(&format!("/api/v1/portfolios/{portfolio}/items"), &token)
            .await;
        let item = &items(&held)[0];
        assert_eq!(item["quantity"], ROUNDS.to_string());
        // Valued at the last price written.
        let value: Decimal = item["current_value"].as_str().unwrap().parse().unwrap();
        assert_eq!(value, Decimal::from(ROUNDS * (10 + ROUNDS - 1)));
        assert_eq!(
            app.read(
                &format!("/api/v1/portfolios/{portfolio}/trades?limit=100"),
                &token
            )
            .await["items"]
                .as_array()
                .unwrap()
                .len(),
            ROUNDS
        );
    }
);

app_test!(
    a_cash_flow_whose_sums_outgrow_the_database_integers_is_a_422_on_both_backends,
    |app: TestApp| async move {
        let (token, checking) = app.with_checking("ada", "0").await;
        // Ten incomes and spendings of almost 10^14 each: the account stays in range, but the
        // period's income (10^15) is beyond money's range, and on SQLite beyond its integers.
        let huge = "99999999999999.9999";
        for day in 1..=10 {
            let date = format!("2026-10-{day:02}");
            app.transaction(&token, described(&checking, huge, &date, "in"))
                .await;
            app.transaction(
                &token,
                described(&checking, &format!("-{huge}"), &date, "out"),
            )
            .await;
        }
        let response = app
            .get(
                "/api/v1/cashflow?from=2026-10-01&to=2026-10-31&group_by=month",
                Some(&token),
            )
            .await;
        let status = response.status();
        assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        crate::helpers::error_code(response, status).await;
    }
);
