//! Transactions: balances, search, pagination, history.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app_test;
use crate::helpers::{
    TestApp, account_body, assert_error, described, error_code, id, invalid_fields, items,
    txn_body, with,
};

app_test!(
    a_card_purchase_raises_what_is_owed_and_lowers_net_worth,
    |app: TestApp| async move {
        let (token, _) = app.with_checking("ada", "1000.10").await;
        app.account(&token, account_body("Savings", "savings", "2500"))
            .await;
        let card = app
            .account(&token, account_body("Card", "credit_card", "300.25"))
            .await;
        let card = id(&card);
        assert_eq!(app.net_worth(&token).await, "3199.85");

        app.transaction(
            &token,
            json!({"account_id": card, "amount": -45.50, "date": "2026-11-20", "description": "Dinner"}),
        )
        .await;
        assert_eq!(app.balance(&token, &card).await, "345.75");
        let overview = app.read("/api/v1/overview", &token).await;
        assert_eq!(overview["total_liabilities"], "345.75");
        assert_eq!(overview["net_worth"], "3154.35");
    }
);

app_test!(
    balances_follow_creates_edits_deletes_and_ignore_pending,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "100").await;
        let pending = app
            .transaction(
                &token,
                with(
                    txn_body(&account, "-30", "2026-11-01"),
                    json!({"description": "Hold", "is_pending": true}),
                ),
            )
            .await;
        assert_eq!(app.balance(&token, &account).await, "100");
        let t = app
            .transaction(
                &token,
                with(
                    txn_body(&account, "-30", "2026-11-01"),
                    json!({"description": "Groceries", "category": "food_and_drink"}),
                ),
            )
            .await;
        assert_eq!(app.balance(&token, &account).await, "70");
        let path = format!("/api/v1/transactions/{}", id(&t));
        let response = app.patch(&path, &json!({"amount": "-12.5"}), &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(app.balance(&token, &account).await, "87.5");
        let response = app.delete(&path, &token).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.balance(&token, &account).await, "100");
        let pending_path = format!("/api/v1/transactions/{}", id(&pending));
        app.delete(&pending_path, &token).await;
        assert_eq!(app.balance(&token, &account).await, "100");
    }
);

app_test!(
    a_write_that_would_overdraw_savings_is_refused_and_changes_nothing_while_checking_may_go_overdrawn,
    |app: TestApp| async move {
        let (token, checking) = app.with_checking("ada", "10").await;
        let savings = app.new_account(&token, "Savings", "savings", "10").await;
        let body = described(&savings, "-10.01", "2026-11-01", "Too much");
        let response = app.post("/api/v1/transactions", &body, Some(&token)).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "negative_balance_not_allowed",
        )
        .await;
        assert_eq!(app.balance(&token, &savings).await, "10");
        assert_eq!(app.count("/api/v1/transactions", &token).await, 0);

        // An overdraft on checking is what the bank would show.
        let body = described(&checking, "-10.01", "2026-11-01", "Overdraft");
        app.transaction(&token, body).await;
        assert_eq!(app.balance(&token, &checking).await, "-0.01");
    }
);

app_test!(transaction_rules_are_checked, |app: TestApp| async move {
    let (token, account) = app.with_checking("ada", "10").await;
    for (more, fields) in [
        (
            json!({"amount": 0, "description": "Nothing"}),
            vec!["amount"],
        ),
        (
            json!({"description": " ", "category": "groceries"}),
            vec!["category", "description"],
        ),
    ] {
        let body = with(txn_body(&account, "1", "2026-11-01"), more);
        let response = app.post("/api/v1/transactions", &body, Some(&token)).await;
        assert_eq!(invalid_fields(response).await, fields, "{body}");
    }
    let bad_date = txn_body(&account, "1", "2026-13-01");
    let response = app
        .post("/api/v1/transactions", &bad_date, Some(&token))
        .await;
    error_code(response, StatusCode::BAD_REQUEST).await;
    let t = app
        .transaction(&token, txn_body(&account, "1", "2026-11-01"))
        .await;
    assert_eq!(t["category"], "other");
    assert_eq!(t["is_pending"], false);
    let path = format!("/api/v1/transactions/{}", id(&t));
    let other = app.checking(&token, "0").await;
    let response = app
        .patch(&path, &json!({"account_id": other}), &token)
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "read_only_field",
    )
    .await;
});

app_test!(
    search_text_is_plain_text_never_a_pattern_or_sql,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "1000").await;
        for (description, merchant) in [
            ("50% off sale", "Shop_One"),
            ("Half price", "ShopXOne"),
            ("O'Brien's pub", "Pub"),
            ("Back\\slash", "Odd"),
            ("CAFÉ Crème", "Bistro"),
        ] {
            let more = json!({"description": description, "merchant_name": merchant});
            app.transaction(&token, with(txn_body(&account, "-1", "2026-11-01"), more))
                .await;
        }
        for (q, expected) in [
            ("%", 1),
            ("shop_one", 1),
            ("_", 1),
            ("o'brien", 1),
            ("\\", 1),
            ("' OR '1'='1", 0),
            ("'; DROP TABLE transactions; --", 0),
            ("PUB", 1),
            ("CAFÉ", 1),
            ("", 5),
        ] {
            let response = app
                .client
                .get(app.url("/api/v1/transactions"))
                .query(&[("q", q)])
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{q}");
            let page: Value = response.json().await.unwrap();
            assert_eq!(items(&page).len(), expected, "{q}");
        }
        let response = app.get("/api/v1/transactions?q=%00", Some(&token)).await;
        error_code(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
);

