use std::time::Instant;

use chrono::Utc;
use nestegg_plaid_fake::{Balances, NewTransaction, TransactionChange};
use nestegg_ports::plaid::{AccessToken, Plaid, PlaidError, PlaidTransaction};

use crate::common::{client, dec, fake, linked};

/// Syncs from `cursor` until `has_more` is false: all updates and the last cursor.
async fn sync_all(
    client: &impl Plaid,
    token: &AccessToken,
    mut cursor: Option<String>,
    count: u32,
) -> (
    Vec<PlaidTransaction>,
    Vec<PlaidTransaction>,
    Vec<String>,
    String,
    usize,
) {
    let (mut added, mut modified, mut removed, mut pages) = (vec![], vec![], vec![], 0);
    loop {
        let page = client
            .transactions_sync(token, cursor.clone(), count)
            .await
            .unwrap();
        pages += 1;
        assert!(page.added.len() + page.modified.len() + page.removed.len() <= count as usize);
        added.extend(page.added);
        modified.extend(page.modified);
        removed.extend(page.removed.into_iter().map(|r| r.transaction_id));
        cursor = Some(page.next_cursor.clone());
        if !page.has_more {
            return (added, modified, removed, page.next_cursor, pages);
        }
    }
}

#[tokio::test]
async fn the_link_flow_gives_an_access_token_that_reads_the_item_and_its_accounts() {
    let fake = fake().await;
    let client = client(&fake);

    let link_token = client.create_link_token("user-42").await.unwrap();
    assert!(link_token.link_token.starts_with("link-sandbox-"));
    assert!(link_token.expiration > Utc::now());

    let public = client
        .sandbox_public_token("ins_109508", vec!["transactions".into()])
        .await
        .unwrap();
    assert!(public.starts_with("public-sandbox-"));
    let exchanged = client.exchange_public_token(&public).await.unwrap();
    assert!(
        exchanged
            .access_token
            .expose()
            .starts_with("access-sandbox-")
    );

    let item = client.item(&exchanged.access_token).await.unwrap();
    assert_eq!(item.item_id, exchanged.item_id);
    assert_eq!(item.institution_id.as_deref(), Some("ins_109508"));
    assert!(item.institution_name.is_some());

    let accounts = client.accounts(&exchanged.access_token).await.unwrap();
    let kinds: Vec<(&str, Option<&str>)> = accounts
        .iter()
        .map(|a| (a.account_type.as_str(), a.subtype.as_deref()))
        .collect();
    for expected in [
        ("depository", Some("checking")),
        ("depository", Some("savings")),
        ("credit", Some("credit card")),
        ("investment", Some("brokerage")),
        ("investment", Some("401k")),
        ("loan", Some("mortgage")),
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected:?} missing from {kinds:?}"
        );
    }
    let card = accounts
        .iter()
        .find(|a| a.account_type == "credit")
        .unwrap();
    assert!(
        card.current.unwrap() > dec("0"),
        "a card's current balance is what is owed"
    );
    assert_eq!(card.currency.as_deref(), Some("USD"));
}

#[tokio::test]
async fn a_public_token_works_once() {
    let fake = fake().await;
    let client = client(&fake);
    let public = client
        .sandbox_public_token("ins_109508", vec!["transactions".into()])
        .await
        .unwrap();
    client.exchange_public_token(&public).await.unwrap();
    let again = client.exchange_public_token(&public).await.unwrap_err();
    assert!(
        matches!(&again, PlaidError::Other { code, request_id: Some(_) } if code == "INVALID_PUBLIC_TOKEN"),
        "{again:?}"
    );
}

