//! Transactions: balances, search, pagination, history.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{TestApp, error_code};

async fn checking(app: &TestApp, token: &str, balance: &str) -> String {
    let account = app
        .account(
            token,
            json!({"name": "Checking", "type": "checking", "current_balance": balance}),
        )
        .await;
    account["id"].as_str().unwrap().to_owned()
}

async fn balance(app: &TestApp, token: &str, account: &str) -> Value {
    app.read(&format!("/api/v1/accounts/{account}"), token)
        .await["current_balance"]
        .clone()
}

app_test!(
    a_card_purchase_raises_what_is_owed_and_lowers_net_worth,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        app.account(
            &token,
            json!({"name": "Checking", "type": "checking", "current_balance": "1000.10"}),
        )
        .await;
        app.account(
            &token,
            json!({"name": "Savings", "type": "savings", "current_balance": "2500"}),
        )
        .await;
        let card = app
            .account(
                &token,
                json!({"name": "Card", "type": "credit_card", "current_balance": "300.25"}),
            )
            .await;
        let card = card["id"].as_str().unwrap();
        assert_eq!(
            app.read("/api/v1/overview", &token).await["net_worth"],
            "3199.85"
        );

        app.transaction(&token, json!({"account_id": card, "amount": -45.50, "date": "2026-11-20", "description": "Dinner"}))
        .await;
        assert_eq!(balance(&app, &token, card).await, "345.75");
        let overview = app.read("/api/v1/overview", &token).await;
        assert_eq!(overview["total_liabilities"], "345.75");
        assert_eq!(overview["net_worth"], "3154.35");
    }
);

app_test!(
    balances_follow_creates_edits_deletes_and_ignore_pending,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = checking(&app, &token, "100").await;
        let pending = app
        .transaction(&token, json!({"account_id": account, "amount": "-30", "date": "2026-11-01", "description": "Hold", "is_pending": true}))
        .await;
        assert_eq!(balance(&app, &token, &account).await, "100");
        let t = app
        .transaction(&token, json!({"account_id": account, "amount": "-30", "date": "2026-11-01", "description": "Groceries", "category": "food_and_drink"}))
        .await;
        assert_eq!(balance(&app, &token, &account).await, "70");
        let path = format!("/api/v1/transactions/{}", t["id"].as_str().unwrap());
        let response = app
            .send(
                Method::PATCH,
                &path,
                Some(&json!({"amount": "-12.5"})),
                Some(&token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(balance(&app, &token, &account).await, "87.5");
        let response = app.send(Method::DELETE, &path, None, Some(&token)).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(balance(&app, &token, &account).await, "100");
        let pending_path = format!("/api/v1/transactions/{}", pending["id"].as_str().unwrap());
        app.send(Method::DELETE, &pending_path, None, Some(&token))
            .await;
        assert_eq!(balance(&app, &token, &account).await, "100");
    }
);

app_test!(
    a_write_that_would_overdraw_an_asset_is_refused_and_changes_nothing,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = checking(&app, &token, "10").await;
        let body = json!({"account_id": account, "amount": "-10.01", "date": "2026-11-01", "description": "Too much"});
        let response = app.post("/api/v1/transactions", &body, Some(&token)).await;
        let (code, _) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(code, "negative_balance_not_allowed");
        assert_eq!(balance(&app, &token, &account).await, "10");
        let page = app.read("/api/v1/transactions", &token).await;
        assert!(page["items"].as_array().unwrap().is_empty());
    }
);

app_test!(transaction_rules_are_checked, |app: TestApp| async move {
    let (token, _) = app.signed_in("ada").await;
    let account = checking(&app, &token, "10").await;
    let zero =
        json!({"account_id": account, "amount": 0, "date": "2026-11-01", "description": "Nothing"});
    let response = app.post("/api/v1/transactions", &zero, Some(&token)).await;
    let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body["error"]["fields"]["amount"].is_string());
    let bad = json!({"account_id": account, "amount": "1", "date": "2026-11-01", "description": " ", "category": "groceries"});
    let response = app.post("/api/v1/transactions", &bad, Some(&token)).await;
    let (_, body) = error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body["error"]["fields"]["description"].is_string());
    assert!(body["error"]["fields"]["category"].is_string());
    let bad_date =
        json!({"account_id": account, "amount": "1", "date": "2026-13-01", "description": "x"});
    let response = app
        .post("/api/v1/transactions", &bad_date, Some(&token))
        .await;
    error_code(response, StatusCode::BAD_REQUEST).await;
    let t = app
        .transaction(
            &token,
            json!({"account_id": account, "amount": "1", "date": "2026-11-01", "description": "x"}),
        )
        .await;
    assert_eq!(t["category"], "other");
    assert_eq!(t["is_pending"], false);
    let path = format!("/api/v1/transactions/{}", t["id"].as_str().unwrap());
    let other = checking(&app, &token, "0").await;
    let response = app
        .send(
            Method::PATCH,
            &path,
            Some(&json!({"account_id": other})),
            Some(&token),
        )
        .await;
    assert_eq!(
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY)
            .await
            .0,
        "read_only_field"
    );
});

