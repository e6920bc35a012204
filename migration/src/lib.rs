//! Nestegg's schema, as sea-orm-migration migrations for PostgreSQL and SQLite.
//!
//! Exact decimals are `NUMERIC` on PostgreSQL and scaled `INTEGER`s on SQLite (see
//! [`dialect::Scale`]), so sums and comparisons in SQL stay exact on both. Every migration has
//! a working `down`. This crate must not depend on any Nestegg crate: the schema stands alone.

pub use sea_orm_migration::prelude::*;

pub mod dialect;
mod m20261125_000001_initial;
mod m20261125_000002_fx_rates;
mod m20261125_000003_investments;
mod m20261126_000004_ledger;
mod m20261127_000005_plaid_sync;
mod m20261128_000006_sessions;
mod m20261129_000007_export_order;
mod m20261130_000008_instances;
mod steps;

use steps::Run;

/// The source text of every migration, so that tests can tell when a cached, migrated
/// template database is stale even though no migration name changed.
pub const SOURCES: &[&str] = &[
    include_str!("dialect.rs"),
    include_str!("m20261125_000001_initial.rs"),
    include_str!("m20261125_000002_fx_rates.rs"),
    include_str!("m20261125_000003_investments.rs"),
    include_str!("m20261126_000004_ledger.rs"),
    include_str!("m20261127_000005_plaid_sync.rs"),
    include_str!("m20261128_000006_sessions.rs"),
    include_str!("m20261129_000007_export_order.rs"),
    include_str!("m20261130_000008_instances.rs"),
    include_str!("steps.rs"),
];

/// All migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Run(m20261125_000001_initial::Migration)),
            Box::new(Run(m20261125_000002_fx_rates::Migration)),
            Box::new(Run(m20261125_000003_investments::Migration)),
            Box::new(Run(m20261126_000004_ledger::Migration)),
            Box::new(Run(m20261127_000005_plaid_sync::Migration)),
            Box::new(Run(m20261128_000006_sessions::Migration)),
            Box::new(Run(m20261129_000007_export_order::Migration)),
            Box::new(Run(m20261130_000008_instances::Migration)),
        ]
    }
}
