//! Balance history from the ledger, as a new user meets it through the API: back-dated
//! transactions, reconciliations and the opening date move the net-worth trend on their dates.

use chrono::{Days, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, described, id, invalid_fields, items, with};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `n` days before today, as the API writes dates.
fn ago(n: u64) -> String {
    (today() - Days::new(n)).to_string()
}

/// The daily net-worth trend from `from` to `to` days ago.
fn trend(from: u64, to: u64) -> String {
    format!(
        "/api/v1/overview/history?from={}&to={}&interval=day",
        ago(from),
        ago(to)
    )
}

/// Signs ada in with a checking account holding `balance` and one transaction of `amount`
/// dated `days` ago: (token, account).
async fn ada_with(
    app: &TestApp,
    balance: &str,
    (amount, days, description): (&str, u64, &str),
) -> (String, String) {
    let (token, account) = app.with_checking("ada", balance).await;
    app.transaction(&token, described(&account, amount, &ago(days), description))
        .await;
    (token, account)
}

/// Sets the transaction at `path` pending or posted; asserts 200 and returns it.
async fn mark_pending(app: &TestApp, token: &str, path: &str, pending: bool) -> Value {
    let (status, body) = app
        .patch_json(path, &json!({"is_pending": pending}), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Each item of a list as (date, its `field`).
fn by_date(list: &Value, field: &str) -> Vec<(String, String)> {
    items(list)
        .iter()
        .map(|p| {
            (
                p["date"].as_str().unwrap().to_owned(),
                p[field].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The net worth of each point of a history, by date.
fn worth(history: &Value) -> Vec<(String, String)> {
    by_date(history, "net_worth")
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
        let daily = worth(&app.read(&trend(45, 0), &token).await);
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
        let (token, account) = ada_with(&app, "1000", ("500", 20, "Pay")).await;
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
        let history = app.read(&trend(11, 9), &token).await;
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
        let (token, account) = ada_with(&app, "100", ("-10", 30, "Old")).await;
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

/// Records a pending transaction of `amount` on `account`, dated `date`; its path.
async fn hold(
    app: &TestApp,
    token: &str,
    account: &str,
    (amount, date, description): (&str, &str, &str),
) -> String {
    let body = described(account, amount, date, description);
    let created = app
        .transaction(token, with(body, json!({"is_pending": true})))
        .await;
    format!("/api/v1/transactions/{}", id(&created))
}

/// Each snapshot of an account from `from` on: (date, balance).
async fn points(app: &TestApp, token: &str, account: &str, from: &str) -> Vec<(String, String)> {
    let snapshots = app
        .read(
            &format!("/api/v1/accounts/{account}/snapshots?from={from}"),
            token,
        )
        .await;
    by_date(&snapshots, "balance")
}

app_test!(
    posting_a_pending_transaction_moves_the_balance_once_from_its_date_and_making_it_pending_again_moves_it_back,
    |app: TestApp| async move {
        let (token, account) = ada_with(&app, "100", ("50", 20, "Paycheck")).await;
        let path = hold(&app, &token, &account, ("-30", &ago(10), "Hotel hold")).await;
        let trend = trend(11, 9);
        let at = |balance: [&str; 3]| {
            vec![
                (ago(11), balance[0].to_owned()),
                (ago(10), balance[1].to_owned()),
                (ago(9), balance[2].to_owned()),
            ]
        };
        assert_eq!(app.balance(&token, &account).await, "150");
        assert_eq!(worth(&app.read(&trend, &token).await), at(["150"; 3]));

        let posted = mark_pending(&app, &token, &path, false).await;
        assert_eq!(posted["is_pending"], false);
        assert_eq!(app.balance(&token, &account).await, "120");
        assert_eq!(app.net_worth(&token).await, "120");
        assert_eq!(
            worth(&app.read(&trend, &token).await),
            at(["150", "120", "120"])
        );
        let after = points(&app, &token, &account, &ago(11)).await;
        assert_eq!(after.first(), Some(&(ago(10), "120".to_owned())), "{after:?}");
        assert!(after.iter().all(|(_, b)| b == "120"), "{after:?}");

        // Posting it again changes nothing: the balance moved once.
        mark_pending(&app, &token, &path, false).await;
        assert_eq!(app.balance(&token, &account).await, "120");

        let pending = mark_pending(&app, &token, &path, true).await;
        assert_eq!(pending["is_pending"], true);
        assert_eq!(app.balance(&token, &account).await, "150");
        assert_eq!(app.net_worth(&token).await, "150");
        assert_eq!(worth(&app.read(&trend, &token).await), at(["150"; 3]));
        let back = points(&app, &token, &account, &ago(11)).await;
        assert!(back.iter().all(|(_, b)| b == "150"), "{back:?}");

        let history = app.read(&format!("{path}/history"), &token).await;
        let entries: Vec<(&str, &Value)> = items(&history)
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), &e["changes"]))
            .collect();
        assert_eq!(entries.len(), 3, "{history}");
        assert_eq!(entries[0].0, "created");
        assert_eq!(
            entries[1..],
            [
                ("updated", &json!({"is_pending": [true, false]})),
                ("updated", &json!({"is_pending": [false, true]})),
            ]
        );
    }
);

app_test!(
    posting_a_pending_transaction_that_would_overdraw_savings_is_refused_and_it_stays_pending,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let savings = app.new_account(&token, "Savings", "savings", "10").await;
        let path = hold(&app, &token, &savings, ("-25", &ago(3), "Transfer out")).await;
        let (status, body) = app
            .patch_json(&path, &json!({"is_pending": false}), &token)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "negative_balance_not_allowed");
        assert_eq!(app.read(&path, &token).await["is_pending"], true);
        assert_eq!(app.balance(&token, &savings).await, "10");
        let history = app.read(&format!("{path}/history"), &token).await;
        assert_eq!(items(&history).len(), 1);
    }
);