app_test!(
    search_text_is_plain_text_never_a_pattern_or_sql,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = checking(&app, &token, "1000").await;
        for (description, merchant) in [
            ("50% off sale", "Shop_One"),
            ("Half price", "ShopXOne"),
            ("O'Brien's pub", "Pub"),
            ("Back\\slash", "Odd"),
            ("CAFÉ Crème", "Bistro"),
        ] {
            app.transaction(&token, json!({"account_id": account, "amount": "-1", "date": "2026-11-01", "description": description, "merchant_name": merchant}))
            .await;
        }
        let count = |q: &str| {
            let app = &app;
            let token = &token;
            let q = q.to_owned();
            async move {
                let response = app
                    .client
                    .get(app.url("/api/v1/transactions"))
                    .query(&[("q", q.as_str())])
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{q}");
                let page: Value = response.json().await.unwrap();
                page["items"].as_array().unwrap().len()
            }
        };
        assert_eq!(count("%").await, 1);
        assert_eq!(count("shop_one").await, 1);
        assert_eq!(count("_").await, 1);
        assert_eq!(count("o'brien").await, 1);
        assert_eq!(count("\\").await, 1);
        assert_eq!(count("' OR '1'='1").await, 0);
        assert_eq!(count("'; DROP TABLE transactions; --").await, 0);
        assert_eq!(count("PUB").await, 1);
        assert_eq!(count("CAFÉ").await, 1);
        assert_eq!(count("").await, 5);
        let response = app.get("/api/v1/transactions?q=%00", Some(&token)).await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
);

app_test!(filters_narrow_the_list, |app: TestApp| async move {
    let (token, _) = app.signed_in("ada").await;
    let a = checking(&app, &token, "1000").await;
    let b = checking(&app, &token, "1000").await;
    let rows = [
        (&a, "-5", "2026-10-01", "food_and_drink", false),
        (&a, "-50", "2026-10-15", "shopping", false),
        (&a, "2000", "2026-11-01", "income", false),
        (&b, "-7.25", "2026-11-02", "food_and_drink", true),
    ];
    for (account, amount, date, category, pending) in rows {
        app.transaction(&token, json!({"account_id": account, "amount": amount, "date": date, "description": "t", "category": category, "is_pending": pending}))
            .await;
    }
    let n = |query: String| {
        let app = &app;
        let token = &token;
        async move {
            let page = app
                .read(&format!("/api/v1/transactions?{query}"), token)
                .await;
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(n(format!("account_id={a}")).await, 3);
    assert_eq!(n("from=2026-10-10&to=2026-11-01".into()).await, 2);
    assert_eq!(n("category=food_and_drink".into()).await, 2);
    assert_eq!(n("min_amount=-10&max_amount=0".into()).await, 2);
    assert_eq!(n("min_amount=-7.25&max_amount=-7.25".into()).await, 1);
    assert_eq!(n("is_pending=true".into()).await, 1);
    let response = app
        .get("/api/v1/transactions?category=groceries", Some(&token))
        .await;
    error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let response = app
        .get("/api/v1/transactions?limit=501", Some(&token))
        .await;
    error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let response = app
        .get("/api/v1/transactions?min_amount=abc", Some(&token))
        .await;
    error_code(response, StatusCode::BAD_REQUEST).await;
    let response = app
        .get("/api/v1/transactions?sort=amount", Some(&token))
        .await;
    assert_eq!(
        error_code(response, StatusCode::BAD_REQUEST).await.0,
        "invalid_query"
    );
});

app_test!(
    pages_walk_every_transaction_once_newest_first,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = checking(&app, &token, "1000").await;
        for i in 0..23 {
            let date = format!("2026-11-{:02}", 1 + i % 5);
            app.transaction(&token, json!({"account_id": account, "amount": "1", "date": date, "description": format!("t{i}")}))
            .await;
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/transactions?limit=5&cursor={c}"),
                None => "/api/v1/transactions?limit=5".to_owned(),
            };
            let page = app.read(&path, &token).await;
            pages += 1;
            for item in page["items"].as_array().unwrap() {
                seen.push((
                    item["date"].as_str().unwrap().to_owned(),
                    item["id"].as_str().unwrap().to_owned(),
                ));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 5);
        assert_eq!(seen.len(), 23);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);
        let mut sorted = seen.clone();
        sorted.sort_by(|x, y| y.cmp(x));
        assert_eq!(seen, sorted, "newest first: date desc, then id desc");
        let response = app
            .get("/api/v1/transactions?cursor=not-a-cursor", Some(&token))
            .await;
        assert_eq!(
            error_code(response, StatusCode::BAD_REQUEST).await.0,
            "invalid_cursor"
        );
    }
);

