//! Bank sync through the API, with the real Plaid client adapter talking over HTTP to the fake
//! Plaid, on SQLite and PostgreSQL: linking, syncing, replays and interrupted syncs, pending
//! transactions posting, overdrafts, login required, webhooks, unlinking, tokens at rest, and
//! isolation between users.

use nestegg::config::{PlaidSettings, Secret, Settings};
use nestegg_persistence::sql::statement;
use nestegg_persistence::testing::{Backend, TestDb};
use nestegg_plaid::{PlaidClient, PlaidConfig, PlaidEnv};
use nestegg_plaid_fake::{Failure, FakeConfig, FakePlaid, NewTransaction, Signing, WebhookKind};
use nestegg_ports::plaid::Plaid;
use reqwest::{Client, Method, StatusCode};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Value as DbValue};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, items, start, test_settings};

/// The app on `backend` with Plaid settings pointing at a fresh fake; `None` when the
/// backend is not set up.
pub(crate) async fn spawn(backend: Backend) -> Option<(TestApp, FakePlaid)> {
    let db = TestDb::new(backend).await?;
    let fake = FakePlaid::start(FakeConfig::default()).await.unwrap();
    let settings = plaid_settings(&db.url, &fake);
    let app = start(db, &settings, Client::new());
    Some((app, fake))
}

/// Test settings for the database at `url` with Plaid settings pointing at `fake`.
pub(crate) fn plaid_settings(url: &str, fake: &FakePlaid) -> Settings {
    let mut settings = test_settings(url);
    settings.plaid = Some(PlaidSettings {
        client_id: fake.client_id().to_owned(),
        secret: Secret::from_test(fake.secret().as_bytes()),
        env: "sandbox".into(),
        base_url: Some(fake.base_url().to_owned()),
        webhook_url: None,
    });
    settings
}

/// Runs a test body once on each backend with Plaid configured against a fresh fake:
/// `plaid_test!(name, |app, fake| async move { ... })`.
#[macro_export]
macro_rules! plaid_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, fake) =
                    $crate::plaid::spawn(nestegg_persistence::testing::Backend::Sqlite)
                        .await
                        .unwrap();
                ($body)(app, fake).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some((app, fake)) =
                    $crate::plaid::spawn(nestegg_persistence::testing::Backend::Postgres).await
                {
                    ($body)(app, fake).await;
                }
            }
        }
    };
}

/// A public token for a new sandbox item, as Plaid Link would hand the front end.
pub(crate) async fn public_token(fake: &FakePlaid) -> String {
    let config = PlaidConfig::new(
        fake.client_id(),
        fake.secret(),
        PlaidEnv::Sandbox,
        Some(fake.base_url().to_owned()),
    );
    PlaidClient::new(config)
        .unwrap()
        .sandbox_public_token("ins_109508", vec!["transactions".into()])
        .await
        .unwrap()
}

/// Links a new sandbox item for the holder of `token`: the connection as the API answers it.
pub(crate) async fn connect(app: &TestApp, fake: &FakePlaid, token: &str) -> Value {
    let public = public_token(fake).await;
    app.create(
        "/api/v1/plaid/connections",
        token,
        json!({"public_token": public}),
    )
    .await
}

/// Signs `name` in and links a new item: (token, connection).
pub(crate) async fn linked(app: &TestApp, fake: &FakePlaid, name: &str) -> (String, Value) {
    let (token, _) = app.signed_in(name).await;
    let connection = connect(app, fake, &token).await;
    (token, connection)
}

/// [`linked`], with the id of the item behind the connection: (token, connection, item).
pub(crate) async fn linked_item(
    app: &TestApp,
    fake: &FakePlaid,
    name: &str,
) -> (String, Value, String) {
    let (token, connection) = linked(app, fake, name).await;
    let item = item(&connection);
    (token, connection, item)
}

/// [`linked_item`], synced once.
async fn synced_item(app: &TestApp, fake: &FakePlaid, name: &str) -> (String, Value, String) {
    let (token, connection, item) = linked_item(app, fake, name).await;
    sync(app, &token, &connection).await;
    (token, connection, item)
}

/// The API path of a connection.
pub(crate) fn connection_path(connection: &Value) -> String {
    format!("/api/v1/plaid/connections/{}", id(connection))
}

