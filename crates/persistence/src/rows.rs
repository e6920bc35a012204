//! Reading rows into the ports' types, the same on both backends.

use nestegg_domain::{AccountType, CurrencyCode, DomainError, Money, TransactionCategory};
use nestegg_ports::{Account, RepoError, Transaction};
use rust_decimal::Decimal;
use sea_orm::{DbBackend, QueryResult, TryGetable};

use crate::codec::{self, Scale};

/// Columns of `accounts`, in the order [`account`] reads them.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, user_id, name, type, institution_name, \
    current_balance, available_balance, currency, plaid_account_id, connection_id, created_at, \
    updated_at";

/// Columns of `transactions`, in the order [`transaction`] reads them.
pub(crate) const TRANSACTION_COLUMNS: &str = "id, account_id, amount, date, description, \
    merchant_name, category, is_pending, is_recurring, plaid_transaction_id, created_at, \
    updated_at";

pub(crate) fn corrupt(what: &str) -> RepoError {
    RepoError::Unexpected(anyhow::anyhow!("stored {what} is invalid"))
}

pub(crate) fn get<T: TryGetable>(row: &QueryResult, column: &str) -> Result<T, RepoError> {
    row.try_get("", column)
        .map_err(|e| RepoError::Unexpected(anyhow::anyhow!("reading {column}: {e}")))
}

/// Reads a decimal column into a domain kind (`Price::new`, `Quantity::new`, ...); a stored
/// value the kind refuses is corruption, not the client's fault.
pub(crate) fn kind<T>(
    b: DbBackend,
    row: &QueryResult,
    column: &str,
    scale: Scale,
    make: impl Fn(Decimal) -> Result<T, DomainError>,
) -> Result<T, RepoError> {
    make(codec::decode(b, row, column, scale)?).map_err(|_| corrupt(column))
}

/// [`kind`] for a nullable column.
pub(crate) fn kind_opt<T>(
    b: DbBackend,
    row: &QueryResult,
    column: &str,
    scale: Scale,
    make: impl Fn(Decimal) -> Result<T, DomainError>,
) -> Result<Option<T>, RepoError> {
    codec::decode_opt(b, row, column, scale)?
        .map(|d| make(d).map_err(|_| corrupt(column)))
        .transpose()
}

pub(crate) fn money(b: DbBackend, row: &QueryResult, column: &str) -> Result<Money, RepoError> {
    kind(b, row, column, Scale::Money, Money::new)
}

pub(crate) fn money_opt(
    b: DbBackend,
    row: &QueryResult,
    column: &str,
) -> Result<Option<Money>, RepoError> {
    kind_opt(b, row, column, Scale::Money, Money::new)
}

pub(crate) fn currency(row: &QueryResult, column: &str) -> Result<CurrencyCode, RepoError> {
    CurrencyCode::parse(&get::<String>(row, column)?).map_err(|_| corrupt(column))
}

pub(crate) fn account(b: DbBackend, row: &QueryResult) -> Result<Account, RepoError> {
    Ok(Account {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        account_type: AccountType::parse(&get::<String>(row, "type")?)
            .map_err(|_| corrupt("account type"))?,
        institution_name: get(row, "institution_name")?,
        current_balance: money(b, row, "current_balance")?,
        available_balance: money_opt(b, row, "available_balance")?,
        currency: currency(row, "currency")?,
        plaid_account_id: get(row, "plaid_account_id")?,
        connection_id: get(row, "connection_id")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn transaction(b: DbBackend, row: &QueryResult) -> Result<Transaction, RepoError> {
    Ok(Transaction {
        id: get(row, "id")?,
        account_id: get(row, "account_id")?,
        amount: money(b, row, "amount")?,
        date: get(row, "date")?,
        description: get(row, "description")?,
        merchant_name: get(row, "merchant_name")?,
        category: TransactionCategory::parse(&get::<String>(row, "category")?)
            .map_err(|_| corrupt("category"))?,
        is_pending: get(row, "is_pending")?,
        is_recurring: get(row, "is_recurring")?,
        plaid_transaction_id: get(row, "plaid_transaction_id")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}
