use std::time::Duration;

use nestegg_plaid::PlaidClient;
use nestegg_plaid_fake::{Failure, FakeConfig, FakePlaid};
use nestegg_ports::plaid::{Plaid, PlaidError};

use crate::common::{config, fake, link, linked};

const SYNC: &str = "/transactions/sync";

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried_until_the_call_succeeds() {
    let (fake, client, (_, token)) = linked().await;

    fake.fail_next(SYNC, 2, Failure::internal());
    fake.fail_next(SYNC, 1, Failure::rate_limited(Some(0)));
    let page = client.transactions_sync(&token, None, 10).await.unwrap();
    assert_eq!(page.added.len(), 10);
    assert_eq!(fake.calls_to(SYNC), 4, "three failures, then the answer");
}

#[tokio::test]
async fn a_rate_limit_that_outlasts_the_retries_is_reported_with_its_retry_after() {
    let (fake, client, (_, token)) = linked().await;

    fake.fail_next(SYNC, 10, Failure::rate_limited(Some(0)));
    let err = client
        .transactions_sync(&token, None, 10)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PlaidError::RateLimited {
            retry_after: Some(Duration::ZERO)
        }
    );
    assert_eq!(fake.calls_to(SYNC), 4, "the first try and three retries");
}

#[tokio::test]
async fn a_retry_after_beyond_the_wait_budget_is_not_waited_for() {
    let (fake, client, (_, token)) = linked().await;

    fake.fail_next("/accounts/get", 1, Failure::rate_limited(Some(60)));
    let started = std::time::Instant::now();
    let err = client.accounts(&token).await.unwrap_err();
    assert_eq!(
        err,
        PlaidError::RateLimited {
            retry_after: Some(Duration::from_secs(60))
        }
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.calls_to("/accounts/get"), 1);
}

#[tokio::test]
async fn server_errors_after_every_retry_make_plaid_unavailable() {
    let (fake, client, (_, token)) = linked().await;

    fake.fail_next("/item/get", 10, Failure::internal());
    let err = client.item(&token).await.unwrap_err();
    assert!(matches!(err, PlaidError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.calls_to("/item/get"), 4);
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_keeps_its_code_and_request_id() {
    let (fake, client, (_, token)) = linked().await;

    fake.fail_next(
        "/accounts/get",
        3,
        Failure::new(400, "INVALID_REQUEST", "INVALID_FIELD"),
    );
    let err = client.accounts(&token).await.unwrap_err();
    assert!(
        matches!(&err, PlaidError::Other { code, request_id: Some(id) } if code == "INVALID_FIELD" && !id.is_empty()),
        "{err:?}"
    );
    assert_eq!(fake.calls_to("/accounts/get"), 1);
}

#[tokio::test]
async fn an_institution_that_is_down_makes_plaid_unavailable_without_retries() {
    let (fake, client, (_, token)) = linked().await;
    fake.fail_next("/accounts/get", 1, Failure::institution_down());
    let err = client.accounts(&token).await.unwrap_err();
    assert!(matches!(err, PlaidError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.calls_to("/accounts/get"), 1);
}

#[tokio::test]
async fn a_mutation_during_pagination_is_the_ports_error_and_a_restart_from_the_saved_cursor_completes()
 {
    let (fake, client, (item_id, token)) = linked().await;
    fake.fail_sync_at_page(3);

    let saved: Option<String> = None;
    let mut cursor = saved.clone();
    let mut pages = 0;
    let err = loop {
        match client.transactions_sync(&token, cursor.clone(), 100).await {
            Ok(page) => {
                pages += 1;
                assert!(page.has_more);
                cursor = Some(page.next_cursor);
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, PlaidError::MutationDuringPagination);
    assert_eq!(pages, 2, "the third page failed");
    assert_eq!(fake.calls_to(SYNC), 3, "the mutation error is not retried");

    let mut cursor = saved;
    let mut total = 0;
    loop {
        let page = client
            .transactions_sync(&token, cursor.clone(), 100)
            .await
            .unwrap();
        total += page.added.len();
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(total, fake.log_len(&item_id).unwrap());
}

#[tokio::test]
async fn an_item_that_needs_a_new_login_reports_login_required() {
    let (fake, client, (item_id, token)) = linked().await;

    fake.fail_next(SYNC, 1, Failure::login_required());
    assert_eq!(
        client
            .transactions_sync(&token, None, 10)
            .await
            .unwrap_err(),
        PlaidError::LoginRequired
    );
    assert_eq!(fake.calls_to(SYNC), 1);

    fake.set_login_required(&item_id, true).unwrap();
    assert_eq!(
        client.accounts(&token).await.unwrap_err(),
        PlaidError::LoginRequired
    );
    assert_eq!(
        client.holdings(&token).await.unwrap_err(),
        PlaidError::LoginRequired
    );
    let item = client.item(&token).await.unwrap();
    assert_eq!(item.item_id, item_id, "the item itself still answers");

    fake.set_login_required(&item_id, false).unwrap();
    client.accounts(&token).await.unwrap();
}

#[tokio::test]
async fn slow_reads_time_out_and_are_retried_then_plaid_is_unavailable() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.timeout = Duration::from_millis(200);
    config.max_retries = 1;
    let client = PlaidClient::new(config).unwrap();
    let (_, token) = link(&client).await;

    fake.set_delay(Some("/accounts/get"), Duration::from_secs(2));
    let err = client.accounts(&token).await.unwrap_err();
    assert!(
        matches!(&err, PlaidError::Unavailable(m) if m.contains("timed out")),
        "{err:?}"
    );
    assert_eq!(fake.calls_to("/accounts/get"), 2, "one try and one retry");
}

#[tokio::test]
async fn a_slow_exchange_times_out_without_being_sent_again() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.timeout = Duration::from_millis(200);
    let client = PlaidClient::new(config).unwrap();
    let public = client
        .sandbox_public_token("ins_109508", vec!["transactions".into()])
        .await
        .unwrap();

    fake.set_delay(Some("/item/public_token/exchange"), Duration::from_secs(2));
    let err = client.exchange_public_token(&public).await.unwrap_err();
    assert!(matches!(err, PlaidError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.calls_to("/item/public_token/exchange"), 1);
}

#[tokio::test]
async fn an_unreachable_plaid_is_unavailable() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.base_url = "http://127.0.0.1:9".to_owned();
    config.max_retries = 1;
    let client = PlaidClient::new(config).unwrap();
    let err = client.webhook_verification_key("any").await.unwrap_err();
    assert!(matches!(err, PlaidError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn wrong_credentials_are_an_invalid_token() {
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let mut config = config(&fake);
    config.secret = nestegg_plaid::PlaidSecret::new("not-the-secret");
    let client = PlaidClient::new(config).unwrap();
    let err = client.create_link_token("u1").await.unwrap_err();
    assert_eq!(err, PlaidError::InvalidToken);
    assert_eq!(fake.calls_to("/link/token/create"), 1);
}
