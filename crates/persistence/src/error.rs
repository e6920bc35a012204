//! Database errors in the ports' terms, by constraint name.

use nestegg_ports::{Conflict, RepoError};
use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Whether a query failed because the database went away (a 503), not because of the query.
fn connection_lost(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
    )
}

/// Whether concurrent writers collided: PostgreSQL's serialization failure (40001) or
/// deadlock (40P01), SQLite's busy or locked database (5, 6 and their extended codes).
fn contended(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let code = db.code();
    match code.as_deref() {
        Some("40001" | "40P01") => true,
        Some(c) => c.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)),
        None => false,
    }
}

/// Whether SQLite overflowed its 64-bit integers in a sum (PostgreSQL's `NUMERIC` does not;
/// the domain's range checks answer there).
fn overflowed(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.message().contains("integer overflow"))
}

/// Constraint names (PostgreSQL) or `table.column` (SQLite) and what a violation means.
const CONFLICTS: &[(&str, &str, Conflict)] = &[
    ("uq_users_email", "users.email", Conflict::Email),
    ("uq_users_username", "users.username", Conflict::Username),
    (
        "uq_refresh_tokens_token_hash",
        "refresh_tokens.token_hash",
        Conflict::Token,
    ),
    (
        "uq_accounts_plaid_account_id",
        "accounts.plaid_account_id",
        Conflict::PlaidAccount,
    ),
    (
        "uq_transactions_plaid_transaction_id",
        "transactions.plaid_transaction_id",
        Conflict::PlaidTransaction,
    ),
    (
        "uq_plaid_connections_plaid_item_id",
        "plaid_connections.plaid_item_id",
        Conflict::PlaidItem,
    ),
    (
        "uq_balance_snapshots_account_date",
        "balance_snapshots.account_id",
        Conflict::Snapshot,
    ),
    (
        "uq_portfolios_one_default_per_user",
        "portfolios.user_id",
        Conflict::DefaultPortfolio,
    ),
    (
        "uq_portfolio_items_portfolio_investment",
        "portfolio_items.portfolio_id",
        Conflict::PortfolioItem,
    ),
];

/// Translates a database error.
pub(crate) fn db_err(err: DbErr) -> RepoError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => {
            let what = CONFLICTS
                .iter()
                .find(|(pg, lite, _)| message.contains(pg) || message.contains(lite))
                .map_or(Conflict::Unique, |(_, _, what)| *what);
            RepoError::Conflict(what)
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => RepoError::Conflict(Conflict::Restricted),
        _ => match err {
            DbErr::ConnectionAcquire(e) => RepoError::Unavailable(e.to_string()),
            DbErr::Conn(e) => RepoError::Unavailable(e.to_string()),
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
                if connection_lost(&e) =>
            {
                RepoError::Unavailable(e.to_string())
            }
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
                if contended(&e) =>
            {
                RepoError::Busy
            }
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
                if overflowed(&e) =>
            {
                RepoError::Rule(nestegg_domain::DomainError::Overflow)
            }
            other => RepoError::Unexpected(anyhow::Error::new(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

    use super::*;
    use crate::testing::{Backend, TestDb};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deadlock_on_postgres_is_a_busy_store_not_an_unexpected_error() {
        let Some(db) = TestDb::new(Backend::Postgres).await else {
            return;
        };
        let conn = db.db.conn();
        let ids = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
        for (n, id) in ids.iter().enumerate() {
            conn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO users (id, email, username, hashed_password, is_active, is_verified, \
                 preferences, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'x', true, false, '{}', now(), now())",
                [
                    (*id).into(),
                    format!("u{n}@example.com").into(),
                    format!("u{n}").into(),
                ],
            ))
            .await
            .unwrap();
        }
        let touch = |id: uuid::Uuid| {
            Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE users SET updated_at = now() WHERE id = $1",
                [id.into()],
            )
        };
        // Two transactions take the two rows in opposite orders: PostgreSQL breaks the cycle by
        // failing one of them with 40P01.
        let (first, second) = (conn.begin().await.unwrap(), conn.begin().await.unwrap());
        first.execute_raw(touch(ids[0])).await.unwrap();
        second.execute_raw(touch(ids[1])).await.unwrap();
        let (a, b) = tokio::join!(
            first.execute_raw(touch(ids[1])),
            second.execute_raw(touch(ids[0]))
        );
        let failed = a
            .err()
            .or(b.err())
            .expect("one of them is the deadlock's victim");
        assert!(matches!(db_err(failed), RepoError::Busy));
    }
}