async fn sync(app: &TestApp, token: &str, connection: &Value) -> Value {
    let path = format!("{}/sync", connection_path(connection));
    app.expect(StatusCode::OK, Method::POST, &path, None, token)
        .await
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

/// The synced accounts by Plaid account id: (id, type, balance).
async fn accounts(app: &TestApp, token: &str) -> Vec<(String, String, String, Decimal)> {
    let mut found: Vec<_> = items(&app.read("/api/v1/accounts", token).await)
        .iter()
        .filter(|a| !a["plaid_account_id"].is_null())
        .map(|a| {
            (
                a["plaid_account_id"].as_str().unwrap().to_owned(),
                id(a),
                a["type"].as_str().unwrap().to_owned(),
                dec(&a["current_balance"]),
            )
        })
        .collect();
    found.sort();
    found
}

async fn all_transactions(app: &TestApp, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = "/api/v1/transactions?limit=200".to_owned();
    loop {
        let page = app.read(&path, token).await;
        all.extend(items(&page).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/transactions?limit=200&cursor={cursor}"),
            None => return all,
        }
    }
}

/// The item id behind a connection.
pub(crate) fn item(connection: &Value) -> String {
    connection["plaid_item_id"].as_str().unwrap().to_owned()
}

plaid_test!(
    linking_and_syncing_brings_accounts_balances_and_transactions_as_the_bank_reports_them,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, _) = app.signed_in("ada").await;
        let link = app
            .expect(
                StatusCode::OK,
                Method::POST,
                "/api/v1/plaid/link-token",
                None,
                &token,
            )
            .await;
        assert!(link["link_token"].as_str().unwrap().starts_with("link-"));
        let connection = connect(&app, &fake, &token).await;
        assert_eq!(connection["sync_status"], "pending");
        assert!(connection.get("access_token").is_none());

        let report = sync(&app, &token, &connection).await;
        assert_eq!(report["sync_status"], "ok", "{report}");
        let bank = fake.accounts(&item(&connection)).unwrap();
        assert_eq!(report["accounts"], bank.len());
        let stored = all_transactions(&app, &token).await;
        let at_bank = fake.transactions(&item(&connection)).unwrap();
        assert_eq!(report["transactions_added"], at_bank.len());
        assert_eq!(stored.len(), at_bank.len());

        // Every account ends at the bank's balance, liabilities as amounts owed.
        let ours = accounts(&app, &token).await;
        assert_eq!(ours.len(), bank.len());
        for account in &bank {
            let (_, _, kind, balance) = ours
                .iter()
                .find(|(plaid, ..)| *plaid == account.account_id)
                .unwrap();
            assert_eq!(
                Some(*balance),
                account.balances.current,
                "{kind} {}",
                account.account_id
            );
        }
        let kinds: Vec<&str> = ours.iter().map(|(_, _, k, _)| k.as_str()).collect();
        for expected in [
            "checking",
            "savings",
            "credit_card",
            "investment",
            "retirement",
            "mortgage",
        ] {
            assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
        }
        // Plaid's positive amounts are money out: spending is negative here.
        let spent = stored
            .iter()
            .filter(|t| dec(&t["amount"]).is_sign_negative())
            .count();
        assert!(spent > 0);
        let shown = app.read(&connection_path(&connection), &token).await;
        assert_eq!(shown["sync_status"], "ok");
        assert!(shown["last_sync_at"].is_string());

        // The brokerage and retirement holdings land in the "Plaid" portfolio, one item per
        // security, valued at the institution's price.
        let held = report["holdings"].as_u64().unwrap();
        assert!(held > 0, "{report}");
        let portfolios = app.read("/api/v1/portfolios", &token).await;
        let plaid = items(&portfolios)
            .iter()
            .find(|p| p["name"] == "Plaid")
            .expect("a Plaid portfolio")
            .clone();
        let path = format!("/api/v1/portfolios/{}/items", id(&plaid));
        let detail = app.read(&path, &token).await;
        assert_eq!(items(&detail).len() as u64, held);
        for item in items(&detail) {
            assert!(!item["current_value"].is_null(), "{item}");
        }
        // A second sync keeps one item per security.
        let again = sync(&app, &token, &connection).await;
        assert_eq!(again["holdings"], held);
        assert_eq!(items(&app.read(&path, &token).await).len() as u64, held);
    }
);