#[tokio::test]
async fn the_first_sync_pages_through_two_years_of_history_with_two_pending_transactions() {
    let (fake, client, (item_id, token)) = linked().await;

    let (added, modified, removed, _, pages) = sync_all(&client, &token, None, 250).await;
    assert_eq!(added.len(), fake.log_len(&item_id).unwrap());
    assert!(
        added.len() > 700,
        "two years of history, got {}",
        added.len()
    );
    assert!(pages > 3);
    assert!(modified.is_empty() && removed.is_empty());
    assert_eq!(added.iter().filter(|t| t.pending).count(), 2);
    let oldest = added.iter().map(|t| t.date).min().unwrap();
    assert!((Utc::now().date_naive() - oldest).num_days() >= 700);
    assert!(added.iter().all(|t| t.category.is_some()));
    let income = added
        .iter()
        .find(|t| t.category.as_deref() == Some("INCOME"))
        .unwrap();
    assert!(
        income.amount < dec("0"),
        "money in is negative in Plaid's sign"
    );
    let categories: std::collections::BTreeSet<&str> =
        added.iter().filter_map(|t| t.category.as_deref()).collect();
    for c in [
        "FOOD_AND_DRINK",
        "TRANSFER_IN",
        "TRANSFER_OUT",
        "LOAN_PAYMENTS",
        "RENT_AND_UTILITIES",
    ] {
        assert!(categories.contains(c), "{c} missing from {categories:?}");
    }
}

#[tokio::test]
async fn later_pages_carry_what_was_added_modified_and_removed_after_the_saved_cursor() {
    let (fake, client, (item_id, token)) = linked().await;
    let (_, _, _, cursor, _) = sync_all(&client, &token, None, 500).await;

    let empty = client
        .transactions_sync(&token, Some(cursor.clone()), 100)
        .await
        .unwrap();
    assert!(empty.added.is_empty() && !empty.has_more);
    assert_eq!(empty.next_cursor, cursor);

    let checking = fake.account_id(&item_id, "checking").unwrap();
    let today = Utc::now().date_naive();
    let mut new_ids = vec![];
    for (i, amount) in ["0.1", "1234567.89", "-12.30"].iter().enumerate() {
        let id = fake
            .add_transaction(
                &item_id,
                NewTransaction::new(&checking, dec(amount), today, format!("NEW {i}"))
                    .category("GENERAL_SERVICES"),
            )
            .unwrap();
        new_ids.push(id);
    }
    fake.modify_transaction(
        &item_id,
        &new_ids[0],
        TransactionChange {
            name: Some("RENAMED".into()),
            ..TransactionChange::default()
        },
    )
    .unwrap();
    let old = fake.transactions(&item_id).unwrap()[0]
        .transaction_id
        .clone();
    fake.remove_transaction(&item_id, &old).unwrap();

    let (added, modified, removed, _, pages) = sync_all(&client, &token, Some(cursor), 2).await;
    assert_eq!(pages, 3, "5 updates in pages of 2");
    let amounts: Vec<String> = added.iter().map(|t| t.amount.to_string()).collect();
    assert_eq!(
        amounts,
        ["0.1", "1234567.89", "-12.30"],
        "amounts arrive exact"
    );
    assert_eq!(modified.len(), 1);
    assert_eq!(modified[0].transaction_id, new_ids[0]);
    assert_eq!(modified[0].name.as_deref(), Some("RENAMED"));
    assert_eq!(removed, [old]);
}

#[tokio::test]
async fn a_posted_pending_transaction_replaces_the_pending_one_and_points_to_it() {
    let (fake, client, (item_id, token)) = linked().await;
    let (added, _, _, cursor, _) = sync_all(&client, &token, None, 500).await;
    let pending = added.iter().find(|t| t.pending).unwrap().clone();

    let posted_id = fake
        .post_pending(&item_id, &pending.transaction_id, Some(dec("7.25")))
        .unwrap();

    let page = client
        .transactions_sync(&token, Some(cursor), 100)
        .await
        .unwrap();
    assert_eq!(page.removed.len(), 1);
    assert_eq!(page.removed[0].transaction_id, pending.transaction_id);
    assert_eq!(page.added.len(), 1);
    let posted = &page.added[0];
    assert_eq!(posted.transaction_id, posted_id);
    assert!(!posted.pending);
    assert_eq!(
        posted.pending_transaction_id.as_deref(),
        Some(pending.transaction_id.as_str())
    );
    assert_eq!(posted.amount, dec("7.25"));
    assert_eq!(posted.account_id, pending.account_id);
}

