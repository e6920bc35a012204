//! Reading rows into the ports' types, the same on both backends.

use nestegg_domain::{
    AccountType, CurrencyCode, DomainError, Money, Price, Rate, TransactionCategory,
};
use nestegg_ports::{
    Account, Adjustment, FxRate, HistoryAction, HistoryEntry, PricePoint, RepoError, Snapshot,
    Transaction,
};
use rust_decimal::Decimal;
use sea_orm::{DbBackend, FromQueryResult, QueryResult, TryGetable};

use crate::codec::{self, Scale};

/// Columns of `accounts`, in the order [`account`] reads them.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, user_id, name, type, institution_name, \
    current_balance, opening_balance, opened_on, available_balance, currency, plaid_account_id, \
    connection_id, created_at, updated_at";

/// Columns of `transactions`, in the order [`transaction`] reads them.
pub(crate) const TRANSACTION_COLUMNS: &str = "id, account_id, amount, date, description, \
    merchant_name, category, is_pending, is_recurring, plaid_transaction_id, created_at, \
    updated_at";

/// A table whose rows belong to a user (it has `id` and `user_id`): its name, the columns
/// read and their reader, so that a get, a locked read and a list select alike.
#[derive(Debug)]
pub(crate) struct Owned<T> {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static str,
    pub(crate) read: fn(&Row) -> Result<T, RepoError>,
}

pub(crate) const ACCOUNTS: Owned<Account> = Owned {
    name: "accounts",
    columns: ACCOUNT_COLUMNS,
    read: account,
};

pub(crate) const TRANSACTIONS: Owned<Transaction> = Owned {
    name: "transactions",
    columns: TRANSACTION_COLUMNS,
    read: transaction,
};

pub(crate) fn corrupt(what: &str) -> RepoError {
    RepoError::Unexpected(anyhow::anyhow!("stored {what} is invalid"))
}

/// A row read through [`crate::sql::Sql`], knowing its backend, so that decimal columns
/// decode the way they were encoded.
#[derive(Debug)]
pub(crate) struct Row {
    row: QueryResult,
    backend: DbBackend,
}

impl Row {
    pub(crate) fn new(row: QueryResult, backend: DbBackend) -> Self {
        Self { row, backend }
    }

    pub(crate) fn get<T: TryGetable>(&self, column: &str) -> Result<T, RepoError> {
        self.row
            .try_get("", column)
            .map_err(|e| RepoError::Unexpected(anyhow::anyhow!("reading {column}: {e}")))
    }

    /// A text column parsed into a domain type; text it refuses is corruption.
    pub(crate) fn parsed<T, E>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, RepoError> {
        parse(&self.get::<String>(column)?).map_err(|_| corrupt(column))
    }

    /// A decimal column (or a `SUM` of one) of `scale`.
    pub(crate) fn decimal(&self, column: &str, scale: Scale) -> Result<Decimal, RepoError> {
        codec::decode(self.backend, &self.row, column, scale)
    }

    /// A nullable decimal column.
    pub(crate) fn decimal_opt(
        &self,
        column: &str,
        scale: Scale,
    ) -> Result<Option<Decimal>, RepoError> {
        codec::decode_opt(self.backend, &self.row, column, scale)
    }

    /// A decimal column as a domain kind (`Price::new`, `Quantity::new`, ...); a stored value
    /// the kind refuses is corruption, not the client's fault.
    pub(crate) fn kind<T>(
        &self,
        column: &str,
        scale: Scale,
        make: impl Fn(Decimal) -> Result<T, DomainError>,
    ) -> Result<T, RepoError> {
        make(self.decimal(column, scale)?).map_err(|_| corrupt(column))
    }

    /// [`Self::kind`] for a nullable column.
    pub(crate) fn kind_opt<T>(
        &self,
        column: &str,
        scale: Scale,
        make: impl Fn(Decimal) -> Result<T, DomainError>,
    ) -> Result<Option<T>, RepoError> {
        self.decimal_opt(column, scale)?
            .map(|d| make(d).map_err(|_| corrupt(column)))
            .transpose()
    }