app_test!(filters_narrow_the_list, |app: TestApp| async move {
    let (token, a) = app.with_checking("ada", "1000").await;
    let b = app.checking(&token, "1000").await;
    let rows = [
        (&a, "-5", "2026-10-01", "food_and_drink", false),
        (&a, "-50", "2026-10-15", "shopping", false),
        (&a, "2000", "2026-11-01", "income", false),
        (&b, "-7.25", "2026-11-02", "food_and_drink", true),
    ];
    for (account, amount, date, category, pending) in rows {
        let more = json!({"description": "t", "category": category, "is_pending": pending});
        app.transaction(&token, with(txn_body(account, amount, date), more))
            .await;
    }
    for (query, expected) in [
        (format!("account_id={a}"), 3),
        ("from=2026-10-10&to=2026-11-01".into(), 2),
        ("category=food_and_drink".into(), 2),
        ("min_amount=-10&max_amount=0".into(), 2),
        ("min_amount=-7.25&max_amount=-7.25".into(), 1),
        ("is_pending=true".into(), 1),
    ] {
        let path = format!("/api/v1/transactions?{query}");
        assert_eq!(app.count(&path, &token).await, expected, "{query}");
    }
    app.assert_gets_refused(
        &[
            "/api/v1/transactions?category=groceries",
            "/api/v1/transactions?limit=501",
        ],
        &token,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.assert_gets_refused(
        &["/api/v1/transactions?min_amount=abc"],
        &token,
        StatusCode::BAD_REQUEST,
    )
    .await;
    app.assert_get_error(
        "/api/v1/transactions?sort=amount",
        &token,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
});

app_test!(
    pages_walk_every_transaction_once_newest_first,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "1000").await;
        for i in 0..23 {
            let date = format!("2026-11-{:02}", 1 + i % 5);
            let more = json!({"description": format!("t{i}")});
            app.transaction(&token, with(txn_body(&account, "1", &date), more))
                .await;
        }
        let (all, pages) = app.all_pages("/api/v1/transactions?limit=5", &token).await;
        let seen: Vec<(String, String)> = all
            .iter()
            .map(|item| {
                (
                    item["date"].as_str().unwrap().to_owned(),
                    item["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(pages, 5);
        assert_eq!(seen.len(), 23);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);
        let mut sorted = seen.clone();
        sorted.sort_by(|x, y| y.cmp(x));
        assert_eq!(seen, sorted, "newest first: date desc, then id desc");
        app.assert_get_error(
            "/api/v1/transactions?cursor=not-a-cursor",
            &token,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        )
        .await;
    }
);

app_test!(
    every_change_is_kept_in_the_history_even_after_deletion,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "100").await;
        let t = app
            .transaction(&token, described(&account, "-20", "2026-11-01", "Lunch"))
            .await;
        let path = format!("/api/v1/transactions/{}", id(&t));
        app.patch(
            &path,
            &json!({"amount": "-25", "category": "food_and_drink"}),
            &token,
        )
        .await;
        app.delete(&path, &token).await;
        let history = app.read(&format!("{path}/history"), &token).await;
        let items = items(&history);
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
        app.assert_gone(&path, &token).await;
    }
);

app_test!(
    a_plaid_transaction_keeps_its_amount_date_pending_flag_and_existence,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "100").await;
        let t = app
            .transaction(&token, described(&account, "-20", "2026-11-01", "Synced"))
            .await;
        let id = id(&t);
        // Mark it as coming from Plaid, as a sync would have stored it.
        let uuid: uuid::Uuid = id.parse().unwrap();
        app.execute(
            "UPDATE transactions SET plaid_transaction_id = 'plaid-txn-1' WHERE id = $1",
            vec![uuid.into()],
        )
        .await;
        let path = format!("/api/v1/transactions/{id}");
        for patch in [
            json!({"amount": "-25"}),
            json!({"date": "2026-11-02"}),
            json!({"is_pending": true}),
        ] {
            let response = app.patch(&path, &patch, &token).await;
            assert_error(
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
                "read_only_field",
            )
            .await;
        }
        let response = app.delete(&path, &token).await;
        assert_error(response, StatusCode::CONFLICT, "plaid_transaction").await;
        let ok = json!({"description": "Synced, renamed", "category": "shopping", "amount": "-20",
                        "is_pending": false});
        let response = app.patch(&path, &ok, &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let after = app.read(&path, &token).await;
        assert_eq!(
            (
                after["amount"].as_str(),
                after["plaid_transaction_id"].as_str()
            ),
            (Some("-20"), Some("plaid-txn-1"))
        );
        assert_eq!(app.balance(&token, &account).await, "80");
    }
);

app_test!(
    dates_outside_four_digit_years_are_refused_not_crashed_on,
    |app: TestApp| async move {
        let (token, account) = app.with_checking("ada", "10").await;
        for date in ["+10000-01-01", "-0005-01-01"] {
            let body = txn_body(&account, "1", date);
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