#[tokio::test]
async fn balances_arrive_exact_including_an_overdrawn_checking_account() {
    let (fake, client, (item_id, token)) = linked().await;
    let checking = fake.account_id(&item_id, "checking").unwrap();
    let savings = fake.account_id(&item_id, "savings").unwrap();
    fake.set_balances(
        &item_id,
        &checking,
        Balances {
            current: Some(dec("-12.30")),
            available: Some(dec("0.1")),
            limit: None,
        },
    )
    .unwrap();
    fake.set_balances(
        &item_id,
        &savings,
        Balances {
            current: Some(dec("1234567.89")),
            available: None,
            limit: None,
        },
    )
    .unwrap();

    let accounts = client.accounts(&token).await.unwrap();
    let c = accounts.iter().find(|a| a.account_id == checking).unwrap();
    assert_eq!(c.current.unwrap().to_string(), "-12.30");
    assert_eq!(c.available.unwrap().to_string(), "0.1");
    let s = accounts.iter().find(|a| a.account_id == savings).unwrap();
    assert_eq!(s.current.unwrap().to_string(), "1234567.89");
    assert_eq!(s.available, None);
}

#[tokio::test]
async fn holdings_arrive_with_exact_decimals_and_their_securities() {
    let (_fake, client, (_, token)) = linked().await;

    let holdings = client.holdings(&token).await.unwrap();
    assert_eq!(holdings.accounts.len(), 2);
    assert!(
        holdings
            .accounts
            .iter()
            .all(|a| a.account_type == "investment")
    );
    let quantities: Vec<String> = holdings
        .holdings
        .iter()
        .map(|h| h.quantity.to_string())
        .collect();
    for q in ["45.5", "0.1", "1234.567"] {
        assert!(quantities.contains(&q.to_owned()), "{q} in {quantities:?}");
    }
    let vti = holdings
        .securities
        .iter()
        .find(|s| s.ticker_symbol.as_deref() == Some("VTI"))
        .unwrap();
    assert_eq!(vti.close_price, Some(dec("268.12")));
    assert_eq!(vti.security_type.as_deref(), Some("etf"));
    let stable = holdings
        .securities
        .iter()
        .find(|s| s.ticker_symbol.is_none())
        .unwrap();
    assert_eq!(stable.close_price.unwrap().to_string(), "10.0001");
    for h in &holdings.holdings {
        assert!(
            holdings
                .securities
                .iter()
                .any(|s| s.security_id == h.security_id)
        );
    }
}

#[tokio::test]
async fn a_removed_item_and_an_unknown_token_are_refused() {
    let (_fake, client, (_, token)) = linked().await;
    client.remove_item(&token).await.unwrap();
    assert_eq!(
        client.accounts(&token).await.unwrap_err(),
        PlaidError::InvalidToken
    );
    let unknown = AccessToken::new("access-sandbox-00000000-0000-0000-0000-000000000000");
    assert_eq!(
        client.item(&unknown).await.unwrap_err(),
        PlaidError::InvalidToken
    );
}

#[tokio::test]
async fn a_hundred_thousand_generated_transactions_page_through_in_full() {
    let (fake, client, (item_id, token)) = linked().await;
    let (_, _, _, cursor, _) = sync_all(&client, &token, None, 500).await;

    let started = Instant::now();
    fake.add_generated_transactions(&item_id, 100_000).unwrap();
    let generated = started.elapsed();

    let started = Instant::now();
    let (added, _, _, _, pages) = sync_all(&client, &token, Some(cursor), 500).await;
    let synced = started.elapsed();
    assert_eq!(added.len(), 100_000);
    assert_eq!(pages, 200);
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "generated 100000 transactions in {generated:?}; synced them in {pages} pages in {synced:?}"
        );
    }
}