app_test!(
    every_change_is_kept_in_the_history_even_after_deletion,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = checking(&app, &token, "100").await;
        let t = app
        .transaction(&token, json!({"account_id": account, "amount": "-20", "date": "2026-11-01", "description": "Lunch"}))
        .await;
        let path = format!("/api/v1/transactions/{}", t["id"].as_str().unwrap());
        app.send(
            Method::PATCH,
            &path,
            Some(&json!({"amount": "-25", "category": "food_and_drink"})),
            Some(&token),
        )
        .await;
        app.send(Method::DELETE, &path, None, Some(&token)).await;
        let history = app.read(&format!("{path}/history"), &token).await;
        let items = history["items"].as_array().unwrap();
        let actions: Vec<&str> = items
            .iter()
            .map(|i| i["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["created", "updated", "deleted"]);
        assert_eq!(items[0]["changes"]["amount"], json!([null, "-20"]));
        assert_eq!(items[1]["changes"]["amount"], json!(["-20", "-25"]));
        assert_eq!(
            items[1]["changes"]["category"],
            json!(["other", "food_and_drink"])
        );
        assert!(items[1]["changes"].get("description").is_none());
        assert_eq!(items[2]["changes"]["description"], json!(["Lunch", null]));
        assert_eq!(
            app.get(&path, Some(&token)).await.status(),
            StatusCode::NOT_FOUND
        );
    }
);

app_test!(
    a_plaid_transaction_keeps_its_amount_date_and_existence,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = checking(&app, &token, "100").await;
        let t = app
        .transaction(&token, json!({"account_id": account, "amount": "-20", "date": "2026-11-01", "description": "Synced"}))
        .await;
        let id = t["id"].as_str().unwrap();
        // Mark it as coming from Plaid, as a sync would have stored it.
        let b = app.db.backend();
        let sql = if b == sea_orm::DbBackend::Sqlite {
            "UPDATE transactions SET plaid_transaction_id = 'plaid-txn-1' WHERE id = ?1"
        } else {
            "UPDATE transactions SET plaid_transaction_id = 'plaid-txn-1' WHERE id = $1"
        };
        let uuid: uuid::Uuid = id.parse().unwrap();
        use sea_orm::ConnectionTrait;
        app.db
            .db
            .conn()
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                b,
                sql,
                [uuid.into()],
            ))
            .await
            .unwrap();
        let path = format!("/api/v1/transactions/{id}");
        for patch in [json!({"amount": "-25"}), json!({"date": "2026-11-02"})] {
            let response = app
                .send(Method::PATCH, &path, Some(&patch), Some(&token))
                .await;
            assert_eq!(
                error_code(response, StatusCode::UNPROCESSABLE_ENTITY)
                    .await
                    .0,
                "read_only_field"
            );
        }
        let response = app.send(Method::DELETE, &path, None, Some(&token)).await;
        assert_eq!(
            error_code(response, StatusCode::CONFLICT).await.0,
            "plaid_transaction"
        );
        let ok = json!({"description": "Synced, renamed", "category": "shopping", "amount": "-20"});
        let response = app
            .send(Method::PATCH, &path, Some(&ok), Some(&token))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let after = app.read(&path, &token).await;
        assert_eq!(
            (
                after["amount"].as_str(),
                after["plaid_transaction_id"].as_str()
            ),
            (Some("-20"), Some("plaid-txn-1"))
        );
        assert_eq!(balance(&app, &token, &account).await, "80");
    }
);

app_test!(
    dates_outside_four_digit_years_are_refused_not_crashed_on,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let account = checking(&app, &token, "10").await;
        for date in ["+10000-01-01", "-0005-01-01"] {
            let body =
                json!({"account_id": account, "amount": "1", "date": date, "description": "x"});
            let response = app.post("/api/v1/transactions", &body, Some(&token)).await;
            assert!(
                response.status().is_client_error(),
                "{date}: {}",
                response.status()
            );
        }
        for path in [
            "/api/v1/overview/history?to=-262143-06-01",
            "/api/v1/overview/history?from=-5000-01-01",
            "/api/v1/cashflow?from=-5000-01-01",
            "/api/v1/transactions?from=-5000-01-01",
        ] {
            let response = app.get(path, Some(&token)).await;
            let status = response.status();
            assert!(
                status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
                "{path}: {status}"
            );
            error_code(response, status).await;
        }
        assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
    }
);
