//! Several server instances on one PostgreSQL database syncing the same items: the lease in
//! the database admits one sync per item at a time, by hand or from the scheduler, and nothing
//! is stored twice. PostgreSQL only (skipped without `TEST_DATABASE_URL`, unless
//! `NESTEGG_REQUIRE_PG=1`): SQLite is one process's file.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::web;
use nestegg::config::Settings;
use nestegg::startup::serve;
use nestegg::state::AppState;
use nestegg_persistence::Db;
use nestegg_persistence::sql::statement;
use nestegg_persistence::testing::{Backend, TestDb};
use nestegg_plaid_fake::{FakeConfig, FakePlaid};
use reqwest::{Client, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::helpers::{TestApp, items, start};
use crate::plaid::{connect, connection_path, item, linked, linked_item, plaid_settings};

/// A first instance serving on a fresh PostgreSQL database with Plaid pointing at a fake whose
/// sync pages each take `page_delay`; `None` when PostgreSQL is not set up.
async fn first_instance(page_delay: Duration) -> Option<(TestApp, FakePlaid, Settings)> {
    let db = TestDb::new(Backend::Postgres).await?;
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    fake.set_delay(Some("/transactions/sync"), page_delay);
    let settings = plaid_settings(&db.url, &fake);
    let app = start(db, &settings, Client::new());
    Some((app, fake, settings))
}

/// Another instance over the same database: its own connection pool and its own state (so
/// its own lease holder id), as a second server process would have.
async fn other_state(app: &TestApp, settings: &Settings) -> web::Data<AppState> {
    let db = Db::connect(&app.db.url).await.unwrap();
    web::Data::new(AppState::new(&db, settings).unwrap())
}

/// [`other_state`] serving HTTP on a random port: its base address.
async fn other_server(app: &TestApp, settings: &Settings) -> String {
    let state = other_state(app, settings).await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = serve(listener, state, settings.body_limit).unwrap();
    let address = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until_stopped());
    address
}

/// How many `/transactions/sync` pages one full pull of `item` takes (500 updates a page, at
/// least one page).
fn pages(fake: &FakePlaid, item: &str) -> u64 {
    u64::try_from(fake.log_len(item).unwrap().div_ceil(500).max(1)).unwrap()
}

/// One column of every row of `sql`.
async fn column<T: sea_orm::TryGetable>(app: &TestApp, sql: &str, name: &str) -> Vec<T> {
    let db = app.db.db.conn();
    db.query_all_raw(statement(db.get_database_backend(), sql, []))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<T>("", name).unwrap())
        .collect()
}

/// Asserts that the database holds every transaction of `items` at the fake exactly once,
/// each created once in the history, and that no sync had to correct a balance.
async fn assert_stored_once(app: &TestApp, fake: &FakePlaid, items: &[String]) {
    let mut at_bank: Vec<String> = items
        .iter()
        .flat_map(|i| fake.transactions(i).unwrap())
        .map(|t| t.transaction_id)
        .collect();
    at_bank.sort();
    let stored: Vec<String> = column(
        app,
        "SELECT plaid_transaction_id FROM transactions ORDER BY plaid_transaction_id",
        "plaid_transaction_id",
    )
    .await;
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(
        distinct.len(),
        stored.len(),
        "a transaction is stored twice"
    );
    assert_eq!(stored, at_bank);
    let created: Vec<i64> = column(
        app,
        "SELECT COUNT(*) AS n FROM transaction_history WHERE action = 'created'",
        "n",
    )
    .await;
    assert_eq!(created, [i64::try_from(at_bank.len()).unwrap()]);
    // A batch applied twice would have moved the ledger away from the bank's balance, and the
    // next sync would have recorded an adjustment to bring it back.
    let adjustments: Vec<i64> =
        column(app, "SELECT COUNT(*) AS n FROM balance_adjustments", "n").await;
    assert_eq!(adjustments, [0]);
    let leased: Vec<i64> = column(
        app,
        "SELECT COUNT(*) AS n FROM plaid_connections WHERE lease_holder IS NOT NULL",
        "n",
    )
    .await;
    assert_eq!(leased, [0], "every lease is released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_sync_fired_at_two_instances_at_once_runs_on_one_and_is_refused_by_the_other() {
    let Some((app, fake, settings)) = first_instance(Duration::from_millis(150)).await else {
        return;
    };
    let other = other_server(&app, &settings).await;
    let (token, connection, item) = linked_item(&app, &fake, "ada").await;
    fake.add_generated_transactions(&item, 1500).unwrap();
    let path = format!("{}/sync", connection_path(&connection));
    let fire = |base: String| {
        let (client, token, path) = (app.client.clone(), token.clone(), path.clone());
        async move {
            let response = client
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (a, b) = tokio::join!(fire(app.address.clone()), fire(other.clone()));
    let (won, lost) = if a.0 == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(won.0, StatusCode::OK, "{}", won.1);
    assert_eq!(won.1["sync_status"], "ok", "{}", won.1);
    assert_eq!(lost.0, StatusCode::CONFLICT, "{}", lost.1);
    assert_eq!(lost.1["error"]["code"], "sync_in_progress");
    assert_eq!(
        fake.calls_to("/accounts/get"),
        1,
        "the refused one never reached Plaid"
    );
    assert_stored_once(&app, &fake, std::slice::from_ref(&item)).await;

    // The lease went with the sync: the other instance syncs now, and finds nothing new.
    let (status, again) = fire(other).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["transactions_added"], 0);
    assert_stored_once(&app, &fake, &[item]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_running_the_scheduler_at_once_sync_every_due_connection_once_and_apply_each_batch_once()
 {
    let Some((app, fake, settings)) = first_instance(Duration::from_millis(100)).await else {
        return;
    };
    let (token, first) = linked(&app, &fake, "ada").await;
    let mut linked_items = vec![item(&first)];
    for _ in 0..2 {
        linked_items.push(item(&connect(&app, &fake, &token).await));
    }
    for i in &linked_items {
        fake.add_generated_transactions(i, 800).unwrap();
    }
    let (a, b) = (
        other_state(&app, &settings).await,
        other_state(&app, &settings).await,
    );
    let full: u64 = linked_items.iter().map(|i| pages(&fake, i)).sum();
    assert!(full > 3, "{full} pages");
    fake.reset_calls();
    let interval = Duration::from_secs(3600);
    let (ran_a, ran_b) = tokio::join!(a.sync.sync_due(interval, 20), b.sync.sync_due(interval, 20));
    let ran = ran_a.unwrap() + ran_b.unwrap();
    // Each instance synced some while the other held their leases, and none twice: an
    // instance whose list of due connections predates the other's finished sync of one finds
    // it changed, and leaves it.
    assert_eq!(ran, linked_items.len(), "{ran} syncs ran");
    assert_eq!(fake.calls_to("/accounts/get"), u64::try_from(ran).unwrap());
    assert_eq!(fake.calls_to("/transactions/sync"), full, "{ran} syncs ran");
    let listed = app.read("/api/v1/plaid/connections", &token).await;
    assert_eq!(items(&listed).len(), linked_items.len());
    for connection in items(&listed) {
        assert_eq!(connection["sync_status"], "ok", "{connection}");
    }
    assert_stored_once(&app, &fake, &linked_items).await;

    // Nothing is due any more: neither instance syncs again.
    let (ran_a, ran_b) = tokio::join!(a.sync.sync_due(interval, 20), b.sync.sync_due(interval, 20));
    assert_eq!((ran_a.unwrap(), ran_b.unwrap()), (0, 0));
}
