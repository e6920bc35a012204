//! The fake over HTTP, as a person with curl would use it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nestegg_plaid_fake::{FakeConfig, FakePlaid};
use serde_json::{Value, json};

async fn post(url: &str, body: &Value, creds: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(url).json(body);
    if let Some((id, secret)) = creds {
        req = req
            .header("PLAID-CLIENT-ID", id)
            .header("PLAID-SECRET", secret);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn control_routes_script_the_fake_and_plaid_endpoints_show_it() {
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let base = fake.base_url().to_owned();
    let creds = Some(("fake-client-id", "fake-secret"));

    let (status, created) = post(&format!("{base}/fake/items"), &json!({}), None).await;
    assert_eq!(status, 200);
    let item = created["item_id"].as_str().unwrap().to_owned();
    let token = created["access_token"].as_str().unwrap().to_owned();

    let (_, summary) = post(
        &format!("{base}/fake/items/{item}/transactions/generate"),
        &json!({"count": 1000}),
        None,
    )
    .await;
    assert_eq!(summary["added"], 1000);

    let checking = fake.account_id(&item, "checking").unwrap();
    let (status, added) = post(
        &format!("{base}/fake/items/{item}/transactions"),
        &json!({"account_id": checking, "amount": 0.1, "date": "2025-01-31", "name": "TEST", "category": "FOOD_AND_DRINK"}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{added}");
    let txn = added["transaction_id"].as_str().unwrap();
    let t = fake
        .transactions(&item)
        .unwrap()
        .into_iter()
        .find(|t| t.transaction_id == txn)
        .unwrap();
    assert_eq!(t.amount.to_string(), "0.1");

    let (status, _) = post(
        &format!("{base}/fake/failures"),
        &json!({"endpoint": "/accounts/get", "times": 1, "status": 429, "error_type": "RATE_LIMIT_EXCEEDED", "error_code": "RATE_LIMIT", "retry_after": 1}),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let res = reqwest::Client::new()
        .post(format!("{base}/accounts/get"))
        .header("PLAID-CLIENT-ID", "fake-client-id")
        .header("PLAID-SECRET", "fake-secret")
        .json(&json!({"access_token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    let error: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    for field in [
        "error_type",
        "error_code",
        "error_message",
        "display_message",
        "request_id",
    ] {
        assert!(error.get(field).is_some(), "{field} missing from {error}");
    }

    let (status, accounts) = post(
        &format!("{base}/accounts/get"),
        &json!({"access_token": token}),
        creds,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 6);

    let calls = reqwest::get(format!("{base}/fake/calls"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(calls["/accounts/get"], 2);
}

#[tokio::test]
async fn plaid_endpoints_refuse_missing_or_wrong_credentials_and_bad_counts() {
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let base = fake.base_url().to_owned();
    let (_, token) = fake.create_item("ins_109508");

    let creds = Some(("fake-client-id", "fake-secret"));
    let wrong = Some(("fake-client-id", "nope"));
    let cap = json!({"access_token": token, "count": 501});
    let unknown = json!({"access_token": "access-sandbox-x"});
    // (path, body, credentials, error_type when checked, error_code)
    for (path, body, with, kind, code) in [
        (
            "/item/get",
            json!({"access_token": token}),
            None,
            None,
            "MISSING_FIELDS",
        ),
        (
            "/item/get",
            json!({"access_token": token}),
            wrong,
            Some("INVALID_INPUT"),
            "INVALID_API_KEYS",
        ),
        ("/transactions/sync", cap, creds, None, "INVALID_FIELD"),
        (
            "/transactions/sync",
            unknown,
            creds,
            None,
            "INVALID_ACCESS_TOKEN",
        ),
    ] {
        let (status, e) = post(&format!("{base}{path}"), &body, with).await;
        assert_eq!(
            (status, e["error_code"].as_str()),
            (400, Some(code)),
            "{path} {body}"
        );
        if let Some(kind) = kind {
            assert_eq!(e["error_type"].as_str(), Some(kind), "{path} {body}");
        }
    }
    let (status, page) = post(
        &format!("{base}/transactions/sync"),
        &json!({"access_token": token}),
        creds,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        page["added"].as_array().unwrap().len(),
        100,
        "count defaults to 100"
    );
    assert_eq!(
        page["transactions_update_status"],
        "HISTORICAL_UPDATE_COMPLETE"
    );
    assert!(page["has_more"].as_bool().unwrap());
}

#[tokio::test]
async fn generating_a_hundred_thousand_transactions_is_cheap() {
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let (item, _) = fake.create_item("ins_109508");
    let before = fake.log_len(&item).unwrap();
    let started = std::time::Instant::now();
    fake.add_generated_transactions(&item, 100_000).unwrap();
    let took = started.elapsed();
    assert_eq!(fake.log_len(&item).unwrap(), before + 100_000);
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
}
