//! Overview, history, cash flow, exchange rates and their cache.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, account_body, error_code, id, items, txn_body, with};

app_test!(
    cash_flow_leaves_out_transfers_and_pending_and_groups_three_ways,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "5000").await;
        let rows = [
            ("3000", "2026-10-01", "income", Some("Acme"), false),
            (
                "-45.5",
                "2026-10-03",
                "food_and_drink",
                Some("Luigi's"),
                false,
            ),
            (
                "-4.5",
                "2026-11-03",
                "food_and_drink",
                Some("Luigi's"),
                false,
            ),
            ("-1000", "2026-10-05", "transfer", None, false),
            ("-99", "2026-10-06", "shopping", Some("Shop"), true),
            ("-10", "2026-09-30", "shopping", Some("Shop"), false),
        ];
        for (amount, date, category, merchant, pending) in rows {
            let more = json!({"description": "t", "category": category, "merchant_name": merchant, "is_pending": pending});
            app.transaction(&token, with(txn_body(&account, amount, date), more))
                .await;
        }
        let cashflow = "/api/v1/cashflow?from=2026-10-01&to=2026-11-30";
        let c = app.read(cashflow, &token).await;
        assert_eq!(
            (
                c["income"].as_str(),
                c["expenses"].as_str(),
                c["net"].as_str()
            ),
            (Some("3000"), Some("50"), Some("2950"))
        );
        let keys: Vec<&str> = c["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["food_and_drink", "income"]);
        assert_eq!(c["groups"][0]["count"], 2);
        let by_month = app
            .read(&format!("{cashflow}&group_by=month"), &token)
            .await;
        let months: Vec<(&str, &str)> = by_month["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["key"].as_str().unwrap(), g["net"].as_str().unwrap()))
            .collect();
        assert_eq!(months, [("2026-10", "2954.5"), ("2026-11", "-4.5")]);
        let by_merchant = app
            .read(&format!("{cashflow}&group_by=merchant"), &token)
            .await;
        assert_eq!(by_merchant["groups"][1]["key"], "Luigi's");
        assert_eq!(by_merchant["groups"][1]["expenses"], "50");
        app.assert_gets_refused(
            &[
                "/api/v1/cashflow?group_by=week",
                "/api/v1/cashflow?from=2026-11-01&to=2026-10-01",
            ],
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
);

app_test!(
    foreign_accounts_count_only_once_a_rate_is_set,
    |app: TestApp| async move {
        let (token, _) = app.with_checking("ada", "100").await;
        let eur = app
            .account(
                &token,
                with(
                    account_body("Girokonto", "checking", "1000"),
                    json!({"currency": "EUR"}),
                ),
            )
            .await;
        let o = app.read("/api/v1/overview", &token).await;
        assert_eq!(o["net_worth"], "100");
        assert_eq!(o["unconverted"], json!([eur["id"]]));
        let (status, _) = app
            .put_json("/api/v1/fx-rates/EUR", &json!({"rate": "1.0845"}), &token)
            .await;
        assert_eq!(status, StatusCode::OK);
        let o = app.read("/api/v1/overview", &token).await;
        assert_eq!(o["net_worth"], "1184.5");
        assert_eq!(o["unconverted"], json!([]));
        let line = o["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == eur["id"])
            .unwrap()
            .clone();
        assert_eq!(line["balance_in_base"], "1084.5");
        let rates = app.read("/api/v1/fx-rates", &token).await;
        assert_eq!(rates["items"][0]["rate"], "1.0845");

        for (currency, body) in [
            ("EUR", json!({"rate": 0})),
            ("EUR", json!({"rate": "-1"})),
            ("XYZ", json!({"rate": 1})),
            ("USD", json!({"rate": 1})),
        ] {
            let response = app
                .put(&format!("/api/v1/fx-rates/{currency}"), &body, &token)
                .await;
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    }
);

async fn flow(app: &TestApp, token: &str) -> Value {
    let c = app
        .read("/api/v1/cashflow?from=2026-01-01&to=2026-12-31", token)
        .await;
    c["expenses"].clone()
}

app_test!(
    a_read_after_any_write_is_never_stale,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "100").await;
        assert_eq!(app.net_worth(&token).await, "100");
        assert_eq!(app.net_worth(&token).await, "100"); // now cached
        assert_eq!(flow(&app, &token).await, "0");
        let t = app
            .transaction(&token, txn_body(&account, "-30", "2026-06-01"))
            .await;
        assert_eq!(app.net_worth(&token).await, "70");
        assert_eq!(flow(&app, &token).await, "30");
        let path = format!("/api/v1/transactions/{}", id(&t));
        app.patch(&path, &json!({"amount": "-40"}), &token).await;
        assert_eq!(app.net_worth(&token).await, "60");
        assert_eq!(flow(&app, &token).await, "40");
        app.delete(&path, &token).await;
        assert_eq!(app.net_worth(&token).await, "100");
        let acct_path = format!("/api/v1/accounts/{account}");
        app.patch(&acct_path, &json!({"current_balance": "5"}), &token)
            .await;
        assert_eq!(app.net_worth(&token).await, "5");
        app.patch(
            "/api/v1/me",
            &json!({"preferences": {"base_currency": "EUR"}}),
            &token,
        )
        .await;
        let o = app.read("/api/v1/overview", &token).await;
        assert_eq!(o["base_currency"], "EUR");
        assert_eq!(o["net_worth"], "0");
        assert_eq!(o["unconverted"], json!([account]));
    }
);

app_test!(
    history_carries_balances_forward_to_each_date,
    |app: TestApp| async move {
        let (token, _) = app.with_checking("ada", "100").await;
        app.account(&token, account_body("Card", "credit_card", "40"))
            .await;
        let today = chrono::Utc::now().date_naive();
        let from = today - chrono::Days::new(14);
        let h = app
            .read(
                &format!("/api/v1/overview/history?from={from}&to={today}&interval=week"),
                &token,
            )
            .await;
        let items = items(&h);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["net_worth"], "0");
        let last: &Value = &items[2];
        assert_eq!(last["date"], today.to_string());
        assert_eq!(
            (
                last["total_assets"].as_str(),
                last["total_liabilities"].as_str(),
                last["net_worth"].as_str()
            ),
            (Some("100"), Some("40"), Some("60"))
        );
        app.assert_gets_refused(
            &[
                "/api/v1/overview/history?interval=hour",
                "/api/v1/overview/history?from=1900-01-01&interval=day",
            ],
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
);
