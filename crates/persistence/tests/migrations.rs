//! The schema goes up, down and up again on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nestegg_persistence::backup::{NOT_COPIED, TABLES};
use nestegg_persistence::both_backends;
use nestegg_persistence::testing::TestDb;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

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
    strings(db, sql, "name").await
}

/// Whether the migrations are applied: one entry when they all agree.
async fn applied(db: &TestDb) -> Vec<bool> {
    let mut states: Vec<bool> = db
        .db
        .migration_status()
        .await
        .unwrap()
        .iter()
        .map(|m| m.applied)
        .collect();
    states.dedup();
    states
}

const INDEXES: &[&str] = &[
    "idx_refresh_tokens_user_id",
    "idx_refresh_tokens_family_id",
    "idx_plaid_connections_user_id",
    "idx_accounts_user_id",
    "idx_accounts_plaid_account_id",
    "idx_accounts_connection_id",
    "idx_transactions_user_date_id",
    "idx_transactions_account_id",
    "idx_transactions_date",
    "idx_transactions_plaid_transaction_id",
    "idx_transaction_history_transaction_id",
    "idx_transaction_history_user_id",
    "idx_balance_snapshots_account_id",
    "idx_balance_snapshots_date",
    "idx_investments_symbol",
    "idx_investments_owner_user_id",
    "idx_portfolios_user_id",
    "uq_portfolios_one_default_per_user",
    "idx_portfolio_items_portfolio_id",
    "idx_portfolio_items_investment_id",
    "idx_portfolio_trades_portfolio_id",
    "idx_portfolio_trades_investment_id",
    "idx_balance_adjustments_account_date",
    "idx_sessions_user_id",
    "idx_login_throttle_window_ends",
];

/// Named unique, foreign-key and check constraints (the seed's, and ours).
const CONSTRAINTS: &[&str] = &[
    "uq_users_email",
    "uq_users_username",
    "uq_refresh_tokens_token_hash",
    "uq_plaid_connections_plaid_item_id",
    "ck_plaid_connections_sync_status",
    "uq_accounts_plaid_account_id",
    "uq_accounts_id_user",
    "ck_accounts_type",
    "ck_accounts_balance_not_negative",
    "uq_transactions_plaid_transaction_id",
    "fk_transactions_account",
    "ck_transactions_amount_not_zero",
    "ck_transactions_category",
    "ck_transaction_history_action",
    "uq_balance_snapshots_account_date",
    "ck_investments_type",
    "ck_investments_price_positive",
    "ck_investments_dividend_yield",
    "ck_investments_expense_ratio",
    "uq_portfolio_items_portfolio_investment",
    "ck_portfolio_items_quantity_positive",
    "ck_portfolio_items_average_cost_not_negative",
    "ck_portfolio_items_target_allocation",
    "uq_fx_rates_user_currency_base_date",
    "ck_fx_rates_rate_positive",
    "uq_investment_prices_investment_date",
    "ck_investment_prices_price_positive",
    "ck_portfolio_trades_side",
    "ck_portfolio_trades_quantity_positive",
    "ck_portfolio_trades_price_positive",
    "ck_portfolio_trades_fee_not_negative",
    "ck_balance_adjustments_amount_not_zero",
];

/// (child, parent, on delete): cascade from users, restrict on financial history.
const FOREIGN_KEYS: &[(&str, &str, &str)] = &[
    ("accounts", "plaid_connections", "SET NULL"),
    ("accounts", "users", "CASCADE"),
    ("balance_adjustments", "accounts", "CASCADE"),
    ("balance_snapshots", "accounts", "CASCADE"),
    ("fx_rates", "users", "CASCADE"),
    ("investment_prices", "investments", "CASCADE"),
    ("investments", "users", "CASCADE"),
    ("plaid_connections", "users", "CASCADE"),
    ("portfolio_items", "investments", "RESTRICT"),
    ("portfolio_items", "portfolios", "CASCADE"),
    ("portfolio_trades", "investments", "RESTRICT"),
    ("portfolio_trades", "portfolios", "CASCADE"),
    ("portfolios", "users", "CASCADE"),
    ("refresh_tokens", "users", "CASCADE"),
    ("sessions", "users", "CASCADE"),
    ("transaction_history", "users", "CASCADE"),
    ("transactions", "accounts", "RESTRICT"),
    ("transactions", "users", "CASCADE"),
];

