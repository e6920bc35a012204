//! Transactions, their history, and their repository.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::{Money, TransactionAmount, TransactionCategory};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::account::WriteTime;
use crate::error::RepoError;

/// A stored transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Opaque id.
    pub id: Uuid,
    /// The account it belongs to.
    pub account_id: Uuid,
    /// Positive is money in, negative money out; never zero.
    pub amount: Money,
    /// The day it happened.
    pub date: NaiveDate,
    /// Description.
    pub description: String,
    /// Merchant, if known.
    pub merchant_name: Option<String>,
    /// Category.
    pub category: TransactionCategory,
    /// Not yet posted.
    pub is_pending: bool,
    /// Marked as recurring.
    pub is_recurring: bool,
    /// Plaid's id; `None` for a manual transaction.
    pub plaid_transaction_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Transaction {
    /// The fields a client sees, as JSON values, for the history's `changes`.
    #[must_use]
    pub fn fields(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("account_id".into(), json!(self.account_id.to_string()));
        map.insert("amount".into(), json!(self.amount));
        map.insert("date".into(), json!(self.date.to_string()));
        map.insert("description".into(), json!(self.description));
        map.insert("merchant_name".into(), json!(self.merchant_name));
        map.insert("category".into(), json!(self.category));
        map.insert("is_pending".into(), json!(self.is_pending));
        map.insert("is_recurring".into(), json!(self.is_recurring));
        map
    }

    /// `{field: [old, new]}` for every field that differs; `None` on a side means the
    /// transaction did not exist (created or deleted).
    #[must_use]
    pub fn diff(before: Option<&Transaction>, after: Option<&Transaction>) -> Map<String, Value> {
        let old = before.map(Transaction::fields).unwrap_or_default();
        let new = after.map(Transaction::fields).unwrap_or_default();
        let keys: Vec<&String> = old.keys().chain(new.keys()).collect();
        let mut changes = Map::new();
        for key in keys {
            let (o, n) = (old.get(key).cloned(), new.get(key).cloned());
            if o != n && !changes.contains_key(key) {
                changes.insert(
                    key.clone(),
                    json!([o.unwrap_or(Value::Null), n.unwrap_or(Value::Null)]),
                );
            }
        }
        changes
    }
}

/// A transaction to create (already validated).
#[derive(Debug, Clone)]
pub struct NewTransaction {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// Owner; the account must be theirs.
    pub user_id: Uuid,
    /// Account.
    pub account_id: Uuid,
    /// Non-zero amount.
    pub amount: TransactionAmount,
    /// Day.
    pub date: NaiveDate,
    /// Description.
    pub description: String,
    /// Merchant.
    pub merchant_name: Option<String>,
    /// Category.
    pub category: TransactionCategory,
    /// Pending.
    pub is_pending: bool,
    /// Recurring.
    pub is_recurring: bool,
}

/// Changes to a transaction (already validated); `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionUpdate {
    /// New description.
    pub description: Option<String>,
    /// New merchant (`Some(None)` clears it).
    pub merchant_name: Option<Option<String>>,
    /// New category.
    pub category: Option<TransactionCategory>,
    /// New recurring flag.
    pub is_recurring: Option<bool>,
    /// New amount (manual transactions only).
    pub amount: Option<TransactionAmount>,
    /// New date (manual transactions only).
    pub date: Option<NaiveDate>,
    /// Posted (`false`) or pending again (`true`); the balance history moves with it.
    pub is_pending: Option<bool>,
}

/// Which transactions to list, newest first (date, then id, descending).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionFilter {
    /// Only this account.
    pub account_id: Option<Uuid>,
    /// On or after.
    pub from: Option<NaiveDate>,
    /// On or before.
    pub to: Option<NaiveDate>,
    /// Only this category.
    pub category: Option<TransactionCategory>,
    /// Text found in the description or merchant, case-insensitively, as plain text.
    pub q: Option<String>,
    /// Amount at least.
    pub min_amount: Option<Money>,
    /// Amount at most.
    pub max_amount: Option<Money>,
    /// Only pending (or only posted).
    pub is_pending: Option<bool>,
    /// Start after this (date, id): the keyset cursor.
    pub after: Option<(NaiveDate, Uuid)>,
    /// Page size.
    pub limit: u32,
}

/// One page of transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionPage {
    /// The transactions.
    pub items: Vec<Transaction>,
    /// Where the next page starts, if there is one.
    pub next: Option<(NaiveDate, Uuid)>,
}

/// What happened to a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAction {
    /// Created.
    Created,
    /// Changed.
    Updated,
    /// Deleted.
    Deleted,
}

impl HistoryAction {
    /// The action's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryAction::Created => "created",
            HistoryAction::Updated => "updated",
            HistoryAction::Deleted => "deleted",
        }
    }

    /// The action named `name` (as [`HistoryAction::as_str`] writes it), if any.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Created, Self::Updated, Self::Deleted]
            .into_iter()
            .find(|a| a.as_str() == name)
    }
}

/// One entry of a transaction's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub action: HistoryAction,
    /// `{field: [old, new]}`.
    pub changes: Value,
}

/// Where transactions are kept. Every write to a manual account moves its balance (and
/// today's snapshot) in the same database transaction, and appends to the history.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TransactionRepository: Send + Sync {
    /// Stores a transaction.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the account is not the user's; [`RepoError::Rule`] when the
    /// balance would break its type's rule.
    async fn create(&self, new: NewTransaction, at: WriteTime) -> Result<Transaction, RepoError>;

    /// One of the user's transactions.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Transaction, RepoError>;

    /// A page of the user's transactions.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when `account_id` is not the user's.
    async fn list(
        &self,
        user_id: Uuid,
        filter: TransactionFilter,
    ) -> Result<TransactionPage, RepoError>;

    /// Applies `update`.
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Rule`] for a balance rule.
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: TransactionUpdate,
        at: WriteTime,
    ) -> Result<Transaction, RepoError>;

    /// Deletes a transaction.
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Rule`] for a balance rule.
    async fn delete(&self, user_id: Uuid, id: Uuid, at: WriteTime) -> Result<(), RepoError>;

    /// The transaction's history, oldest first (kept after it is deleted).
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the user has no history for that id.
    async fn history(&self, user_id: Uuid, id: Uuid) -> Result<Vec<HistoryEntry>, RepoError>;
}
