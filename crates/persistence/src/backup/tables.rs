//! Every table a backup copies, with every column and its kind: the one description of the
//! schema's data that backup and restore read. A test compares it with the migrated
//! database's catalogue on both backends, so a migration that adds a table or a column fails
//! until it is described here.

use crate::codec::Scale;

/// How a column's values are stored, and so read, bound and written to a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An id: `UUID` on PostgreSQL, a 16-byte `BLOB` on SQLite.
    Uuid,
    /// Text.
    Text,
    /// A boolean: `BOOLEAN` on PostgreSQL, 0 or 1 on SQLite.
    Boolean,
    /// A calendar date.
    Date,
    /// A UTC instant: `TIMESTAMPTZ` on PostgreSQL, RFC 3339 text on SQLite.
    Timestamp,
    /// An exact decimal of this scale: `NUMERIC(18, s)` on PostgreSQL, a scaled `INTEGER` on
    /// SQLite (see [`crate::codec`]).
    Decimal(Scale),
    /// A JSON document: `JSONB` on PostgreSQL, text on SQLite.
    Json,
}

impl Kind {
    /// The kind's name in a backup file.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Uuid => "uuid",
            Kind::Text => "text",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Timestamp => "timestamp",
            Kind::Decimal(scale) if scale.places() == 8 => "decimal(8)",
            Kind::Decimal(_) => "decimal(4)",
            Kind::Json => "json",
        }
    }
}

/// A column: its name and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: &'static str,
    /// How its values are stored.
    pub kind: Kind,
}

/// A table: its name and columns, in the schema's order. Its first column is its primary
/// key, `id`, a UUID: rows are read and checksummed in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Every column, in the order the migrations created them.
    pub columns: &'static [Column],
}

impl Table {
    /// The column names, comma-separated, for a `SELECT` or an `INSERT`.
    pub(crate) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A column's kind as the table list below names it.
macro_rules! kind {
    (uuid) => {
        Kind::Uuid
    };
    (text) => {
        Kind::Text
    };
    (boolean) => {
        Kind::Boolean
    };
    (date) => {
        Kind::Date
    };
    (timestamp) => {
        Kind::Timestamp
    };
    (money) => {
        Kind::Decimal(Scale::Money)
    };
    (fine) => {
        Kind::Decimal(Scale::Fine)
    };
    (percent) => {
        Kind::Decimal(Scale::Percent)
    };
    (json) => {
        Kind::Json
    };
}

/// Tables written as `name: column kind, ...;`, so that each reads like its schema.
macro_rules! tables {
    ($($table:ident: $($column:ident $kind:ident),+;)+) => {
        &[$(Table {
            name: stringify!($table),
            columns: &[$(Column { name: stringify!($column), kind: kind!($kind) }),+],
        }),+]
    };
}

/// Tables a backup leaves out: state that only matters while server instances run (cache
/// versions, login-throttle counters), rebuilt by use, not data to restore.
pub const NOT_COPIED: &[&str] = &["cache_versions", "login_throttle"];

/// Every table holding data, parents before children: restore inserts in this order and
/// deletes (with `replace`) in the reverse one, so foreign keys hold at every statement.
/// `seaql_migrations` is not data: a backup records the applied migrations in its header.
pub const TABLES: &[Table] = tables! {
    users: id uuid, email text, username text, hashed_password text, is_active boolean,
        is_verified boolean, preferences json, created_at timestamp, updated_at timestamp;
    sessions: id uuid, user_id uuid, expires_at timestamp, revoked_at timestamp,
        created_at timestamp, updated_at timestamp;
    refresh_tokens: id uuid, user_id uuid, family_id uuid, token_hash text, expires_at timestamp,
        used_at timestamp, revoked_at timestamp, created_at timestamp, updated_at timestamp;
    plaid_connections: id uuid, user_id uuid, plaid_item_id text, access_token text,
        institution_id text, institution_name text, is_active boolean, last_sync_at timestamp,
        sync_status text, error_message text, sync_cursor text, created_at timestamp,
        updated_at timestamp, key_id text, lease_holder uuid, lease_until timestamp,
        sync_requested_at timestamp;
    accounts: id uuid, user_id uuid, connection_id uuid, plaid_account_id text, name text,
        type text, institution_name text, current_balance money, available_balance money,
        currency text, created_at timestamp, updated_at timestamp, opening_balance money,
        opened_on date;
    transactions: id uuid, user_id uuid, account_id uuid, plaid_transaction_id text, amount money,
        date date, description text, merchant_name text, category text, is_pending boolean,
        is_recurring boolean, created_at timestamp, updated_at timestamp, category_edited boolean;
    transaction_history: id uuid, user_id uuid, transaction_id uuid, account_id uuid, action text,
        changes json, created_at timestamp;
    balance_snapshots: id uuid, account_id uuid, date date, balance money, available_balance money,
        currency text, created_at timestamp, updated_at timestamp;
    balance_adjustments: id uuid, account_id uuid, date date, amount money, balance money,
        created_at timestamp, updated_at timestamp;
    fx_rates: id uuid, user_id uuid, currency text, base_currency text, rate fine, date date,
        created_at timestamp, updated_at timestamp;
    investments: id uuid, owner_user_id uuid, symbol text, name text, type text, exchange text,
        current_price fine, price_date date, market_cap money, pe_ratio money,
        dividend_yield percent, expense_ratio percent, sector text, industry text, country text,
        created_at timestamp, updated_at timestamp, plaid_security_id text;
    investment_prices: id uuid, investment_id uuid, date date, price fine, created_at timestamp,
        updated_at timestamp;
    portfolios: id uuid, user_id uuid, name text, description text, total_value money,
        currency text, is_default boolean, target_allocation json, created_at timestamp,
        updated_at timestamp;
    portfolio_items: id uuid, portfolio_id uuid, investment_id uuid, quantity fine,
        average_cost fine, current_value money, unrealized_gain_loss money,
        unrealized_gain_loss_percent money, target_allocation percent, created_at timestamp,
        updated_at timestamp;
    portfolio_trades: id uuid, portfolio_id uuid, investment_id uuid, side text, quantity fine,
        price fine, fee money, date date, realized_gain money, created_at timestamp,
        updated_at timestamp;
};
