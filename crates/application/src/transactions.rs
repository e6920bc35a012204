//! Recording, searching and correcting transactions.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use nestegg_domain::{Money, TransactionAmount, TransactionCategory, report, text};
use nestegg_ports::{
    Clock, HistoryEntry, NewTransaction, Transaction, TransactionFilter, TransactionPage,
    TransactionRepository, TransactionUpdate,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounts::{not_found, write_time};
use crate::cache::ReportCache;
use crate::error::{AppError, FieldErrors, valid};

/// A new transaction, unvalidated.
#[derive(Debug, Clone)]
pub struct TransactionInput {
    /// The account (must be the user's).
    pub account_id: Uuid,
    /// Signed amount.
    pub amount: Decimal,
    /// Day.
    pub date: NaiveDate,
    /// Description.
    pub description: String,
    /// Merchant.
    pub merchant_name: Option<String>,
    /// Category name; `other` when absent.
    pub category: Option<String>,
    /// Pending; false when absent.
    pub is_pending: Option<bool>,
    /// Recurring; false when absent.
    pub is_recurring: Option<bool>,
}

/// Changes to a transaction, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct TransactionPatch {
    /// New description.
    pub description: Option<String>,
    /// New merchant (`Some(None)` clears it).
    pub merchant_name: Option<Option<String>>,
    /// New category name.
    pub category: Option<String>,
    /// New recurring flag.
    pub is_recurring: Option<bool>,
    /// New amount (manual transactions only).
    pub amount: Option<Decimal>,
    /// New date (manual transactions only).
    pub date: Option<NaiveDate>,
    /// Posted (`false`) or pending again (`true`) (manual transactions only).
    pub is_pending: Option<bool>,
    /// A new account: never allowed (create a new transaction instead).
    pub account_id: Option<Uuid>,
}

/// Search criteria, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct TransactionQuery {
    /// Only this account.
    pub account_id: Option<Uuid>,
    /// On or after.
    pub from: Option<NaiveDate>,
    /// On or before.
    pub to: Option<NaiveDate>,
    /// Category name.
    pub category: Option<String>,
    /// Plain text in the description or merchant.
    pub q: Option<String>,
    /// Amount at least.
    pub min_amount: Option<Decimal>,
    /// Amount at most.
    pub max_amount: Option<Decimal>,
    /// Pending or not.
    pub is_pending: Option<bool>,
    /// Page size, 1-500; 50 when absent.
    pub limit: Option<i64>,
    /// Continue after this (date, id).
    pub after: Option<(NaiveDate, Uuid)>,
}

const MAX_DESCRIPTION: usize = 500;
const MAX_MERCHANT: usize = 255;
/// Largest page.
pub const MAX_PAGE: u32 = 500;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 50;

/// The page size asked for (50 when absent); any whole number outside 1-500, negative or
/// huge, is recorded under `limit`.
pub(crate) fn page_limit(limit: Option<i64>, fields: &mut BTreeMap<String, String>) -> u32 {
    match limit.map(u32::try_from) {
        None => DEFAULT_PAGE,
        Some(Ok(limit)) if (1..=MAX_PAGE).contains(&limit) => limit,
        Some(_) => {
            fields.insert("limit".into(), format!("must be between 1 and {MAX_PAGE}"));
            DEFAULT_PAGE
        }
    }
}

/// Transaction use cases.
#[allow(missing_debug_implementations)]
pub struct TransactionService {
    transactions: Arc<dyn TransactionRepository>,
    cache: ReportCache,
    clock: Arc<dyn Clock>,
}

fn read_only(field: &str) -> AppError {
    AppError::Rule {
        code: "read_only_field",
        message: format!("{field} cannot be changed on this transaction"),
    }
}