async fn strings(db: &TestDb, sql: &str, column: &str) -> Vec<String> {
    db.db
        .conn()
        .query_all_raw(Statement::from_string(db.backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", column).unwrap())
        .collect()
}

both_backends!(
    the_schema_has_every_index_constraint_and_foreign_key_action,
    |db: TestDb| async move {
        let pg = db.backend() == DbBackend::Postgres;
        let indexes = if pg {
            strings(
                &db,
                "SELECT indexname::text AS n FROM pg_indexes WHERE schemaname = 'public'",
                "n",
            )
            .await
        } else {
            strings(
                &db,
                "SELECT name AS n FROM sqlite_master WHERE type = 'index'",
                "n",
            )
            .await
        };
        for index in INDEXES {
            assert!(indexes.iter().any(|i| i == index), "missing index {index}");
        }

        if pg {
            let names = strings(&db, "SELECT conname::text AS n FROM pg_constraint", "n").await;
            for c in CONSTRAINTS {
                assert!(names.iter().any(|n| n == c), "missing constraint {c}");
            }
        } else {
            let ddl = strings(
                &db,
                "SELECT sql AS n FROM sqlite_master WHERE type = 'table'",
                "n",
            )
            .await
            .join("\n");
            for c in CONSTRAINTS {
                let named = [' ', '\n']
                    .iter()
                    .any(|end| ddl.contains(&format!("CONSTRAINT {c}{end}")));
                assert!(named, "missing constraint {c}");
            }
        }

        let sql = if pg {
            "SELECT DISTINCT c.conrelid::regclass::text || ' ' || c.confrelid::regclass::text || ' ' || \
         CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'r' THEN 'RESTRICT' \
         WHEN 'n' THEN 'SET NULL' WHEN 'a' THEN 'NO ACTION' ELSE 'OTHER' END AS n \
         FROM pg_constraint c WHERE c.contype = 'f' ORDER BY 1"
        } else {
            "SELECT DISTINCT m.name || ' ' || f.\"table\" || ' ' || f.on_delete AS n \
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table' ORDER BY 1"
        };
        let actual = strings(&db, sql, "n").await;
        let expected: Vec<String> = FOREIGN_KEYS
            .iter()
            .map(|(c, p, a)| format!("{c} {p} {a}"))
            .collect();
        assert_eq!(actual, expected);
    }
);

both_backends!(
    migrating_up_creates_every_table_and_down_removes_them_all,
    |db: TestDb| async move {
        // Every table: those a backup copies and those it leaves out (the backup tests hold
        // that description to the catalogue column by column).
        let mut expected: Vec<String> = TABLES
            .iter()
            .map(|t| t.name)
            .chain(NOT_COPIED.iter().copied())
            .map(str::to_owned)
            .collect();
        expected.sort();
        assert_eq!(tables(&db).await, expected);

        db.db.migrate_down(None).await.unwrap();
        assert!(tables(&db).await.is_empty());
        assert_eq!(applied(&db).await, [false]);

        db.db.migrate_up().await.unwrap();
        assert_eq!(tables(&db).await, expected);
        assert_eq!(applied(&db).await, [true]);
    }
);

/// Two instances starting at once on an empty PostgreSQL database: each migrates at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_instances_migrating_at_once_apply_each_migration_once_and_both_start() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let all = db.db.migrate_down(None).await.unwrap();
    for round in 0..3 {
        let (a, b) = (
            nestegg_persistence::Db::connect(&db.url).await.unwrap(),
            nestegg_persistence::Db::connect(&db.url).await.unwrap(),
        );
        let (ran_a, ran_b) = tokio::join!(a.migrate_up(), b.migrate_up());
        let (ran_a, ran_b) = (ran_a.unwrap(), ran_b.unwrap());
        let mut ran: Vec<String> = ran_a.iter().chain(&ran_b).cloned().collect();
        ran.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(ran, expected, "round {round}: {ran_a:?} and {ran_b:?}");
        db.db.migrate_down(None).await.unwrap();
    }
}
