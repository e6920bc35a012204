//! Balances through the real repositories: any sequence of writes, and concurrent writers,
//! leave each manual account at its opening balance plus its posted transactions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::NaiveDate;
use nestegg_domain::{
    AccountName, AccountType, CurrencyCode, Money, TransactionAmount, TransactionCategory,
};
use nestegg_persistence::codec::{self, Scale};
use nestegg_persistence::testing::{Backend, TestDb};
use nestegg_persistence::{SqlAccountRepository, SqlTransactionRepository, both_backends};
use nestegg_ports::{
    AccountRepository, NewAccount, NewTransaction, TransactionRepository, TransactionUpdate,
    WriteTime,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

fn at() -> WriteTime {
    WriteTime {
        now: common::now(),
        today: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
    }
}

fn money(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2)).unwrap()
}

async fn open_account(db: &TestDb, user: Uuid, t: AccountType, cents: i64) -> Uuid {
    SqlAccountRepository::new(db.db.clone())
        .create(
            NewAccount {
                id: Uuid::now_v7(),
                user_id: user,
                name: AccountName::parse("Account").unwrap(),
                account_type: t,
                institution_name: None,
                current_balance: money(cents),
                available_balance: None,
                currency: CurrencyCode::USD,
                opened_on: None,
            },
            at(),
        )
        .await
        .unwrap()
        .id
}

fn new_txn(user: Uuid, account: Uuid, cents: i64, pending: bool) -> NewTransaction {
    NewTransaction {
        id: Uuid::now_v7(),
        user_id: user,
        account_id: account,
        amount: TransactionAmount::new(money(cents)).unwrap(),
        date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        description: "t".into(),
        merchant_name: None,
        category: TransactionCategory::Other,
        is_pending: pending,
        is_recurring: false,
    }
}

/// Opening balance plus the posted transactions, signed by class, summed by the database.
async fn expected_balance(db: &TestDb, account: Uuid, t: AccountType, opening: i64) -> Decimal {
    let b = db.backend();
    let row = common::row(
        db,
        "SELECT COALESCE(SUM(amount), 0) AS total FROM transactions \
         WHERE account_id = $1 AND is_pending = $2",
        vec![account.into(), false.into()],
    )
    .await;
    let posted = codec::decode(b, &row, "total", Scale::Money).unwrap();
    let effect = if t.class() == nestegg_domain::AccountClass::Liability {
        -posted
    } else {
        posted
    };
    Decimal::new(opening, 2) + effect
}

#[derive(Debug, Clone)]
enum Op {
    Create(i64, bool),
    UpdateLast(i64),
    DeleteLast,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let cents = (-50_000i64..50_000).prop_filter("non-zero", |c| *c != 0);
    proptest::collection::vec(
        prop_oneof![
            3 => (cents.clone(), any::<bool>()).prop_map(|(c, p)| Op::Create(c, p)),
            1 => cents.prop_map(Op::UpdateLast),
            1 => Just(Op::DeleteLast),
        ],
        1..25,
    )
}

async fn run(backend: Backend, ops: Vec<Op>, card: bool) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let user = common::make_user(&db, "ada").await.id;
    // Savings may never go below zero (checking may: an overdraft).
    let t = if card {
        AccountType::CreditCard
    } else {
        AccountType::Savings
    };
    let opening = 100_000;
    let account = open_account(&db, user, t, opening).await;
    let repo = SqlTransactionRepository::new(db.db.clone());
    let mut live: Vec<Uuid> = Vec::new();
    for op in ops {
        match op {
            Op::Create(c, p) => {
                let result = repo.create(new_txn(user, account, c, p), at()).await;
                // Deposits, pending ones and anything on a card can never be refused, so a
                // repository that refused everything could not pass this test.
                if card || p || c > 0 {
                    assert!(result.is_ok(), "{result:?}");
                }
                if let Ok(created) = result {
                    live.push(created.id);
                }
            }
            Op::UpdateLast(c) => {
                if let Some(id) = live.last() {
                    let update = TransactionUpdate {
                        amount: Some(TransactionAmount::new(money(c)).unwrap()),
                        ..Default::default()
                    };
                    let _ = repo.update(user, *id, update, at()).await;
                }
            }
            Op::DeleteLast => {
                if let Some(id) = live.last().copied()
                    && repo.delete(user, id, at()).await.is_ok()
                {
                    live.pop();
                }
            }
        }
    }
    let stored = SqlAccountRepository::new(db.db.clone())
        .get(user, account)
        .await
        .unwrap();
    assert_eq!(
        stored.current_balance.value(),
        expected_balance(&db, account, t, opening).await
    );
    if !card {
        assert!(!stored.current_balance.is_negative());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn any_sequence_of_writes_leaves_the_balance_at_opening_plus_posted_transactions_on_sqlite_and_postgres(
        ops in ops(),
        card in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(Backend::Sqlite, ops.clone(), card));
        rt.block_on(run(Backend::Postgres, ops, card));
    }
}

async fn concurrent_writers(db: TestDb) {
    let user = common::make_user(&db, "ada").await.id;
    let account = open_account(&db, user, AccountType::Savings, 0).await;
    let repo = Arc::new(SqlTransactionRepository::new(db.db.clone()));
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let repo = repo.clone();
            tokio::spawn(async move {
                repo.create(new_txn(user, account, 100 + i, false), at())
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stored = SqlAccountRepository::new(db.db.clone())
        .get(user, account)
        .await
        .unwrap();
    // 40 deposits of 1.00 to 1.39: 40 × 1.00 + (0 + ... + 39) cents = 47.80.
    assert_eq!(stored.current_balance, money(4_780));
}

both_backends!(
    concurrent_deposits_to_one_account_all_count,
    workers = 4,
    concurrent_writers
);
