//! Bank-sync ingest on PostgreSQL against a bulk insert measured in the same run.
//!
//! Starts the fake Plaid in-process, links an item holding `TRANSACTIONS` transactions (default
//! 100,000; the first argument that is not a flag overrides it) and times:
//!
//! - (a) a full `BankSync::sync` of that item through the real HTTP client, 500 updates per
//!   `/transactions/sync` page, into a fresh database;
//! - (b) the baseline: the same accounts and transactions, mapped as the use case maps them,
//!   written into a second fresh database by one `SqlConnectionRepository::apply` call;
//! - (c) a second, unchanged sync of the item in (a).
//!
//! Each result is checked (transaction counts equal to the fake's, every account at the bank's
//! balance) so that a fast but wrong run cannot pass. Needs `TEST_DATABASE_URL` (an admin URL
//! such as `postgres://postgres@127.0.0.1:5432/postgres`). Run it in release mode:
//! `bash scripts/bench/sync.sh`, or `cargo bench -p nestegg --bench sync_ingest`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use nestegg::config::Settings;
use nestegg::state::AppState;
use nestegg_application::auth::Registration;
use nestegg_application::plaid::{synced_account, synced_transaction};
use nestegg_domain::SyncStatus;
use nestegg_persistence::SqlConnectionRepository;
use nestegg_persistence::sql::statement;
use nestegg_persistence::testing::{Backend, TestDb};
use nestegg_plaid::{PlaidClient, PlaidConfig, PlaidEnv};
use nestegg_plaid_fake::{FakeConfig, FakePlaid};
use nestegg_ports::{
    ConnectionRepository, NewConnection, Plaid, PlaidAccount, PlaidTransaction, Sealed, SyncBatch,
    WriteTime,
};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

const DEFAULT_TRANSACTIONS: usize = 100_000;
const INSTITUTION: &str = "ins_109508";