impl TransactionService {
    /// A service over these ports.
    #[must_use]
    pub fn new(
        transactions: Arc<dyn TransactionRepository>,
        cache: ReportCache,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            transactions,
            cache,
            clock,
        }
    }

    /// Records a transaction; on a manual account a posted one moves the balance.
    ///
    /// # Errors
    /// [`AppError::Validation`]; [`AppError::NotFound`] (`account`) for another user's account;
    /// [`AppError::Rule`] (`negative_balance_not_allowed`) when it would overdraw an asset.
    pub async fn create(
        &self,
        user_id: Uuid,
        input: TransactionInput,
    ) -> Result<Transaction, AppError> {
        let mut errors = FieldErrors::default();
        let amount = errors.check(
            "amount",
            Money::new(input.amount).and_then(TransactionAmount::new),
        );
        let description = errors.check(
            "description",
            text::required(&input.description, "a description", MAX_DESCRIPTION),
        );
        let merchant = errors.check(
            "merchant_name",
            text::optional(
                input.merchant_name.as_deref(),
                "a merchant name",
                MAX_MERCHANT,
            ),
        );
        errors.check("date", report::check_date(input.date));
        let category = errors.check(
            "category",
            input
                .category
                .as_deref()
                .map_or(Ok(TransactionCategory::Other), TransactionCategory::parse),
        );
        valid!(errors; amount, description, merchant, category);
        let created = self
            .transactions
            .create(
                NewTransaction {
                    id: Uuid::now_v7(),
                    user_id,
                    account_id: input.account_id,
                    amount,
                    date: input.date,
                    description,
                    merchant_name: merchant,
                    category,
                    is_pending: input.is_pending.unwrap_or(false),
                    is_recurring: input.is_recurring.unwrap_or(false),
                },
                write_time(self.clock.as_ref()),
            )
            .await
            .map_err(not_found("account"));
        self.cache.after_write(user_id, created).await
    }

    /// One transaction.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Transaction, AppError> {
        self.transactions
            .get(user_id, id)
            .await
            .map_err(not_found("transaction"))
    }

    /// A page of transactions, newest first.
    ///
    /// # Errors
    /// [`AppError::Validation`] for bad criteria; [`AppError::NotFound`] (`account`) for
    /// another user's account.
    pub async fn list(
        &self,
        user_id: Uuid,
        query: TransactionQuery,
    ) -> Result<TransactionPage, AppError> {
        let mut errors = FieldErrors::default();
        let category = errors.check_given(
            "category",
            query.category.as_deref(),
            TransactionCategory::parse,
        );
        let min = errors.check_given("min_amount", query.min_amount, Money::new);
        let max = errors.check_given("max_amount", query.max_amount, Money::new);
        errors.check_range(query.from, query.to);
        let mut errors = errors.into_map();
        let limit = page_limit(query.limit, &mut errors);
        if let (Some(min), Some(max)) = (min, max)
            && max < min
        {
            errors.insert("max_amount".into(), "must not be below min_amount".into());
        }
        if let Some(q) = &query.q {
            if q.chars().count() > MAX_DESCRIPTION {
                errors.insert("q".into(), format!("at most {MAX_DESCRIPTION} characters"));
            } else if q.chars().any(char::is_control) {
                errors.insert("q".into(), "must not contain control characters".into());
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let filter = TransactionFilter {
            account_id: query.account_id,
            from: query.from,
            to: query.to,
            category,
            q: query.q,
            min_amount: min,
            max_amount: max,
            is_pending: query.is_pending,
            after: query.after,
            limit,
        };
        self.transactions
            .list(user_id, filter)
            .await
            .map_err(not_found("account"))
    }

    /// Changes a transaction; posting a pending one (`is_pending: false`) moves its account's
    /// balance from its date on, making it pending again moves it back. On a Plaid-sourced one
    /// only the description, merchant, category and recurring flag can change (the bank owns
    /// its amount, date and pending flag); the account never can.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Validation`]; [`AppError::Rule`]
    /// (`read_only_field`, `negative_balance_not_allowed`).
    pub async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        patch: TransactionPatch,
    ) -> Result<Transaction, AppError> {
        let current = self.get(user_id, id).await?;
        if patch.account_id.is_some_and(|a| a != current.account_id) {
            return Err(read_only("account_id"));
        }
        if current.plaid_transaction_id.is_some() {
            if patch.amount.is_some_and(|a| a != current.amount.value()) {
                return Err(read_only("amount"));
            }
            if patch.date.is_some_and(|d| d != current.date) {
                return Err(read_only("date"));
            }
            // The bank posts its own transactions; the next sync would undo the user's choice.
            if patch.is_pending.is_some_and(|p| p != current.is_pending) {
                return Err(read_only("is_pending"));
            }
        }
        let mut errors = FieldErrors::default();
        let description = errors.check_given("description", patch.description, |d| {
            text::required(&d, "a description", MAX_DESCRIPTION)
        });
        let merchant = errors.check_given("merchant_name", patch.merchant_name, |m| {
            text::optional(m.as_deref(), "a merchant name", MAX_MERCHANT)
        });
        let category = errors.check_given("category", patch.category, |c| {
            TransactionCategory::parse(&c)
        });
        let amount = errors.check_given("amount", patch.amount, |a| {
            Money::new(a).and_then(TransactionAmount::new)
        });
        errors.finish()?;
        let update = TransactionUpdate {
            description,
            merchant_name: merchant,
            category,
            is_recurring: patch.is_recurring,
            amount,
            date: patch.date,
            is_pending: patch.is_pending,
        };
        let updated = self
            .transactions
            .update(user_id, id, update, write_time(self.clock.as_ref()))
            .await
            .map_err(not_found("transaction"));
        self.cache.after_write(user_id, updated).await
    }

    /// Deletes a manual transaction (Plaid's are kept: they come back on the next sync).
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Conflict`] (`plaid_transaction`) for a Plaid one;
    /// [`AppError::Rule`] when undoing it would overdraw an asset.
    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), AppError> {
        let current = self.get(user_id, id).await?;
        if current.plaid_transaction_id.is_some() {
            return Err(AppError::Conflict {
                code: "plaid_transaction",
                message: "transactions from Plaid cannot be deleted".into(),
                field: None,
            });
        }
        let deleted = self
            .transactions
            .delete(user_id, id, write_time(self.clock.as_ref()))
            .await
            .map_err(not_found("transaction"));
        self.cache.after_write(user_id, deleted).await
    }

    /// Every change made to a transaction, oldest first, kept after it is deleted.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn history(&self, user_id: Uuid, id: Uuid) -> Result<Vec<HistoryEntry>, AppError> {
        self.transactions
            .history(user_id, id)
            .await
            .map_err(not_found("transaction"))
    }
}

#[cfg(test)]
mod tests;