plaid_test!(
    a_replayed_or_interrupted_sync_leaves_no_duplicate_and_no_gap,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, item) = linked_item(&app, &fake, "ada").await;
        fake.add_generated_transactions(&item, 1200).unwrap();
        // The bank refuses the sync before its last page: nothing of the sync is kept, as if
        // the server had died before its one write.
        fake.fail_next("/transactions/sync", 1, Failure::login_required());
        let first = sync(&app, &token, &connection).await;
        assert_eq!(first["sync_status"], "login_required");
        assert!(all_transactions(&app, &token).await.is_empty());

        let second = sync(&app, &token, &connection).await;
        assert_eq!(second["sync_status"], "ok", "{second}");
        let at_bank = fake.transactions(&item).unwrap().len();
        assert_eq!(all_transactions(&app, &token).await.len(), at_bank);
        let balances = accounts(&app, &token).await;

        let replay = sync(&app, &token, &connection).await;
        assert_eq!(replay["transactions_added"], 0);
        assert_eq!(all_transactions(&app, &token).await.len(), at_bank);
        assert_eq!(accounts(&app, &token).await, balances);
    }
);

plaid_test!(
    a_mutation_during_pagination_restarts_and_still_stores_everything_once,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, item) = linked_item(&app, &fake, "ada").await;
        fake.add_generated_transactions(&item, 1500).unwrap();
        fake.fail_sync_at_page(2);
        let report = sync(&app, &token, &connection).await;
        assert_eq!(report["sync_status"], "ok", "{report}");
        let at_bank = fake.transactions(&item).unwrap().len();
        assert_eq!(all_transactions(&app, &token).await.len(), at_bank);
    }
);

plaid_test!(
    a_posted_transaction_replaces_its_pending_one_and_keeps_the_users_category,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, item) = linked_item(&app, &fake, "ada").await;
        let checking = fake.account_id(&item, "checking").unwrap();
        let pending = fake
            .add_transaction(
                &item,
                NewTransaction::new(
                    &checking,
                    "23.40".parse().unwrap(),
                    chrono::Utc::now().date_naive(),
                    "Corner Bistro",
                )
                .pending()
                .category("FOOD_AND_DRINK"),
            )
            .unwrap();
        sync(&app, &token, &connection).await;
        let ours = all_transactions(&app, &token)
            .await
            .into_iter()
            .find(|t| t["plaid_transaction_id"] == pending.as_str())
            .unwrap();
        assert_eq!(ours["is_pending"], true);
        let path = format!("/api/v1/transactions/{}", id(&ours));
        app.expect(
            StatusCode::OK,
            Method::PATCH,
            &path,
            Some(&json!({"category": "entertainment", "is_recurring": true})),
            &token,
        )
        .await;

        let posted = fake
            .post_pending(&item, &pending, Some("25.90".parse().unwrap()))
            .unwrap();
        let report = sync(&app, &token, &connection).await;
        assert_eq!(report["sync_status"], "ok");
        let after = app.read(&path, &token).await;
        assert_eq!(after["plaid_transaction_id"], posted.as_str());
        assert_eq!(after["is_pending"], false);
        assert_eq!(dec(&after["amount"]), "-25.90".parse::<Decimal>().unwrap());
        assert_eq!(after["category"], "entertainment");
        assert_eq!(after["is_recurring"], true);
        let history = app.read(&format!("{path}/history"), &token).await;
        assert_eq!(items(&history).len(), 3, "{history}");
        // The read-only rule holds for what came from the bank.
        app.expect(
            StatusCode::UNPROCESSABLE_ENTITY,
            Method::PATCH,
            &path,
            Some(&json!({"amount": "-1.00"})),
            &token,
        )
        .await;
    }
);

plaid_test!(
    an_overdrawn_checking_account_is_stored_as_reported_with_an_adjustment_dated_today,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, item) = synced_item(&app, &fake, "ada").await;
        let checking = fake.account_id(&item, "checking").unwrap();
        fake.set_balances(
            &item,
            &checking,
            nestegg_plaid_fake::Balances {
                current: Some("-75.20".parse().unwrap()),
                available: Some("-75.20".parse().unwrap()),
                limit: None,
            },
        )
        .unwrap();
        let report = sync(&app, &token, &connection).await;
        assert_eq!(report["sync_status"], "ok", "{report}");
        let ours = accounts(&app, &token).await;
        let (_, account, _, balance) = ours.iter().find(|(p, ..)| *p == checking).unwrap();
        assert_eq!(*balance, "-75.20".parse::<Decimal>().unwrap());
        let adjustments = app
            .read(&format!("/api/v1/accounts/{account}/adjustments"), &token)
            .await;
        let last = items(&adjustments).last().unwrap().clone();
        assert_eq!(last["date"], chrono::Utc::now().date_naive().to_string());
        assert_eq!(dec(&last["balance"]), "-75.20".parse::<Decimal>().unwrap());
    }
);