fn main() {
    // `RUST_LOG=sqlx::query=debug` shows every statement and its time, for profiling.
    if std::env::var_os("RUST_LOG").is_some() {
        nestegg::telemetry::init();
    }
    let wanted = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .or_else(|| std::env::var("TRANSACTIONS").ok())
        .map_or(DEFAULT_TRANSACTIONS, |n| {
            n.replace(['_', ','], "")
                .parse()
                .expect("TRANSACTIONS: a whole number")
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(wanted));
}

/// Settings as the API tests make them (fixed secrets, cheapest bcrypt), with Plaid pointing
/// at the fake.
fn settings(database_url: &str, fake: &FakePlaid) -> Settings {
    let vars = [
        ("DATABASE_URL", database_url.to_owned()),
        ("NESTEGG_ADDR", "127.0.0.1:0".to_owned()),
        ("NESTEGG_BCRYPT_COST", "4".to_owned()),
        (
            "NESTEGG_JWT_SECRET",
            "bench-secret-bench-secret-bench-secret!!".to_owned(),
        ),
        ("NESTEGG_ENCRYPTION_KEY", STANDARD.encode([7u8; 32])),
        ("PLAID_CLIENT_ID", fake.client_id().to_owned()),
        ("PLAID_SECRET", fake.secret().to_owned()),
        ("PLAID_BASE_URL", fake.base_url().to_owned()),
    ];
    Settings::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .expect("settings")
}

async fn fresh_db() -> TestDb {
    TestDb::new(Backend::Postgres)
        .await
        .expect("TEST_DATABASE_URL must name the PostgreSQL server to benchmark on")
}

async fn register(state: &AppState) -> Uuid {
    state
        .auth
        .register(Registration {
            email: "bench@example.com".into(),
            username: "bench".into(),
            password: "benchmark password".into(),
        })
        .await
        .expect("register")
        .id
}

async fn run(wanted: usize) {
    let fake = FakePlaid::start(FakeConfig::default())
        .await
        .expect("start the fake Plaid");
    let client = PlaidClient::new(PlaidConfig::new(
        fake.client_id(),
        fake.secret(),
        PlaidEnv::Sandbox,
        Some(fake.base_url().to_owned()),
    ))
    .expect("Plaid client");

    // (a) and (c): the app's own wiring over a fresh database; a user links an item.
    let db = fresh_db().await;
    let state = AppState::new(&db.db, &settings(&db.url, &fake)).expect("app state");
    let user = register(&state).await;
    let public = client
        .sandbox_public_token(INSTITUTION, vec!["transactions".into()])
        .await
        .expect("sandbox public token");
    let connection = state
        .sync
        .connect(user, &public)
        .await
        .expect("link the item");
    let item = connection.plaid_item_id.clone();
    let default = fake.transactions(&item).expect("item").len();
    fake.add_generated_transactions(&item, wanted.saturating_sub(default))
        .expect("generate transactions");
    let at_bank = fake.transactions(&item).expect("item");
    let bank_accounts = fake.accounts(&item).expect("item");
    let expected: BTreeMap<String, Decimal> = bank_accounts
        .iter()
        .map(|a| {
            let current = a.balances.current.or(a.balances.available);
            (a.account_id.clone(), current.expect("a balance"))
        })
        .collect();
    let n = at_bank.len();
    println!(
        "item: {n} transactions ({default} of the default item + {} generated) in {} accounts",
        n - default,
        bank_accounts.len()
    );

    // (b) the baseline first, in a second fresh database that is dropped before (a) runs, so
    // neither run shares the server with the other's autovacuum.
    let bulk = {
        let db = fresh_db().await;
        let state = AppState::new(&db.db, &settings(&db.url, &fake)).expect("app state");
        let user = register(&state).await;
        let repo = SqlConnectionRepository::new(db.db.clone());
        let now = Utc::now();
        let created = repo
            .create(
                NewConnection {
                    id: Uuid::now_v7(),
                    user_id: user,
                    plaid_item_id: item.clone(),
                    access_token: Sealed {
                        key_id: "bench".into(),
                        ciphertext: "not used: this connection is never synced".into(),
                    },
                    institution_id: connection.institution_id.clone(),
                    institution_name: connection.institution_name.clone(),
                },
                now,
            )
            .await
            .expect("connection");
        let batch = SyncBatch {
            connection_id: created.id,
            user_id: user,
            institution_name: created.institution_name.clone(),
            from_cursor: None,
            cursor: "bench".into(),
            accounts: bank_accounts
                .iter()
                .map(|a| synced_account(&plaid_account(a)).expect("a storable account"))
                .collect(),
            added: at_bank
                .iter()
                .map(|t| synced_transaction(plaid_transaction(t)).expect("a storable amount"))
                .collect(),
            modified: Vec::new(),
            removed: Vec::new(),
        };
        let at = WriteTime {
            now,
            today: now.date_naive(),
        };
        let started = Instant::now();
        let counts = repo.apply(batch, at).await.expect("bulk apply");
        let took = started.elapsed();
        assert_eq!(counts.added, n, "bulk: rows inserted");
        check(&db, user, n, &expected).await;
        took
    };

    // (a) the first sync: every page over HTTP, mapping, one write, the connection's status.
    let started = Instant::now();
    let first = state.sync.sync(user, connection.id).await.expect("sync");
    let synced = started.elapsed();
    assert_eq!(first.sync_status, SyncStatus::Ok, "{first:?}");
    assert_eq!(first.transactions_added, n, "sync: rows added");
    check(&db, user, n, &expected).await;
    let pages = fake.calls_to("/transactions/sync");

    // (c) a second sync with nothing new at the bank.
    let started = Instant::now();
    let second = state.sync.sync(user, connection.id).await.expect("sync");
    let unchanged = started.elapsed();
    assert_eq!(second.sync_status, SyncStatus::Ok, "{second:?}");
    assert_eq!(
        (
            second.transactions_added,
            second.transactions_modified,
            second.transactions_removed
        ),
        (0, 0, 0),
        "an unchanged sync changes nothing"
    );
    check(&db, user, n, &expected).await;

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let (sync_rate, bulk_rate) = (rate(synced), rate(bulk));
    let ratio = sync_rate / bulk_rate;
    println!(
        "(b) bulk apply, one call:             {:>8.3} s  {:>9.0} rows/s",
        bulk.as_secs_f64(),
        bulk_rate
    );
    println!(
        "(a) first sync, {pages:>3} pages of <= 500:  {:>8.3} s  {:>9.0} rows/s",
        synced.as_secs_f64(),
        sync_rate
    );
    println!(
        "    sync / bulk: {ratio:.2} x (target >= 0.50: {})",
        if ratio >= 0.5 { "met" } else { "NOT met" }
    );
    println!(
        "(c) second, unchanged sync:           {:>8.3} s  (target < 1 s: {})",
        unchanged.as_secs_f64(),
        if unchanged < Duration::from_secs(1) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("checked: {n} transactions and every account's balance as the bank reports them");
    drop(db);
    fake.stop().await;
}

/// Panics unless the user has exactly `n` transactions and every linked account stands at the
/// bank's balance.
async fn check(db: &TestDb, user: Uuid, n: usize, expected: &BTreeMap<String, Decimal>) {
    let conn = db.db.conn();
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(statement(
            backend,
            "SELECT COUNT(*) AS n FROM transactions WHERE user_id = $1",
            [Value::from(user)],
        ))
        .await
        .expect("count")
        .expect("a row");
    let stored: i64 = row.try_get("", "n").expect("n");
    assert_eq!(usize::try_from(stored).ok(), Some(n), "transactions stored");
    let rows = conn
        .query_all_raw(statement(
            backend,
            "SELECT plaid_account_id, current_balance FROM accounts \
             WHERE user_id = $1 AND plaid_account_id IS NOT NULL",
            [Value::from(user)],
        ))
        .await
        .expect("accounts");
    let ours: BTreeMap<String, Decimal> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "plaid_account_id").expect("plaid id"),
                r.try_get("", "current_balance").expect("balance"),
            )
        })
        .collect();
    assert_eq!(&ours, expected, "balances against the bank's");
}

// The fake's data as the client hands it to the use case (see `nestegg_plaid::wire`): the
// fake renders these fields, the client reads them back.

fn plaid_account(a: &nestegg_plaid_fake::Account) -> PlaidAccount {
    PlaidAccount {
        account_id: a.account_id.clone(),
        name: a.name.clone(),
        official_name: a.official_name.clone(),
        mask: a.mask.clone(),
        account_type: a.account_type.clone(),
        subtype: a.subtype.clone(),
        current: a.balances.current,
        available: a.balances.available,
        currency: Some(a.currency.clone()),
    }
}

fn plaid_transaction(t: &nestegg_plaid_fake::Transaction) -> PlaidTransaction {
    PlaidTransaction {
        transaction_id: t.transaction_id.clone(),
        account_id: t.account_id.clone(),
        amount: t.amount,
        currency: Some(t.currency.clone()),
        date: t.date,
        name: Some(t.name.clone()),
        merchant_name: t.merchant_name.clone(),
        pending: t.pending,
        pending_transaction_id: t.pending_transaction_id.clone(),
        category: Some(t.primary.clone()),
    }
}
