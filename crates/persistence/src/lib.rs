//! SeaORM persistence for Nestegg: the repository ports on PostgreSQL and SQLite.
//!
//! [`Db`] connects to either backend and runs the migrations; the repositories translate
//! between rows and the ports' types, and database errors into [`nestegg_ports::RepoError`]
//! by constraint name. Exact decimals go through [`codec`]: `NUMERIC` on PostgreSQL, scaled
//! `INTEGER`s on SQLite, never binary floats. Nothing outside this crate sees SeaORM or SQL.

mod accounts;
pub mod backup;
pub mod codec;
mod connections;
mod db;
mod entity;
mod error;
mod export;
mod holdings;
mod instances;
mod investments;
mod ledger;
pub mod location;
mod portfolios;
mod reports;
mod rows;
pub mod sql;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tokens;
mod transactions;
mod users;

pub use accounts::SqlAccountRepository;
pub use connections::SqlConnectionRepository;
pub use db::{BeginWaits, Db, MigrationStatus, PoolStats};
pub use export::SqlExportRepository;
pub use instances::{ClaimError, InstanceClaim, InstanceRole, SqlLoginThrottle, SqlScopeVersions};
pub use investments::SqlInvestmentRepository;
pub use location::{ConnectError, Location};
pub use portfolios::SqlPortfolioRepository;
pub use reports::SqlReportRepository;
pub use tokens::SqlRefreshTokenRepository;
pub use transactions::SqlTransactionRepository;
pub use users::SqlUserRepository;

/// Replaces `*field` with `value` when one is given: how an update applies its optional
/// changes.
fn replace_if_some<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}