plaid_test!(
    login_required_keeps_the_data_and_a_later_successful_sync_clears_the_error,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, item) = synced_item(&app, &fake, "ada").await;
        let before = all_transactions(&app, &token).await.len();
        fake.set_login_required(&item, true).unwrap();
        fake.add_generated_transactions(&item, 10).unwrap();
        let failed = sync(&app, &token, &connection).await;
        assert_eq!(failed["sync_status"], "login_required");
        let path = connection_path(&connection);
        let shown = app.read(&path, &token).await;
        assert_eq!(shown["sync_status"], "login_required");
        assert!(shown["error_message"].is_string());
        assert_eq!(all_transactions(&app, &token).await.len(), before);

        fake.set_login_required(&item, false).unwrap();
        let ok = sync(&app, &token, &connection).await;
        assert_eq!(ok["sync_status"], "ok");
        assert_eq!(ok["transactions_added"], 10);
        let shown = app.read(&path, &token).await;
        assert!(shown["error_message"].is_null());
    }
);

/// Whether the connection has a sync asked for by a webhook.
pub(crate) async fn sync_requested(app: &TestApp, connection: &Value) -> bool {
    let db = app.db.db.conn();
    let row = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT sync_requested_at FROM plaid_connections WHERE plaid_item_id = $1",
            [DbValue::from(item(connection))],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "sync_requested_at")
        .unwrap()
        .is_some()
}

async fn post_webhook(app: &TestApp, body: &str, signature: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/plaid/webhook"))
        .header("Content-Type", "application/json")
        .header("Plaid-Verification", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
}

plaid_test!(
    only_webhooks_signed_by_plaid_for_this_body_and_recently_are_acted_on,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, item) = synced_item(&app, &fake, "ada").await;
        assert!(!sync_requested(&app, &connection).await);
        for signing in [Signing::WrongKey, Signing::Stale, Signing::TamperedBody] {
            let hook = fake
                .webhook(&item, WebhookKind::SyncUpdatesAvailable, signing)
                .unwrap();
            let status = post_webhook(&app, &hook.body, &hook.plaid_verification).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{signing:?}");
        }
        let genuine = fake
            .webhook(&item, WebhookKind::SyncUpdatesAvailable, Signing::Valid)
            .unwrap();
        assert_eq!(
            post_webhook(&app, &genuine.body, "not-a-jwt").await,
            StatusCode::UNAUTHORIZED
        );
        assert!(!sync_requested(&app, &connection).await, "nothing happened");

        assert_eq!(
            post_webhook(&app, &genuine.body, &genuine.plaid_verification).await,
            StatusCode::OK
        );
        assert!(sync_requested(&app, &connection).await);

        let error = fake
            .webhook(&item, WebhookKind::Error, Signing::Valid)
            .unwrap();
        assert_eq!(
            post_webhook(&app, &error.body, &error.plaid_verification).await,
            StatusCode::OK
        );
        let shown = app.read(&connection_path(&connection), &token).await;
        assert_eq!(shown["sync_status"], "login_required");

        // An item this server does not know: acknowledged, ignored.
        let (other_item, _) = fake.create_item("ins_109508");
        let unknown = fake
            .webhook(
                &other_item,
                WebhookKind::SyncUpdatesAvailable,
                Signing::Valid,
            )
            .unwrap();
        assert_eq!(
            post_webhook(&app, &unknown.body, &unknown.plaid_verification).await,
            StatusCode::OK
        );
    }
);

plaid_test!(
    unlinking_removes_the_item_at_plaid_and_keeps_the_accounts_as_manual_ones,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection, _) = synced_item(&app, &fake, "ada").await;
        let before = accounts(&app, &token).await;
        let path = connection_path(&connection);
        app.expect(StatusCode::NO_CONTENT, Method::DELETE, &path, None, &token)
            .await;
        assert_eq!(fake.calls_to("/item/remove"), 1);
        app.assert_gone(&path, &token).await;
        assert_eq!(accounts(&app, &token).await, before);
        let listed = app.read("/api/v1/accounts", &token).await;
        assert!(items(&listed).iter().all(|a| a["connection_id"].is_null()));
        // Their transactions are the user's own now: editable and deletable.
        let t = all_transactions(&app, &token).await[0].clone();
        assert!(t["plaid_transaction_id"].is_null());
        app.expect(
            StatusCode::NO_CONTENT,
            Method::DELETE,
            &format!("/api/v1/transactions/{}", id(&t)),
            None,
            &token,
        )
        .await;
    }
);

