//! The initial schema: every table, index, unique, foreign key and check of the seed schema,
//! with exact decimals, plus refresh tokens and the transaction history.
//!
//! Foreign keys cascade from `users` (deleting a user removes everything the user owns) and
//! restrict on financial history: a transaction keeps its account, a portfolio item its
//! security. Because a restriction is checked as soon as its parent row goes, deleting a user
//! first removes the restricted rows (transactions, portfolio items) itself, in the same
//! transaction (see the persistence crate's `SqlUserRepository::delete`).

use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;
use crate::steps::{Steps, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

const ACCOUNT_TYPES: &str =
    "'checking','savings','credit_card','investment','retirement','loan','mortgage','other'";
const CATEGORIES: &str = "'food_and_drink','shopping','transportation','travel','entertainment',\
    'health_and_fitness','home_improvement','personal_care','education','business_services',\
    'government_services','transfer','payment','income','investment','other'";
const INVESTMENT_TYPES: &str = "'stock','bond','etf','mutual_fund','option','future','crypto',\
    'commodity','real_estate','other'";

/// [`Dialect::sql`] of `template`, with the lists of allowed values filled in too.
fn sql(d: Dialect, template: &str) -> String {
    d.sql(template)
        .replace("{ACCOUNT_TYPES}", ACCOUNT_TYPES)
        .replace("{CATEGORIES}", CATEGORIES)
        .replace("{INVESTMENT_TYPES}", INVESTMENT_TYPES)
}

/// Tables in creation order; `down` drops them in reverse.
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

impl Steps for Migration {
    fn up(d: Dialect) -> Vec<String> {
        vec![
        sql(
            d,
            "CREATE TABLE users (
    id {id} NOT NULL PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    username VARCHAR(32) NOT NULL,
    hashed_password VARCHAR(255) NOT NULL,
    is_active {b} NOT NULL DEFAULT {t},
    is_verified {b} NOT NULL DEFAULT {f},
    preferences {json} NOT NULL,
    {audit},
    CONSTRAINT uq_users_email UNIQUE (email),
    CONSTRAINT uq_users_username UNIQUE (username)
)"
        ),
        sql(
            d,
            "CREATE TABLE refresh_tokens (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id {id} NOT NULL,
    token_hash VARCHAR(64) NOT NULL,
    expires_at {ts} NOT NULL,
    used_at {ts},
    revoked_at {ts},
    {audit},
    CONSTRAINT uq_refresh_tokens_token_hash UNIQUE (token_hash)
)"
        ),
        "CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens (user_id)".into(),
        "CREATE INDEX idx_refresh_tokens_family_id ON refresh_tokens (family_id)".into(),
        sql(
            d,
            "CREATE TABLE plaid_connections (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plaid_item_id VARCHAR(255) NOT NULL,
    access_token TEXT NOT NULL,
    institution_id VARCHAR(255),
    institution_name VARCHAR(255),
    is_active {b} NOT NULL DEFAULT {t},
    last_sync_at {ts},
    sync_status VARCHAR(32) NOT NULL DEFAULT 'pending',
    error_message TEXT,
    sync_cursor TEXT,
    {audit},
    CONSTRAINT uq_plaid_connections_plaid_item_id UNIQUE (plaid_item_id),
    CONSTRAINT ck_plaid_connections_sync_status
        CHECK (sync_status IN ('pending','syncing','synced','error'))
)"
        ),
        "CREATE INDEX idx_plaid_connections_user_id ON plaid_connections (user_id)".into(),
        sql(
            d,
            "CREATE TABLE accounts (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id {id} REFERENCES plaid_connections (id) ON DELETE SET NULL,
    plaid_account_id VARCHAR(255),
    name VARCHAR(255) NOT NULL,
    type VARCHAR(32) NOT NULL,
    institution_name VARCHAR(255),
    current_balance {money} NOT NULL DEFAULT {zero_m},
    available_balance {money},
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    {audit},
    CONSTRAINT uq_accounts_plaid_account_id UNIQUE (plaid_account_id),
    CONSTRAINT uq_accounts_id_user UNIQUE (id, user_id),
    CONSTRAINT ck_accounts_type CHECK (type IN ({ACCOUNT_TYPES})),
    CONSTRAINT ck_accounts_balance_not_negative
        CHECK (current_balance >= {zero_m} OR type = 'credit_card')
)"
        ),
        "CREATE INDEX idx_accounts_user_id ON accounts (user_id)".into(),
        "CREATE INDEX idx_accounts_plaid_account_id ON accounts (plaid_account_id)".into(),
        "CREATE INDEX idx_accounts_connection_id ON accounts (connection_id)".into(),
        sql(
            d,
            "CREATE TABLE transactions (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id {id} NOT NULL,
    plaid_transaction_id VARCHAR(255),
    amount {money} NOT NULL,
    date DATE NOT NULL,
    description VARCHAR(500) NOT NULL,
    merchant_name VARCHAR(255),
    category VARCHAR(32) NOT NULL DEFAULT 'other',
    is_pending {b} NOT NULL DEFAULT {f},
    is_recurring {b} NOT NULL DEFAULT {f},
    {audit},
    CONSTRAINT uq_transactions_plaid_transaction_id UNIQUE (plaid_transaction_id),
    -- The account must be the same user's: the owner is part of the key.
    CONSTRAINT fk_transactions_account FOREIGN KEY (account_id, user_id)
        REFERENCES accounts (id, user_id) ON DELETE RESTRICT,
    CONSTRAINT ck_transactions_amount_not_zero CHECK (amount <> {zero_m}),
    CONSTRAINT ck_transactions_category CHECK (category IN ({CATEGORIES}))
)"
        ),
        // Keyset pagination walks (date DESC, id DESC) per user and per account.
        "CREATE INDEX idx_transactions_user_date_id ON transactions (user_id, date DESC, id DESC)"
            .into(),
        "CREATE INDEX idx_transactions_account_id ON transactions (account_id, date DESC, id DESC)"
            .into(),
        "CREATE INDEX idx_transactions_date ON transactions (date)".into(),
        "CREATE INDEX idx_transactions_plaid_transaction_id ON transactions (plaid_transaction_id)"
            .into(),
        sql(
            d,
            "CREATE TABLE transaction_history (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    transaction_id {id} NOT NULL,
    account_id {id} NOT NULL,
    action VARCHAR(16) NOT NULL,
    changes {json} NOT NULL,
    -- Append-only: rows are never updated, so there is no updated_at.
    created_at {ts} NOT NULL,
    CONSTRAINT ck_transaction_history_action CHECK (action IN ('created','updated','deleted'))
)"
        ),
        "CREATE INDEX idx_transaction_history_transaction_id \
             ON transaction_history (transaction_id, created_at)"
            .into(),
        "CREATE INDEX idx_transaction_history_user_id ON transaction_history (user_id)".into(),
        sql(
            d,
            "CREATE TABLE balance_snapshots (
    id {id} NOT NULL PRIMARY KEY,
    account_id {id} NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    date DATE NOT NULL,
    balance {money} NOT NULL,
    available_balance {money},
    currency VARCHAR(3) NOT NULL,
    {audit},
    CONSTRAINT uq_balance_snapshots_account_date UNIQUE (account_id, date)
)"
        ),
        "CREATE INDEX idx_balance_snapshots_account_id ON balance_snapshots (account_id)".into(),
        "CREATE INDEX idx_balance_snapshots_date ON balance_snapshots (date)".into(),
        sql(
            d,
            "CREATE TABLE investments (
    id {id} NOT NULL PRIMARY KEY,
    owner_user_id {id} REFERENCES users (id) ON DELETE CASCADE,
    symbol VARCHAR(20) NOT NULL,
    name VARCHAR(255) NOT NULL,
    type VARCHAR(32) NOT NULL,
    exchange VARCHAR(64),
    current_price {fine},
    price_date DATE,
    market_cap {money},
    pe_ratio {money},
    dividend_yield {pct},
    expense_ratio {pct},
    sector VARCHAR(128),
    industry VARCHAR(128),
    country VARCHAR(64),
    {audit},
    CONSTRAINT ck_investments_type CHECK (type IN ({INVESTMENT_TYPES})),
    CONSTRAINT ck_investments_price_positive CHECK (current_price IS NULL OR current_price > {zero_f}),
    CONSTRAINT ck_investments_dividend_yield
        CHECK (dividend_yield IS NULL OR dividend_yield BETWEEN {zero_p} AND {hundred_p}),
    CONSTRAINT ck_investments_expense_ratio
        CHECK (expense_ratio IS NULL OR expense_ratio BETWEEN {zero_p} AND {hundred_p})
)"
        ),
        "CREATE INDEX idx_investments_symbol ON investments (symbol)".into(),
        "CREATE INDEX idx_investments_owner_user_id ON investments (owner_user_id)".into(),
        sql(
            d,
            "CREATE TABLE portfolios (
    id {id} NOT NULL PRIMARY KEY,
    user_id {id} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    total_value {money} NOT NULL DEFAULT {zero_m},
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    is_default {b} NOT NULL DEFAULT {f},
    target_allocation {json} NOT NULL,
    {audit}
)"
        ),
        "CREATE INDEX idx_portfolios_user_id ON portfolios (user_id)".into(),
        // At most one default portfolio per user, enforced by the database.
        sql(
            d,
            "CREATE UNIQUE INDEX uq_portfolios_one_default_per_user \
                 ON portfolios (user_id) WHERE is_default = {t}"
        ),
        sql(
            d,
            "CREATE TABLE portfolio_items (
    id {id} NOT NULL PRIMARY KEY,
    portfolio_id {id} NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    investment_id {id} NOT NULL REFERENCES investments (id) ON DELETE RESTRICT,
    quantity {fine} NOT NULL,
    average_cost {fine} NOT NULL,
    current_value {money},
    unrealized_gain_loss {money},
    unrealized_gain_loss_percent {money},
    target_allocation {pct},
    {audit},
    CONSTRAINT uq_portfolio_items_portfolio_investment UNIQUE (portfolio_id, investment_id),
    CONSTRAINT ck_portfolio_items_quantity_positive CHECK (quantity > {zero_f}),
    CONSTRAINT ck_portfolio_items_average_cost_not_negative CHECK (average_cost >= {zero_f}),
    CONSTRAINT ck_portfolio_items_target_allocation
        CHECK (target_allocation IS NULL OR target_allocation BETWEEN {zero_p} AND {hundred_p})
)"
        ),
        "CREATE INDEX idx_portfolio_items_portfolio_id ON portfolio_items (portfolio_id)".into(),
        "CREATE INDEX idx_portfolio_items_investment_id ON portfolio_items (investment_id)".into(),
    ]
    }

    fn down(_: Dialect) -> Vec<String> {
        drop_tables(TABLES.iter().rev().copied())
    }
}
