//! Exchange rates a user keeps: one per user, currency, base currency and date.
//!
//! A rate says what one unit of `currency` is worth in `base_currency` on `date`. Keeping the
//! base with the rate means a change of the user's base currency never silently reuses rates
//! that were meant for another base.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;
use crate::steps::{Steps, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

impl Steps for Migration {
    fn up(d: Dialect) -> Vec<String> {
        vec![d.sql(
            "CREATE TABLE fx_rates (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    currency VARCHAR(3) NOT NULL,
    base_currency VARCHAR(3) NOT NULL,
    rate {fine} NOT NULL,
    date DATE NOT NULL,
    {audit},
    CONSTRAINT uq_fx_rates_user_currency_base_date UNIQUE (user_id, currency, base_currency, date),
    CONSTRAINT ck_fx_rates_rate_positive CHECK (rate > {zero_f})
)",
        )]
    }

    fn down(_: Dialect) -> Vec<String> {
        drop_tables(["fx_rates"])
    }
}
