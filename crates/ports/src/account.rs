//! Accounts, their balance snapshots, and their repository.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::{AccountName, AccountType, CurrencyCode, Money};
use uuid::Uuid;

use crate::error::RepoError;

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Opaque id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Display name.
    pub name: String,
    /// Type, which decides the class.
    pub account_type: AccountType,
    /// Institution, if known.
    pub institution_name: Option<String>,
    /// Current balance (for a liability, what is owed): the balance on the latest date of the
    /// ledger, i.e. the opening balance plus every posted transaction's effect plus every
    /// adjustment.
    pub current_balance: Money,
    /// The balance before the account's first transaction, counted from `opened_on`.
    pub opening_balance: Money,
    /// The day the account's history starts; it counts as 0 before.
    pub opened_on: NaiveDate,
    /// Available balance, where the institution reports one.
    pub available_balance: Option<Money>,
    /// Currency.
    pub currency: CurrencyCode,
    /// Plaid's id; `None` for a manual account.
    pub plaid_account_id: Option<String>,
    /// The Plaid connection, if linked.
    pub connection_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Account {
    /// Whether no Plaid account is behind it.
    #[must_use]
    pub fn is_manual(&self) -> bool {
        self.plaid_account_id.is_none()
    }
}

/// An account to create (already validated).
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Name.
    pub name: AccountName,
    /// Type.
    pub account_type: AccountType,
    /// Institution.
    pub institution_name: Option<String>,
    /// Opening balance (checked against the type's rule): the balance before the first
    /// transaction.
    pub current_balance: Money,
    /// Available balance.
    pub available_balance: Option<Money>,
    /// Currency.
    pub currency: CurrencyCode,
    /// The day its history starts; today when `None`.
    pub opened_on: Option<NaiveDate>,
}

/// Changes to an account (already validated); `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    /// New name.
    pub name: Option<AccountName>,
    /// New institution (`Some(None)` clears it).
    pub institution_name: Option<Option<String>>,
    /// A reconciliation: the balance the account had on `as_of` (checked against the type's
    /// rule); the difference to the ledger is recorded as an adjustment on that day.
    pub current_balance: Option<Money>,
    /// The day of `current_balance`; today when `None`.
    pub as_of: Option<NaiveDate>,
    /// New available balance (`Some(None)` clears it).
    pub available_balance: Option<Option<Money>>,
    /// New opening date: not after the first transaction, nor after today.
    pub opened_on: Option<NaiveDate>,
}

/// A balance adjustment: a reconciliation that stepped the ledger on `date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// Opaque id.
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The day it counts from.
    pub date: NaiveDate,
    /// What it added to the balance.
    pub amount: Money,
    /// The balance stated for that day.
    pub balance: Money,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// An account's balance on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The day.
    pub date: NaiveDate,
    /// Balance that day.
    pub balance: Money,
    /// Available balance that day.
    pub available_balance: Option<Money>,
    /// Currency.
    pub currency: CurrencyCode,
}

/// When a write happens: the time stamped on rows and the day its snapshot belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteTime {
    /// Now.
    pub now: DateTime<Utc>,
    /// Today (the snapshot date).
    pub today: NaiveDate,
}

/// Where accounts are kept. Every method is scoped to `user_id`: another user's account is
/// [`RepoError::NotFound`], never visible.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AccountRepository: Send + Sync {
    /// Stores an account, its opening balance on its opening date and that first snapshot
    /// point, in one transaction.
    ///
    /// # Errors
    /// Store failures.
    async fn create(&self, account: NewAccount, at: WriteTime) -> Result<Account, RepoError>;

    /// The user's accounts, by name.
    ///
    /// # Errors
    /// Store failures.
    async fn list(&self, user_id: Uuid) -> Result<Vec<Account>, RepoError>;

    /// One of the user's accounts.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when it does not exist or is another user's.
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Account, RepoError>;

    /// Applies `update` in one transaction: a reconciled balance becomes an adjustment on its
    /// day, a new opening date moves the opening balance, and every later snapshot point moves
    /// with them.
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Rule`] when the new balance breaks the type's rule,
    /// when `as_of` is before the opening date, or when the opening date would follow the first
    /// transaction.
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: AccountUpdate,
        at: WriteTime,
    ) -> Result<Account, RepoError>;

    /// Deletes an account without transactions (its snapshots go with it).
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Conflict`] ([`crate::Conflict::AccountHasTransactions`]), deleting
    /// nothing.
    async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), RepoError>;

    /// The account's adjustments, oldest first.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for another user's or a missing account.
    async fn adjustments(&self, user_id: Uuid, id: Uuid) -> Result<Vec<Adjustment>, RepoError>;

    /// The account's balance points from `from` to `to` (inclusive), by date: one per date
    /// where its balance changed.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for another user's or a missing account.
    async fn snapshots(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Snapshot>, RepoError>;
}
