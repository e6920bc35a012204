//! Balance history from the ledger, as a new user meets it through the API: back-dated
//! transactions, reconciliations and the opening date move the net-worth trend on their dates.

use chrono::{Days, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, described, invalid_fields, items};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `n` days before today, as the API writes dates.
fn ago(n: u64) -> String {
    (today() - Days::new(n)).to_string()
}

/// The net worth of each point of a history, by date.
fn worth(history: &Value) -> Vec<(String, String)> {
    items(history)
        .iter()
        .map(|p| {
            (
                p["date"].as_str().unwrap().to_owned(),
                p["net_worth"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

app_test!(
    a_new_users_back_dated_transactions_shape_the_trend_on_their_dates,
    |app: TestApp| async move {
        // A new user's first steps: checking opened with 1000, then -100, +500 and -50
        // dated 40, 20 and 5 days ago.
        let (token, account) = app.with_checking("ada", "1000").await;
        for (amount, days) in [("-100", 40), ("500", 20), ("-50", 5)] {
            app.transaction(&token, described(&account, amount, &ago(days), "x"))
                .await;
        }
        let daily = app
            .read(
                &format!(
                    "/api/v1/overview/history?from={}&to={}&interval=day",
                    ago(45),
                    ago(0)
                ),
                &token,
            )
            .await;
        let daily = worth(&daily);
        assert_eq!(daily.len(), 46);
        for (date, net) in &daily {
            let d: NaiveDate = date.parse().unwrap();
            let days = (today() - d).num_days();
            let want = if days > 40 {
                "0"
            } else if days > 20 {
                "900"
            } else if days > 5 {
                "1400"
            } else {
                "1350"
            };
            assert_eq!(net, want, "{date} ({days} days ago)");
        }
        let weekly = app
            .read(
                &format!("/api/v1/overview/history?from={}&interval=week", ago(45)),
                &token,
            )
            .await;
        let weekly: Vec<String> = worth(&weekly).into_iter().map(|(_, n)| n).collect();
        assert!(
            weekly.contains(&"900".to_owned()) && weekly.contains(&"1400".to_owned()),
            "{weekly:?}"
        );
        assert_eq!(weekly.last().unwrap(), "1350");
        let path = format!("/api/v1/accounts/{account}");
        let stored = app.read(&path, &token).await;
        assert_eq!(stored["opened_on"], ago(40));
        assert_eq!(stored["current_balance"], "1350");
        assert_eq!(
            app.read("/api/v1/overview", &token).await["net_worth"],
            "1350"
        );
    }
);

app_test!(
    a_reconciliation_steps_the_trend_on_its_day_and_is_listed_with_the_account,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "1000").await;
        app.transaction(&token, described(&account, "500", &ago(20), "Pay"))
            .await;
        let path = format!("/api/v1/accounts/{account}");
        let (status, body) = app
            .patch_json(
                &path,
                &json!({"current_balance": "1234.56", "as_of": ago(10)}),
                &token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["current_balance"], "1234.56");
        let history = app
            .read(
                &format!(
                    "/api/v1/overview/history?from={}&to={}&interval=day",
                    ago(11),
                    ago(9)
                ),
                &token,
            )
            .await;
        let nets: Vec<String> = worth(&history).into_iter().map(|(_, n)| n).collect();
        assert_eq!(nets, ["1500", "1234.56", "1234.56"]);
        let adjustments = app.read(&format!("{path}/adjustments"), &token).await;
        let listed = &items(&adjustments)[0];
        assert_eq!(
            (
                listed["date"].as_str(),
                listed["amount"].as_str(),
                listed["balance"].as_str()
            ),
            (Some(ago(10).as_str()), Some("-265.44"), Some("1234.56"))
        );
    }
);

app_test!(
    ledger_dates_that_cannot_be_are_422s_naming_their_field,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "100").await;
        app.transaction(&token, described(&account, "-10", &ago(30), "Old"))
            .await;
        let path = format!("/api/v1/accounts/{account}");
        let tomorrow = (today() + Days::new(1)).to_string();
        for (body, field) in [
            (json!({"current_balance": "5", "as_of": ago(31)}), "as_of"),
            (json!({"current_balance": "5", "as_of": tomorrow}), "as_of"),
            (json!({"as_of": ago(1)}), "as_of"),
            (json!({"opened_on": ago(29)}), "opened_on"),
            (json!({"opened_on": tomorrow}), "opened_on"),
        ] {
            let response = app.patch(&path, &body, &token).await;
            assert_eq!(invalid_fields(response).await, [field], "{body}");
        }
        let response = app
            .post(
                "/api/v1/accounts",
                &json!({"name": "Later", "type": "savings", "current_balance": "1", "opened_on": tomorrow}),
                Some(&token),
            )
            .await;
        assert_eq!(invalid_fields(response).await, ["opened_on"]);
        // Nothing changed.
        let stored = app.read(&path, &token).await;
        assert_eq!(
            (
                stored["current_balance"].as_str(),
                stored["opened_on"].as_str()
            ),
            (Some("90"), Some(ago(30).as_str()))
        );
        assert_eq!(app.count(&format!("{path}/adjustments"), &token).await, 0);
    }
);
