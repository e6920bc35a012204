//! Money is exact on both backends: stored, read back and summed in SQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use nestegg_persistence::both_backends;
use nestegg_persistence::codec::{self, Scale};
use nestegg_persistence::sql::statement;
use nestegg_persistence::testing::TestDb;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, TransactionTrait, Value};
use uuid::Uuid;

async fn account(db: &TestDb, user_id: Uuid) -> Uuid {
    common::insert_account(db, user_id, "credit_card", Decimal::ZERO)
        .await
        .unwrap()
}

fn insert_txn_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO transactions (id, user_id, account_id, amount, date, description, \
         created_at, updated_at) VALUES ",
    );
    for i in 0..rows {
        let p = i * 3;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, '2026-11-25', 'x', '2026-11-25T12:00:00Z', '2026-11-25T12:00:00Z')",
            p + 1,
            p + 2,
            p + 3,
            i + 1 + rows * 3
        ));
    }
    sql
}

both_backends!(
    awkward_amounts_round_trip_exactly,
    |db: TestDb| async move {
        let user = common::make_user(&db, "ada").await;
        let account = account(&db, user.id).await;
        for text in ["0.1", "1234567890.1234", "-0.0001", "99999999999999.9999"] {
            let amount = Decimal::from_str_exact(text).unwrap();
            let id = Uuid::now_v7();
            common::insert_transaction(&db, id, user.id, account, amount)
                .await
                .unwrap();
            let row = common::row(
                &db,
                "SELECT amount FROM transactions WHERE id = $1",
                vec![id.into()],
            )
            .await;
            let back = codec::decode(db.backend(), &row, "amount", Scale::Money).unwrap();
            assert_eq!(back, amount, "{text}");
            assert_eq!(back.normalize().to_string(), text);
        }
    }
);

both_backends!(
    a_hundred_thousand_cents_sum_to_exactly_one_thousand_in_sql,
    |db: TestDb| async move {
        let b = db.backend();
        let user = common::make_user(&db, "ada").await;
        let account = account(&db, user.id).await;
        let cent = codec::encode(b, Decimal::new(1, 2), Scale::Money).unwrap();
        let rows = 1000;
        let sql = insert_txn_sql(rows);
        let txn = db.db.conn().begin().await.unwrap();
        for _ in 0..100 {
            let mut values: Vec<Value> = Vec::with_capacity(rows * 4);
            for _ in 0..rows {
                values.push(Uuid::now_v7().into());
                values.push(user.id.into());
                values.push(account.into());
            }
            values.extend(std::iter::repeat_n(cent.clone(), rows));
            txn.execute_raw(statement(b, &sql, values)).await.unwrap();
        }
        txn.commit().await.unwrap();

        let row = common::row(
            &db,
            "SELECT COUNT(*) AS n, SUM(amount) AS total FROM transactions WHERE account_id = $1",
            vec![account.into()],
        )
        .await;
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 100_000);
        let total = codec::decode(b, &row, "total", Scale::Money).unwrap();
        assert_eq!(total, Decimal::new(100_000, 2));
        assert_eq!(total.normalize().to_string(), "1000");
    }
);

both_backends!(
    the_database_itself_refuses_a_zero_amount_and_a_negative_savings_balance_but_not_an_overdraft,
    |db: TestDb| async move {
        let user = common::make_user(&db, "ada").await;
        let account = account(&db, user.id).await;
        let zero =
            common::insert_transaction(&db, Uuid::now_v7(), user.id, account, Decimal::ZERO).await;
        common::assert_refused(zero, "ck_transactions_amount_not_zero");
        let negative = common::insert_account(&db, user.id, "savings", Decimal::new(-1, 4)).await;
        common::assert_refused(negative, "ck_accounts_balance_not_negative");
        let overdraft = common::insert_account(&db, user.id, "checking", Decimal::new(-1, 4)).await;
        assert!(overdraft.is_ok(), "{overdraft:?}");
    }
);