plaid_test!(
    access_tokens_are_stored_sealed_and_a_token_copied_to_another_row_does_not_open,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, first) = linked(&app, &fake, "ada").await;
        let second = connect(&app, &fake, &token).await;
        let db = app.db.db.conn();
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(statement(
                backend,
                "SELECT id, access_token, key_id FROM plaid_connections",
                [],
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        for row in &rows {
            let sealed: String = row.try_get("", "access_token").unwrap();
            assert!(sealed.starts_with("v1:"), "{sealed}");
            assert!(!sealed.contains("access-"), "no plaintext token: {sealed}");
            let key: String = row.try_get("", "key_id").unwrap();
            assert_eq!(key.len(), 16);
        }
        // The first row's sealed token, copied into the second row, is bound to the first.
        db.execute_raw(statement(
            backend,
            "UPDATE plaid_connections SET access_token = \
             (SELECT access_token FROM plaid_connections WHERE plaid_item_id = $1) \
             WHERE plaid_item_id = $2",
            [DbValue::from(item(&first)), DbValue::from(item(&second))],
        ))
        .await
        .unwrap();
        let report = sync(&app, &token, &second).await;
        assert_eq!(report["sync_status"], "error", "{report}");
        assert_eq!(fake.calls_to("/accounts/get"), 0, "nothing reached Plaid");
        assert_eq!(sync(&app, &token, &first).await["sync_status"], "ok");
    }
);

plaid_test!(
    another_users_connection_is_a_404_and_a_running_sync_is_a_409,
    |app: TestApp, fake: FakePlaid| async move {
        let (token, connection) = linked(&app, &fake, "ada").await;
        let (intruder, _) = app.signed_in("mallory").await;
        let path = connection_path(&connection);
        for (method, p) in [
            (Method::GET, path.clone()),
            (Method::DELETE, path.clone()),
            (Method::POST, format!("{path}/sync")),
        ] {
            let response = app.send(method.clone(), &p, None, Some(&intruder)).await;
            assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
        }
        assert!(items(&app.read("/api/v1/plaid/connections", &intruder).await).is_empty());
        assert_eq!(fake.calls_to("/item/remove"), 0);

        // Another instance holds the item's lease.
        let db = app.db.db.conn();
        db.execute_raw(statement(
            db.get_database_backend(),
            "UPDATE plaid_connections SET lease_holder = $1, lease_until = $2",
            [
                DbValue::from(uuid::Uuid::new_v4()),
                DbValue::from(chrono::Utc::now() + chrono::TimeDelta::minutes(5)),
            ],
        ))
        .await
        .unwrap();
        let response = app
            .send(Method::POST, &format!("{path}/sync"), None, Some(&token))
            .await;
        assert_error(response, StatusCode::CONFLICT, "sync_in_progress").await;
    }
);

crate::app_test!(
    without_plaid_settings_every_plaid_route_answers_plaid_not_configured,
    |app: TestApp| async move {
        let (token, _) = app.signed_in("ada").await;
        let some = uuid::Uuid::now_v7();
        for (method, path, body) in [
            (Method::POST, "/api/v1/plaid/link-token".to_owned(), None),
            (
                Method::POST,
                "/api/v1/plaid/connections".to_owned(),
                Some(json!({"public_token": "public-sandbox-x"})),
            ),
            (Method::GET, "/api/v1/plaid/connections".to_owned(), None),
            (
                Method::GET,
                format!("/api/v1/plaid/connections/{some}"),
                None,
            ),
            (
                Method::DELETE,
                format!("/api/v1/plaid/connections/{some}"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/plaid/connections/{some}/sync"),
                None,
            ),
        ] {
            let response = app.send(method, &path, body.as_ref(), Some(&token)).await;
            assert_error(
                response,
                StatusCode::SERVICE_UNAVAILABLE,
                "plaid_not_configured",
            )
            .await;
        }
        let response = app
            .client
            .post(app.url("/api/v1/plaid/webhook"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_error(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "plaid_not_configured",
        )
        .await;
    }
);
