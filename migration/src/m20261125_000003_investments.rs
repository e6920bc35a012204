//! Price history per security and date, and the trades of each portfolio.
//!
//! `investments.current_price`/`price_date` stay the latest row of `investment_prices`; trades
//! are kept as history, each sell with the gain it realized. A trade keeps its security
//! (restrict); trades go with their portfolio.

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;
use crate::steps::{Steps, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

impl Steps for Migration {
    fn up(d: Dialect) -> Vec<String> {
        vec![
        d.sql(
            "CREATE TABLE investment_prices (
    id {id} NOT NULL PRIMARY KEY,
    investment_id {id} NOT NULL REFERENCES investments (id) ON DELETE CASCADE,
    date DATE NOT NULL,
    price {fine} NOT NULL,
    {audit},
    CONSTRAINT uq_investment_prices_investment_date UNIQUE (investment_id, date),
    CONSTRAINT ck_investment_prices_price_positive CHECK (price > {zero_f})
)"
        ),
        d.sql(
            "CREATE TABLE portfolio_trades (
    id {id} NOT NULL PRIMARY KEY,
    portfolio_id {id} NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    investment_id {id} NOT NULL REFERENCES investments (id) ON DELETE RESTRICT,
    side VARCHAR(4) NOT NULL,
    quantity {fine} NOT NULL,
    price {fine} NOT NULL,
    fee {money} NOT NULL DEFAULT {zero_m},
    date DATE NOT NULL,
    realized_gain {money},
    {audit},
    CONSTRAINT ck_portfolio_trades_side CHECK (side IN ('buy','sell')),
    CONSTRAINT ck_portfolio_trades_quantity_positive CHECK (quantity > {zero_f}),
    CONSTRAINT ck_portfolio_trades_price_positive CHECK (price > {zero_f}),
    CONSTRAINT ck_portfolio_trades_fee_not_negative CHECK (fee >= {zero_m})
)"
        ),
        "CREATE INDEX idx_portfolio_trades_portfolio_id ON portfolio_trades (portfolio_id, date)"
            .into(),
        "CREATE INDEX idx_portfolio_trades_investment_id ON portfolio_trades (investment_id)"
            .into(),
    ]
    }

    fn down(_: Dialect) -> Vec<String> {
        drop_tables(["portfolio_trades", "investment_prices"])
    }
}
