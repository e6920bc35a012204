//! The real `nestegg` binary killed with SIGKILL in the middle of a bank sync and of manual
//! writes, then started again on the same SQLite file: the sync's one write never happened,
//! the dead server's lease keeps the item locked until it runs out, and the next sync stores
//! everything exactly once; every acknowledged manual write is there, and every manual
//! account's balance is its opening balance plus its posted transactions, exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nestegg_plaid_fake::{FakeConfig, FakePlaid};
use reqwest::{Client, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::{
    Server, TempDir, answer, create, get, link, plaid_env, post, query, read, server_env, sign_up,
};

const LEASE_SECONDS: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_sync_stores_nothing_of_it_and_after_a_restart_the_next_sync_stores_everything_once_when_the_dead_servers_lease_runs_out()
 {
    let dir = TempDir::new("crash");
    let database_url = dir.sqlite_url();
    let log = dir.path().join("nestegg.log");
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let mut env = server_env(&database_url);
    env.extend([
        ("NESTEGG_SYNC_INTERVAL_SECONDS", "0".to_owned()),
        ("NESTEGG_SYNC_LEASE_SECONDS", LEASE_SECONDS.to_string()),
    ]);
    env.extend(plaid_env(&fake));
    let client = Client::new();
    let mut first = Server::start(&env, &log).await;

    let token = sign_up(&client, &first, "ada").await;
    let connection = link(&client, &first, &token, &fake).await;
    let item = connection["plaid_item_id"].as_str().unwrap().to_owned();
    let sync_path = format!(
        "/plaid/connections/{}/sync",
        connection["id"].as_str().unwrap()
    );

    // A few thousand updates, 500 a page, each page answered after a pause: the sync takes
    // seconds, and the server dies while it pulls.
    fake.add_generated_transactions(&item, 3000).unwrap();
    let pages = fake.log_len(&item).unwrap().div_ceil(500);
    assert!(pages >= 7, "{pages} pages");
    fake.set_delay(Some("/transactions/sync"), Duration::from_millis(300));

    // Meanwhile, manual writes to three accounts of the user's own, one writer each, going
    // on until the server is gone.
    let mut writers = Vec::new();
    for (n, opening) in ["500.25", "0", "12345.6789"].into_iter().enumerate() {
        let account = create(
            &client,
            &first.url("/accounts"),
            &token,
            &json!({"name": format!("Manual {n}"), "type": "checking", "current_balance": opening}),
        )
        .await;
        let account = account["id"].as_str().unwrap().to_owned();
        writers.push(tokio::spawn(write_until_gone(
            client.clone(),
            first.url(""),
            token.clone(),
            account,
            n,
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let running = tokio::spawn({
        let (client, url, token) = (client.clone(), first.url(&sync_path), token.clone());
        async move { client.post(url).bearer_auth(token).send().await }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    // The third request arriving means the first two pages were answered.
    while fake.calls_to("/transactions/sync") < 3 {
        assert!(
            Instant::now() < deadline,
            "the sync never got going:\n{}",
            first.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    let mut written = Vec::new();
    for writer in writers {
        written.push(writer.await.unwrap());
    }
    let killed_at_page = fake.calls_to("/transactions/sync");
    assert!(
        killed_at_page < pages as u64,
        "killed at page {killed_at_page} of {pages}"
    );
    assert!(
        running.await.unwrap().is_err(),
        "the killed server answered the sync"
    );

    // Nothing of the sync was written; the dead server's lease is still in the row.
    let rows = query(
        &database_url,
        "SELECT COUNT(*) AS n FROM transactions WHERE plaid_transaction_id IS NOT NULL",
    )
    .await;
    assert_eq!(rows[0].try_get::<i64>("", "n").unwrap(), 0);
    let rows = query(
        &database_url,
        "SELECT sync_cursor, lease_holder, lease_until FROM plaid_connections",
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .try_get::<Option<String>>("", "sync_cursor")
            .unwrap()
            .is_none()
    );
    assert!(
        rows[0]
            .try_get::<Option<uuid::Uuid>>("", "lease_holder")
            .unwrap()
            .is_some()
    );
    let lease_until: DateTime<Utc> = rows[0]
        .try_get::<Option<DateTime<Utc>>>("", "lease_until")
        .unwrap()
        .unwrap();

    // Started again on the same file. Until the dead server's lease runs out, a sync is
    // refused; then one runs, from the old cursor, and stores every transaction once.
    fake.set_delay(Some("/transactions/sync"), Duration::ZERO);
    let second = Server::start(&env, &log).await;
    assert!(
        Utc::now() < lease_until,
        "the restart took longer than the lease: nothing left to check"
    );
    let (status, refused) = post(&client, &second.url(&sync_path), Some(&token), &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "sync_in_progress");
    let slack = chrono::TimeDelta::seconds(1);
    let report = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = Utc::now();
        let (status, body) = post(&client, &second.url(&sync_path), Some(&token), &json!({})).await;
        if status == StatusCode::CONFLICT {
            assert_eq!(body["error"]["code"], "sync_in_progress");
            assert!(
                sent < lease_until + slack,
                "the lease held past {lease_until}"
            );
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(Utc::now() >= lease_until, "a sync ran while the lease held");
        break body;
    };
    assert_eq!(report["sync_status"], "ok", "{report}");

    let at_bank: Vec<String> = fake
        .transactions(&item)
        .unwrap()
        .into_iter()
        .map(|t| t.transaction_id)
        .collect();
    assert_eq!(report["transactions_added"], at_bank.len());
    let mut stored: Vec<String> = query(
        &database_url,
        "SELECT plaid_transaction_id FROM transactions WHERE plaid_transaction_id IS NOT NULL \
         ORDER BY plaid_transaction_id",
    )
    .await
    .iter()
    .map(|r| r.try_get::<String>("", "plaid_transaction_id").unwrap())
    .collect();
    stored.sort();
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(
        distinct.len(),
        stored.len(),
        "a transaction is stored twice"
    );
    let mut expected = at_bank.clone();
    expected.sort();
    assert_eq!(stored, expected);

    let response = client
        .get(second.url("/accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let listed: Value = response.json().await.unwrap();
    let ours: BTreeMap<String, Decimal> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| {
            Some((
                a["plaid_account_id"].as_str()?.to_owned(),
                a["current_balance"].as_str().unwrap().parse().unwrap(),
            ))
        })
        .collect();
    let bank: BTreeMap<String, Decimal> = fake
        .accounts(&item)
        .unwrap()
        .into_iter()
        .map(|a| (a.account_id, a.balances.current.unwrap()))
        .collect();
    assert_eq!(ours, bank);

    // Every acknowledged manual write is there as acknowledged (the one each writer had in
    // flight at the kill either happened whole or not at all), and each manual account's
    // balance is its opening balance plus its posted transactions, as is its latest point.
    for writes in &written {
        assert!(
            writes.acknowledged >= 10,
            "only {} writes acknowledged before the kill",
            writes.acknowledged
        );
        let mut stored = stored_transactions(&client, &second, &token, &writes.account).await;
        let unknown: Vec<String> = stored
            .keys()
            .filter(|id| !writes.expected.contains_key(*id))
            .cloned()
            .collect();
        if let [id] = unknown.as_slice() {
            let made = stored.remove(id);
            assert_eq!(made, writes.create_in_flight, "an unknown transaction {id}");
        }
        assert!(unknown.len() <= 1, "unknown transactions {unknown:?}");
        let mut expected = writes.expected.clone();
        if let Some((id, before, after)) = &writes.in_flight {
            let now = stored.get(id).copied();
            assert!(
                now == *before || now == *after,
                "the write in flight at the kill is half there: {now:?}, not {before:?} or {after:?}"
            );
            expected.insert(id.clone(), now);
        }
        let expected: BTreeMap<String, (Decimal, bool)> = expected
            .into_iter()
            .filter_map(|(id, state)| state.map(|s| (id, s)))
            .collect();
        assert_eq!(stored, expected, "account {}", writes.account);
        let account = read(
            &client,
            &second.url(&format!("/accounts/{}", writes.account)),
            &token,
        )
        .await;
        let dec = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
        let all = stored_transactions(&client, &second, &token, &writes.account).await;
        let posted: Decimal = all
            .values()
            .filter(|(_, pending)| !pending)
            .map(|(amount, _)| *amount)
            .sum();
        let balance = dec(&account["current_balance"]);
        assert_eq!(
            balance,
            dec(&account["opening_balance"]) + posted,
            "{account}"
        );
        let points = read(
            &client,
            &second.url(&format!("/accounts/{}/snapshots", writes.account)),
            &token,
        )
        .await;
        let latest = points["items"].as_array().unwrap().last().unwrap();
        assert_eq!(dec(&latest["balance"]), balance, "{points}");
    }
    drop(second);
}

/// A transaction's amount and whether it is pending; `None`: deleted (or never made).
type State = Option<(Decimal, bool)>;

/// What one writer did before the server died.
#[derive(Debug)]
struct Written {
    account: String,
    /// Each transaction as the last acknowledged write left it.
    expected: BTreeMap<String, State>,
    /// The write that got no answer: its transaction, before and after.
    in_flight: Option<(String, State, State)>,
    /// The create that got no answer (its id unknown): what it would have stored.
    create_in_flight: State,
    acknowledged: usize,
}

/// Writes to `account` one request after another (creates, some of them pending; posting
/// those; deleting some) until a request gets no answer because the server is gone.
async fn write_until_gone(
    client: Client,
    api: String,
    token: String,
    account: String,
    writer: usize,
) -> Written {
    let mut done = Written {
        account: account.clone(),
        expected: BTreeMap::new(),
        in_flight: None,
        create_in_flight: None,
        acknowledged: 0,
    };
    let mut pending: Vec<String> = Vec::new();
    let mut posted: Vec<String> = Vec::new();
    for i in 0.. {
        let (request, id, after) = if i % 4 == 3 && !pending.is_empty() {
            let id = pending.remove(0);
            let (amount, _) = done.expected[&id].unwrap();
            let request = client
                .patch(format!("{api}/transactions/{id}"))
                .json(&json!({"is_pending": false}));
            (request, Some(id), Some((amount, false)))
        } else if i % 7 == 6 && posted.len() > 2 {
            let id = posted.remove(0);
            let request = client.delete(format!("{api}/transactions/{id}"));
            (request, Some(id), None)
        } else {
            let amount = Decimal::new(
                i64::try_from(1 + (writer * 53 + i * 97) % 50_000).unwrap(),
                2,
            );
            let is_pending = i % 3 == 0;
            let request = client.post(format!("{api}/transactions")).json(&json!({
                "account_id": account, "amount": amount.to_string(),
                "date": chrono::Utc::now().date_naive(), "description": format!("w{writer}-{i}"),
                "is_pending": is_pending,
            }));
            (request, None, Some((amount, is_pending)))
        };
        let Ok(response) = request.bearer_auth(&token).send().await else {
            match id {
                Some(id) => {
                    let before = done.expected[&id];
                    done.in_flight = Some((id, before, after));
                }
                None => done.create_in_flight = after,
            }
            return done;
        };
        let (status, body) = answer(response).await;
        assert!(status.is_success(), "{status} {body}");
        done.acknowledged += 1;
        let id = id.unwrap_or_else(|| body["id"].as_str().unwrap().to_owned());
        match after {
            Some((_, true)) => pending.push(id.clone()),
            Some((_, false)) => posted.push(id.clone()),
            None => {}
        }
        done.expected.insert(id, after);
    }
    done
}

/// Every transaction of the account, by id: amount and whether pending.
async fn stored_transactions(
    client: &Client,
    server: &Server,
    token: &str,
    account: &str,
) -> BTreeMap<String, (Decimal, bool)> {
    let mut stored = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/transactions?account_id={account}&limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = get(client, &server.url(&path), token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for t in page["items"].as_array().unwrap() {
            stored.insert(
                t["id"].as_str().unwrap().to_owned(),
                (
                    t["amount"].as_str().unwrap().parse().unwrap(),
                    t["is_pending"].as_bool().unwrap(),
                ),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return stored,
        }
    }
}
