//! The schema goes up, down and up again on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nestegg_persistence::both_backends;
use nestegg_persistence::testing::TestDb;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

const TABLES: &[&str] = &[
    "users",
    "refresh_tokens",
    "plaid_connections",
    "accounts",
    "transactions",
    "transaction_history",
    "balance_snapshots",
    "investments",
    "portfolios",
    "portfolio_items",
];

async fn tables(db: &TestDb) -> Vec<String> {
    let sql = match db.backend() {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> 'seaql_migrations' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY 1"
        }
    };
    db.db
        .conn()
        .query_all_raw(Statement::from_string(db.backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect()
}

both_backends!(
    migrating_up_creates_every_table_and_down_removes_them_all,
    |db: TestDb| async move {
        let mut expected: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
        expected.sort();
        assert_eq!(tables(&db).await, expected);

        db.db.migrate_down(None).await.unwrap();
        assert!(tables(&db).await.is_empty());
        assert!(
            db.db
                .migration_status()
                .await
                .unwrap()
                .iter()
                .all(|m| !m.applied)
        );

        db.db.migrate_up().await.unwrap();
        assert_eq!(tables(&db).await, expected);
        assert!(
            db.db
                .migration_status()
                .await
                .unwrap()
                .iter()
                .all(|m| m.applied)
        );
    }
);
