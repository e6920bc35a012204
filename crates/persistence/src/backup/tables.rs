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

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

const ID: Column = col("id", Kind::Uuid);
const CREATED_AT: Column = col("created_at", Kind::Timestamp);
const UPDATED_AT: Column = col("updated_at", Kind::Timestamp);
const MONEY: Kind = Kind::Decimal(Scale::Money);
const FINE: Kind = Kind::Decimal(Scale::Fine);
const PERCENT: Kind = Kind::Decimal(Scale::Percent);

/// Tables a backup leaves out: state that only matters while server instances run (cache
/// versions, login-throttle counters), rebuilt by use, not data to restore.
pub const NOT_COPIED: &[&str] = &["cache_versions", "login_throttle"];

/// Every table holding data, parents before children: restore inserts in this order and
/// deletes (with `replace`) in the reverse one, so foreign keys hold at every statement.
/// `seaql_migrations` is not data: a backup records the applied migrations in its header.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ID,
            col("email", Kind::Text),
            col("username", Kind::Text),
            col("hashed_password", Kind::Text),
            col("is_active", Kind::Boolean),
            col("is_verified", Kind::Boolean),
            col("preferences", Kind::Json),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "sessions",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("expires_at", Kind::Timestamp),
            col("revoked_at", Kind::Timestamp),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "refresh_tokens",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("family_id", Kind::Uuid),
            col("token_hash", Kind::Text),
            col("expires_at", Kind::Timestamp),
            col("used_at", Kind::Timestamp),
            col("revoked_at", Kind::Timestamp),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "plaid_connections",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("plaid_item_id", Kind::Text),
            col("access_token", Kind::Text),
            col("institution_id", Kind::Text),
            col("institution_name", Kind::Text),
            col("is_active", Kind::Boolean),
            col("last_sync_at", Kind::Timestamp),
            col("sync_status", Kind::Text),
            col("error_message", Kind::Text),
            col("sync_cursor", Kind::Text),
            CREATED_AT,
            UPDATED_AT,
            col("key_id", Kind::Text),
            col("lease_holder", Kind::Uuid),
            col("lease_until", Kind::Timestamp),
            col("sync_requested_at", Kind::Timestamp),
        ],
    },
    Table {
        name: "accounts",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("connection_id", Kind::Uuid),
            col("plaid_account_id", Kind::Text),
            col("name", Kind::Text),
            col("type", Kind::Text),
            col("institution_name", Kind::Text),
            col("current_balance", MONEY),
            col("available_balance", MONEY),
            col("currency", Kind::Text),
            CREATED_AT,
            UPDATED_AT,
            col("opening_balance", MONEY),
            col("opened_on", Kind::Date),
        ],
    },
    Table {
        name: "transactions",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("account_id", Kind::Uuid),
            col("plaid_transaction_id", Kind::Text),
            col("amount", MONEY),
            col("date", Kind::Date),
            col("description", Kind::Text),
            col("merchant_name", Kind::Text),
            col("category", Kind::Text),
            col("is_pending", Kind::Boolean),
            col("is_recurring", Kind::Boolean),
            CREATED_AT,
            UPDATED_AT,
            col("category_edited", Kind::Boolean),
        ],
    },
    Table {
        name: "transaction_history",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("transaction_id", Kind::Uuid),
            col("account_id", Kind::Uuid),
            col("action", Kind::Text),
            col("changes", Kind::Json),
            CREATED_AT,
        ],
    },
    Table {
        name: "balance_snapshots",
        columns: &[
            ID,
            col("account_id", Kind::Uuid),
            col("date", Kind::Date),
            col("balance", MONEY),
            col("available_balance", MONEY),
            col("currency", Kind::Text),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "balance_adjustments",
        columns: &[
            ID,
            col("account_id", Kind::Uuid),
            col("date", Kind::Date),
            col("amount", MONEY),
            col("balance", MONEY),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "fx_rates",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("currency", Kind::Text),
            col("base_currency", Kind::Text),
            col("rate", FINE),
            col("date", Kind::Date),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "investments",
        columns: &[
            ID,
            col("owner_user_id", Kind::Uuid),
            col("symbol", Kind::Text),
            col("name", Kind::Text),
            col("type", Kind::Text),
            col("exchange", Kind::Text),
            col("current_price", FINE),
            col("price_date", Kind::Date),
            col("market_cap", MONEY),
            col("pe_ratio", MONEY),
            col("dividend_yield", PERCENT),
            col("expense_ratio", PERCENT),
            col("sector", Kind::Text),
            col("industry", Kind::Text),
            col("country", Kind::Text),
            CREATED_AT,
            UPDATED_AT,
            col("plaid_security_id", Kind::Text),
        ],
    },
    Table {
        name: "investment_prices",
        columns: &[
            ID,
            col("investment_id", Kind::Uuid),
            col("date", Kind::Date),
            col("price", FINE),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "portfolios",
        columns: &[
            ID,
            col("user_id", Kind::Uuid),
            col("name", Kind::Text),
            col("description", Kind::Text),
            col("total_value", MONEY),
            col("currency", Kind::Text),
            col("is_default", Kind::Boolean),
            col("target_allocation", Kind::Json),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "portfolio_items",
        columns: &[
            ID,
            col("portfolio_id", Kind::Uuid),
            col("investment_id", Kind::Uuid),
            col("quantity", FINE),
            col("average_cost", FINE),
            col("current_value", MONEY),
            col("unrealized_gain_loss", MONEY),
            col("unrealized_gain_loss_percent", MONEY),
            col("target_allocation", PERCENT),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
    Table {
        name: "portfolio_trades",
        columns: &[
            ID,
            col("portfolio_id", Kind::Uuid),
            col("investment_id", Kind::Uuid),
            col("side", Kind::Text),
            col("quantity", FINE),
            col("price", FINE),
            col("fee", MONEY),
            col("date", Kind::Date),
            col("realized_gain", MONEY),
            CREATED_AT,
            UPDATED_AT,
        ],
    },
];