    pub(crate) fn money(&self, column: &str) -> Result<Money, RepoError> {
        self.kind(column, Scale::Money, Money::new)
    }

    pub(crate) fn money_opt(&self, column: &str) -> Result<Option<Money>, RepoError> {
        self.kind_opt(column, Scale::Money, Money::new)
    }

    pub(crate) fn currency(&self, column: &str) -> Result<CurrencyCode, RepoError> {
        self.parsed(column, CurrencyCode::parse)
    }

    /// The row as a SeaORM entity's model.
    pub(crate) fn model<M: FromQueryResult>(&self) -> Result<M, RepoError> {
        M::from_query_result(&self.row, "")
            .map_err(|e| RepoError::Unexpected(anyhow::anyhow!("reading a row: {e}")))
    }
}

/// A struct read from `row`: a bare `field` is `row.get("field")?`, the column of its own
/// name; `field: value` is taken as written. Fields are read in the order given.
macro_rules! from_row {
    ($row:ident => $($ty:ident)::+ { $($field:ident $(: $value:expr)?),+ $(,)? }) => {
        $($ty)::+ { $($field: from_row!(@value $row, $field $(, $value)?)),+ }
    };
    (@value $row:ident, $field:ident) => {
        $row.get(stringify!($field))?
    };
    (@value $row:ident, $field:ident, $value:expr) => {
        $value
    };
}
pub(crate) use from_row;

pub(crate) fn account(row: &Row) -> Result<Account, RepoError> {
    Ok(from_row!(row => Account {
        id, user_id, name,
        account_type: row.parsed("type", AccountType::parse)?,
        institution_name,
        current_balance: row.money("current_balance")?,
        opening_balance: row.money("opening_balance")?,
        opened_on,
        available_balance: row.money_opt("available_balance")?,
        currency: row.currency("currency")?,
        plaid_account_id, connection_id, created_at, updated_at,
    }))
}

pub(crate) fn transaction(row: &Row) -> Result<Transaction, RepoError> {
    Ok(from_row!(row => Transaction {
        id, account_id,
        amount: row.money("amount")?,
        date, description, merchant_name,
        category: row.parsed("category", TransactionCategory::parse)?,
        is_pending, is_recurring, plaid_transaction_id, created_at, updated_at,
    }))
}

/// A reconciliation, from `id, account_id, date, amount, balance, created_at`.
pub(crate) fn adjustment(row: &Row) -> Result<Adjustment, RepoError> {
    Ok(from_row!(row => Adjustment {
        id, account_id, date,
        amount: row.money("amount")?,
        balance: row.money("balance")?,
        created_at,
    }))
}

/// A balance point, from `date, balance, available_balance, currency`.
pub(crate) fn snapshot(row: &Row) -> Result<Snapshot, RepoError> {
    Ok(from_row!(row => Snapshot {
        date,
        balance: row.money("balance")?,
        available_balance: row.money_opt("available_balance")?,
        currency: row.currency("currency")?,
    }))
}

/// An exchange rate, from `currency, base_currency, rate, date, updated_at`.
pub(crate) fn fx_rate(row: &Row) -> Result<FxRate, RepoError> {
    Ok(from_row!(row => FxRate {
        currency: row.currency("currency")?,
        base_currency: row.currency("base_currency")?,
        rate: row.kind("rate", Scale::Fine, Rate::new)?,
        date, updated_at,
    }))
}

/// A security's price on a date, from `date, price`.
pub(crate) fn price_point(row: &Row) -> Result<PricePoint, RepoError> {
    Ok(from_row!(row => PricePoint {
        date,
        price: row.kind("price", Scale::Fine, Price::new)?,
    }))
}

/// A change to a transaction, from `created_at, action, changes`.
pub(crate) fn history_entry(row: &Row) -> Result<HistoryEntry, RepoError> {
    let action = HistoryAction::parse(&row.get::<String>("action")?)
        .ok_or_else(|| corrupt("history action"))?;
    Ok(HistoryEntry {
        at: row.get("created_at")?,
        action,
        changes: row.get("changes")?,
    })
}
