//! The ledger migration converts existing data without changing any current balance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::{dec, exec, money_value, rows};
use nestegg_persistence::both_backends;
use nestegg_persistence::codec::{self, Scale};
use nestegg_persistence::testing::TestDb;
use rust_decimal::Decimal;
use uuid::Uuid;

const LEDGER: &str = "m20261126_000004_ledger";

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

/// An account as the schema before the ledger stored it: created on `created`, with `balance`.
async fn old_account(
    db: &TestDb,
    user: Uuid,
    kind: &str,
    balance: &str,
    created: NaiveDate,
) -> Uuid {
    let id = Uuid::now_v7();
    let at = Utc.from_utc_datetime(&created.and_hms_opt(9, 30, 0).unwrap());
    exec(
        db,
        "INSERT INTO accounts (id, user_id, name, type, current_balance, currency, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, 'USD', $6, $6)",
        vec![
            id.into(),
            user.into(),
            kind.into(),
            kind.into(),
            money_value(db, dec(balance)),
            at.into(),
        ],
    )
    .await;
    // The old schema kept a snapshot of the day of each write.
    exec(
        db,
        "INSERT INTO balance_snapshots (id, account_id, date, balance, currency, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, 'USD', $5, $5)",
        vec![
            Uuid::now_v7().into(),
            id.into(),
            day(11, 25).into(),
            money_value(db, dec(balance)),
            at.into(),
        ],
    )
    .await;
    id
}

async fn old_transaction(
    db: &TestDb,
    user: Uuid,
    account: Uuid,
    amount: &str,
    date: NaiveDate,
    pending: bool,
) {
    exec(
        db,
        "INSERT INTO transactions (id, user_id, account_id, amount, date, description, \
         is_pending, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'x', $6, $7, $7)",
        vec![
            Uuid::now_v7().into(),
            user.into(),
            account.into(),
            money_value(db, dec(amount)),
            date.into(),
            pending.into(),
            common::now().into(),
        ],
    )
    .await;
}

async fn opening(db: &TestDb, account: Uuid) -> (Decimal, Decimal, NaiveDate) {
    let row = rows(
        db,
        "SELECT current_balance, opening_balance, opened_on FROM accounts WHERE id = $1",
        vec![account.into()],
    )
    .await
    .remove(0);
    (
        codec::decode(db.backend(), &row, "current_balance", Scale::Money).unwrap(),
        codec::decode(db.backend(), &row, "opening_balance", Scale::Money).unwrap(),
        row.try_get("", "opened_on").unwrap(),
    )
}

async fn points(db: &TestDb, account: Uuid) -> Vec<(NaiveDate, Decimal)> {
    rows(
        db,
        "SELECT date, balance FROM balance_snapshots WHERE account_id = $1 ORDER BY date",
        vec![account.into()],
    )
    .await
    .iter()
    .map(|r| {
        (
            r.try_get("", "date").unwrap(),
            codec::decode(db.backend(), r, "balance", Scale::Money).unwrap(),
        )
    })
    .collect()
}

both_backends!(
    existing_accounts_get_an_opening_balance_and_dated_snapshots_with_unchanged_balances,
    |db: TestDb| async move {
        common::revert_from(&db, LEDGER).await;
        let user = common::make_user(&db, "ada").await.id;
        // Opened with 1000, then -100, +500 and -50 on three dates; a pending -20 counts
        // nowhere.
        let checking = old_account(&db, user, "checking", "1350", day(11, 25)).await;
        for (amount, date, pending) in [
            ("-100", day(10, 16), false),
            ("500", day(11, 5), false),
            ("-50", day(11, 20), false),
            ("-20", day(11, 24), true),
        ] {
            old_transaction(&db, user, checking, amount, date, pending).await;
        }
        // A card: spending raises what is owed.
        let card = old_account(&db, user, "credit_card", "45.5", day(11, 1)).await;
        old_transaction(&db, user, card, "-45.50", day(11, 10), false).await;
        // A house: no transactions at all.
        let house = old_account(&db, user, "other", "425000", day(11, 2)).await;

        db.db.migrate_up().await.unwrap();

        assert_eq!(
            opening(&db, checking).await,
            (dec("1350"), dec("1000"), day(10, 16))
        );
        assert_eq!(
            points(&db, checking).await,
            vec![
                (day(10, 16), dec("900")),
                (day(11, 5), dec("1400")),
                (day(11, 20), dec("1350"))
            ]
        );
        assert_eq!(
            opening(&db, card).await,
            (dec("45.5"), dec("0"), day(11, 1))
        );
        assert_eq!(
            points(&db, card).await,
            vec![(day(11, 1), dec("0")), (day(11, 10), dec("45.5"))]
        );
        assert_eq!(
            opening(&db, house).await,
            (dec("425000"), dec("425000"), day(11, 2))
        );
        assert_eq!(points(&db, house).await, vec![(day(11, 2), dec("425000"))]);

        // And back down and up again, keeping the balances.
        common::revert_from(&db, LEDGER).await;
        db.db.migrate_up().await.unwrap();
        assert_eq!(
            opening(&db, checking).await,
            (dec("1350"), dec("1000"), day(10, 16))
        );
    }
);
