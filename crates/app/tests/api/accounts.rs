//! Accounts, balances and snapshots.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, error_code};

app_test!(
    an_account_is_created_read_changed_and_deleted,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let created = app
        .account(&token, json!({"name": " Checking ", "type": "checking", "institution_name": "Chase", "current_balance": "1000.10", "currency": "EUR"}))
        .await;
        assert_eq!(created["name"], "Checking");
        assert_eq!(created["current_balance"], "1000.1");
        assert_eq!(created["currency"], "EUR");
        assert_eq!(created["available_balance"], Value::Null);
        let id = created["id"].as_str().unwrap();
        let path = format!("/api/v1/accounts/{id}");
        assert_eq!(app.read(&path, &token).await, created);

        let patch = json!({"name": "Main", "current_balance": 0.1, "institution_name": null});
        let response = app
            .send(Method::PATCH, &path, Some(&patch), Some(&token))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let changed: Value = response.json().await.unwrap();
        assert_eq!(changed["name"], "Main");
        assert_eq!(changed["current_balance"], "0.1");
        assert_eq!(changed["institution_name"], Value::Null);

        for null in [json!({"name": null}), json!({"current_balance": null})] {
            let response = app
                .send(Method::PATCH, &path, Some(&null), Some(&token))
                .await;
            error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let list = app.read("/api/v1/accounts", &token).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let response = app.send(Method::DELETE, &path, None, Some(&token)).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            app.get(&path, Some(&token)).await.status(),
            StatusCode::NOT_FOUND
        );
    }
);

app_test!(
    account_rules_are_422s_naming_the_fields,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let bad = json!({"name": "", "type": "brokerage", "current_balance": "1.00001", "currency": "usd"});
        let response = app.post("/api/v1/accounts", &bad, Some(&token)).await;
        let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let fields = body["error"]["fields"].as_object().unwrap();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["currency", "current_balance", "name", "type"]
        );

        let negative = json!({"name": "Checking", "type": "checking", "current_balance": "-0.01"});
        let response = app.post("/api/v1/accounts", &negative, Some(&token)).await;
        let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(body["error"]["fields"]["current_balance"].is_string());

        let card = app
            .account(
                &token,
                json!({"name": "Card", "type": "credit_card", "current_balance": "-20"}),
            )
            .await;
        assert_eq!(card["current_balance"], "-20");
        let path = format!("/api/v1/accounts/{}", card["id"].as_str().unwrap());
        let response = app
            .send(
                Method::PATCH,
                &path,
                Some(&json!({"current_balance": "-25.5"})),
                Some(&token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let savings = app
            .account(
                &token,
                json!({"name": "Savings", "type": "savings", "current_balance": "5"}),
            )
            .await;
        let path = format!("/api/v1/accounts/{}", savings["id"].as_str().unwrap());
        let response = app
            .send(
                Method::PATCH,
                &path,
                Some(&json!({"current_balance": "-1"})),
                Some(&token),
            )
            .await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(app.read(&path, &token).await["current_balance"], "5");
    }
);

app_test!(
    an_account_with_transactions_cannot_be_deleted_and_nothing_is_lost,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = app
            .account(
                &token,
                json!({"name": "Checking", "type": "checking", "current_balance": "100"}),
            )
            .await;
        let id = account["id"].as_str().unwrap();
        app.transaction(&token, json!({"account_id": id, "amount": "-10", "date": "2026-11-01", "description": "Coffee"}))
        .await;
        let path = format!("/api/v1/accounts/{id}");
        let response = app.send(Method::DELETE, &path, None, Some(&token)).await;
        assert_eq!(
            error_code(response, StatusCode::CONFLICT).await.0,
            "account_has_transactions"
        );
        assert_eq!(app.read(&path, &token).await["current_balance"], "90");
        let page = app
            .read(&format!("/api/v1/transactions?account_id={id}"), &token)
            .await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
    }
);

app_test!(
    snapshots_follow_the_dates_of_the_opening_the_reconciliations_and_the_transactions,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = app
            .account(
                &token,
                json!({"name": "Savings", "type": "savings", "current_balance": "100"}),
            )
            .await;
        let id = account["id"].as_str().unwrap();
        let today = chrono::Utc::now().date_naive().to_string();
        assert_eq!(account["opened_on"], today);
        assert_eq!(account["opening_balance"], "100");
        let path = format!("/api/v1/accounts/{id}");
        // "The bank says 150 today": an adjustment of +50 today.
        app.send(
            Method::PATCH,
            &path,
            Some(&json!({"current_balance": "150"})),
            Some(&token),
        )
        .await;
        // Interest back in January: the opening moves back to it, and every later day counts it.
        app.transaction(&token, json!({"account_id": id, "amount": "25", "date": "2026-01-01", "description": "Interest"}))
        .await;
        let snapshots = app.read(&format!("{path}/snapshots"), &token).await;
        let items = snapshots["items"].as_array().unwrap();
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
        assert_eq!(adjustments["items"].as_array().unwrap().len(), 1);
        let none = app
            .read(&format!("{path}/snapshots?to=2000-01-01"), &token)
            .await;
        assert!(none["items"].as_array().unwrap().is_empty());
        let response = app
            .get(
                &format!("{path}/snapshots?from=2026-02-01&to=2026-01-01"),
                Some(&token),
            )
            .await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let response = app
            .get(&format!("{path}/snapshots?from=yesterday"), Some(&token))
            .await;
        assert_eq!(
            error_code(response, StatusCode::BAD_REQUEST).await.0,
            "invalid_query"
        );
    }
);
