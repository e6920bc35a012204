//! Accounts, balances and snapshots.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{
    TestApp, account_body, assert_error, described, error_code, id, invalid_fields, items,
};

app_test!(
    an_account_is_created_read_changed_and_deleted,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let created = app
            .account(
                &token,
                json!({"name": " Checking ", "type": "checking", "institution_name": "Chase", "current_balance": "1000.10", "currency": "EUR"}),
            )
            .await;
        assert_eq!(created["name"], "Checking");
        assert_eq!(created["current_balance"], "1000.1");
        assert_eq!(created["currency"], "EUR");
        assert_eq!(created["available_balance"], Value::Null);
        let path = format!("/api/v1/accounts/{}", id(&created));
        assert_eq!(app.read(&path, &token).await, created);

        let patch = json!({"name": "Main", "current_balance": 0.1, "institution_name": null});
        let (status, changed) = app.patch_json(&path, &patch, &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(changed["name"], "Main");
        assert_eq!(changed["current_balance"], "0.1");
        assert_eq!(changed["institution_name"], Value::Null);

        for null in [json!({"name": null}), json!({"current_balance": null})] {
            let response = app.patch(&path, &null, &token).await;
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        assert_eq!(app.count("/api/v1/accounts", &token).await, 1);
        let response = app.delete(&path, &token).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        app.assert_gone(&path, &token).await;
    }
);

app_test!(
    account_rules_are_422s_naming_the_fields,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let bad = json!({"name": "", "type": "brokerage", "current_balance": "1.00001", "currency": "usd"});
        let response = app.post("/api/v1/accounts", &bad, Some(&token)).await;
        assert_eq!(
            invalid_fields(response).await,
            ["currency", "current_balance", "name", "type"]
        );

        let negative = account_body("Savings", "savings", "-0.01");
        let response = app.post("/api/v1/accounts", &negative, Some(&token)).await;
        assert!(
            invalid_fields(response)
                .await
                .contains(&"current_balance".to_owned())
        );

        // A card may owe (a negative balance), a checking account may be overdrawn; savings may
        // not go below zero.
        for (name, kind, opening, change, allowed) in [
            ("Card", "credit_card", "-20", "-25.5", true),
            ("Checking", "checking", "-20", "-25.5", true),
            ("Savings", "savings", "5", "-1", false),
        ] {
            let created = app.account(&token, account_body(name, kind, opening)).await;
            assert_eq!(created["current_balance"], opening, "{kind}");
            let path = format!("/api/v1/accounts/{}", id(&created));
            let response = app
                .patch(&path, &json!({"current_balance": change}), &token)
                .await;
            if allowed {
                assert_eq!(response.status(), StatusCode::OK, "{kind}");
            } else {
                error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
                assert_eq!(app.balance(&token, &id(&created)).await, opening, "{kind}");
            }
        }
    }
);

app_test!(
    an_account_with_transactions_cannot_be_deleted_and_nothing_is_lost,
    |app: TestApp| async move {
        let (token, id) = app.with_checking("ada", "100").await;
        app.transaction(&token, described(&id, "-10", "2026-11-01", "Coffee"))
            .await;
        let path = format!("/api/v1/accounts/{id}");
        let response = app.delete(&path, &token).await;
        assert_error(response, StatusCode::CONFLICT, "account_has_transactions").await;
        assert_eq!(app.balance(&token, &id).await, "90");
        let page = format!("/api/v1/transactions?account_id={id}");
        assert_eq!(app.count(&page, &token).await, 1);
    }
);

app_test!(
    snapshots_follow_the_dates_of_the_opening_the_reconciliations_and_the_transactions,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = app
            .account(&token, account_body("Savings", "savings", "100"))
            .await;
        let id = id(&account);
        let today = chrono::Utc::now().date_naive().to_string();
        assert_eq!(account["opened_on"], today);
        assert_eq!(account["opening_balance"], "100");
        let path = format!("/api/v1/accounts/{id}");
        // "The bank says 150 today": an adjustment of +50 today.
        app.patch(&path, &json!({"current_balance": "150"}), &token)
            .await;
        // Interest back in January: the opening moves back to it, and every later day counts it.
        app.transaction(&token, described(&id, "25", "2026-01-01", "Interest"))
            .await;
        let snapshots = app.read(&format!("{path}/snapshots"), &token).await;
        let items = items(&snapshots);
        let points: Vec<(&str, &str)> = items
            .iter()
            .map(|p| (p["date"].as_str().unwrap(), p["balance"].as_str().unwrap()))
            .collect();
        assert_eq!(
            points,
            [("2026-01-01", "125"), (today.as_str(), "175")],
            "{snapshots}"
        );
        assert_eq!(items[0]["currency"], "USD");
        let stored = app.read(&path, &token).await;
        assert_eq!(stored["current_balance"], "175");
        assert_eq!(stored["opened_on"], "2026-01-01");
        let adjustments = app.read(&format!("{path}/adjustments"), &token).await;
        let adjustment = &adjustments["items"][0];
        assert_eq!(
            (
                &adjustment["date"],
                &adjustment["amount"],
                &adjustment["balance"]
            ),
            (&json!(today), &json!("50"), &json!("150"))
        );
        assert_eq!(app.count(&format!("{path}/adjustments"), &token).await, 1);
        let none = format!("{path}/snapshots?to=2000-01-01");
        assert_eq!(app.count(&none, &token).await, 0);
        let response = app
            .get(
                &format!("{path}/snapshots?from=2026-02-01&to=2026-01-01"),
                Some(&token),
            )
            .await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        app.assert_get_error(
            &format!("{path}/snapshots?from=yesterday"),
            &token,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
    }
);
