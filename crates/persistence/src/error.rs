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
            other => RepoError::Unexpected(anyhow::Error::new(other)),
        },
    }
}
