//! Managing accounts by hand.

use std::sync::Arc;

use chrono::NaiveDate;
use nestegg_domain::report::check_date;
use nestegg_domain::{AccountName, AccountType, CurrencyCode, DomainError, Money, text};
use nestegg_ports::{
    Account, AccountRepository, AccountUpdate, Adjustment, Clock, Conflict, NewAccount, RepoError,
    Snapshot, WriteTime,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::cache::ReportCache;
use crate::error::{AppError, FieldErrors, valid};

/// A new account, unvalidated.
#[derive(Debug, Clone)]
pub struct AccountInput {
    /// Name.
    pub name: String,
    /// Type name.
    pub account_type: String,
    /// Institution.
    pub institution_name: Option<String>,
    /// Opening balance.
    pub current_balance: Decimal,
    /// Available balance.
    pub available_balance: Option<Decimal>,
    /// Currency code; `USD` when absent.
    pub currency: Option<String>,
    /// The day its history starts; today when absent.
    pub opened_on: Option<NaiveDate>,
}

/// Changes to an account, unvalidated; `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    /// New name.
    pub name: Option<String>,
    /// New institution.
    pub institution_name: Option<Option<String>>,
    /// A reconciled balance: what the account held on `as_of`.
    pub current_balance: Option<Decimal>,
    /// The day of `current_balance`; today when absent.
    pub as_of: Option<NaiveDate>,
    /// New available balance.
    pub available_balance: Option<Option<Decimal>>,
    /// New opening date.
    pub opened_on: Option<NaiveDate>,
}

/// Account use cases.
#[allow(missing_debug_implementations)]
pub struct AccountService {
    accounts: Arc<dyn AccountRepository>,
    cache: ReportCache,
    clock: Arc<dyn Clock>,
}

pub(crate) fn write_time(clock: &dyn Clock) -> WriteTime {
    WriteTime {
        now: clock.now(),
        today: clock.today(),
    }
}

pub(crate) fn not_found(what: &'static str) -> impl Fn(RepoError) -> AppError {
    move |e| match e {
        RepoError::NotFound => AppError::NotFound(what),
        other => other.into(),
    }
}

const MAX_INSTITUTION: usize = 255;

/// A day in the supported range and not after `today`.
fn past_day(
    date: NaiveDate,
    what: &'static str,
    today: NaiveDate,
) -> Result<NaiveDate, DomainError> {
    let date = check_date(date)?;
    if date > today {
        return Err(DomainError::InFuture { what, today });
    }
    Ok(date)
}

/// The field a rule checked in the store is about.
fn rule_field(rule: &DomainError) -> &'static str {
    match rule {
        DomainError::OpenedAfterFirstEntry { .. } => "opened_on",
        DomainError::InFuture { what, .. } if *what == "the opening date" => "opened_on",
        DomainError::BeforeOpening { .. } | DomainError::InFuture { .. } => "as_of",
        _ => "current_balance",
    }
}

impl AccountService {
    /// A service over these ports.
    #[must_use]
    pub fn new(
        accounts: Arc<dyn AccountRepository>,
        cache: ReportCache,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            accounts,
            cache,
            clock,
        }
    }

    /// Creates a manual account with its first snapshot.
    ///
    /// # Errors
    /// [`AppError::Validation`] naming each bad field (a negative balance on anything but a
    /// credit card included).
    pub async fn create(&self, user_id: Uuid, input: AccountInput) -> Result<Account, AppError> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", AccountName::parse(&input.name));
        let account_type = errors.check("type", AccountType::parse(&input.account_type));
        let institution = errors.check(
            "institution_name",
            text::optional(
                input.institution_name.as_deref(),
                "an institution name",
                MAX_INSTITUTION,
            ),
        );
        let balance = errors.check("current_balance", Money::new(input.current_balance));
        let available = errors.check(
            "available_balance",
            input.available_balance.map(Money::new).transpose(),
        );
        let currency = errors.check(
            "currency",
            input
                .currency
                .as_deref()
                .map_or(Ok(CurrencyCode::USD), CurrencyCode::parse),
        );
        if let (Some(t), Some(b)) = (account_type, balance) {
            errors.check("current_balance", t.check_balance(b));
        }
        let today = self.clock.today();
        if let Some(d) = input.opened_on {
            errors.check("opened_on", past_day(d, "the opening date", today));
        }
        valid!(errors; name, account_type, institution, balance, available, currency);
        let created = self
            .accounts
            .create(
                NewAccount {
                    id: Uuid::now_v7(),
                    user_id,
                    name,
                    account_type,
                    institution_name: institution,
                    current_balance: balance,
                    available_balance: available,
                    currency,
                    opened_on: input.opened_on,
                },
                write_time(self.clock.as_ref()),
            )
            .await;
        self.cache.after_write(user_id, created).await
    }

    /// The user's accounts.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<Account>, AppError> {
        Ok(self.accounts.list(user_id).await?)
    }

    /// One account.
    ///
    /// # Errors
    /// [`AppError::NotFound`] for a missing or another user's account.
    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Account, AppError> {
        self.accounts
            .get(user_id, id)
            .await
            .map_err(not_found("account"))
    }

    /// Changes an account. A new `current_balance` is a reconciliation: the difference to the
    /// ledger on `as_of` (default today) is recorded as an adjustment on that day, so later
    /// balances keep their transactions. A new `opened_on` moves the opening balance.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Validation`] for bad fields, a negative balance
    /// where the type forbids one, an `as_of` before the opening date or after today, or an
    /// opening date after the first transaction or today.
    pub async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        patch: AccountPatch,
    ) -> Result<Account, AppError> {
        let mut errors = FieldErrors::default();
        let name = errors.check_given("name", patch.name, |n| AccountName::parse(&n));
        let institution = errors.check_given("institution_name", patch.institution_name, |i| {
            text::optional(i.as_deref(), "an institution name", MAX_INSTITUTION)
        });
        let balance = errors.check_given("current_balance", patch.current_balance, Money::new);
        let available = errors.check_given("available_balance", patch.available_balance, |a| {
            a.map(Money::new).transpose()
        });
        let today = self.clock.today();
        let as_of = errors.check_given("as_of", patch.as_of, |d| past_day(d, "as_of", today));
        let opened_on = errors.check_given("opened_on", patch.opened_on, |d| {
            past_day(d, "the opening date", today)
        });
        let mut fields = errors.into_map();
        if patch.as_of.is_some() && patch.current_balance.is_none() {
            fields.insert(
                "as_of".into(),
                "goes with current_balance: the day the balance was read".into(),
            );
        }
        if !fields.is_empty() {
            return Err(AppError::Validation(fields));
        }
        let update = AccountUpdate {
            name,
            institution_name: institution,
            current_balance: balance,
            as_of,
            available_balance: available,
            opened_on,
        };
        let updated = self
            .accounts
            .update(user_id, id, update, write_time(self.clock.as_ref()))
            .await
            .map_err(|e| match e {
                RepoError::Rule(rule) => AppError::invalid(rule_field(&rule), &rule),
                other => not_found("account")(other),
            });
        self.cache.after_write(user_id, updated).await
    }

    /// Deletes an account that has no transactions.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Conflict`] (`account_has_transactions`).
    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), AppError> {
        let deleted = self
            .accounts
            .delete(user_id, id)
            .await
            .map_err(|e| match e {
                RepoError::Conflict(Conflict::AccountHasTransactions) => AppError::Conflict {
                    code: "account_has_transactions",
                    message: "the account has transactions; delete them first".into(),
                    field: None,
                },
                other => not_found("account")(other),
            });
        self.cache.after_write(user_id, deleted).await
    }

    /// The account's balance adjustments (reconciliations), oldest first.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn adjustments(&self, user_id: Uuid, id: Uuid) -> Result<Vec<Adjustment>, AppError> {
        self.accounts
            .adjustments(user_id, id)
            .await
            .map_err(not_found("account"))
    }

    /// The account's balance points in a date range: one per date where its balance changed.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Validation`] when `to` is before `from`.
    pub async fn snapshots(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Snapshot>, AppError> {
        let mut errors = FieldErrors::default();
        errors.check_range(from, to);
        errors.finish()?;
        self.accounts
            .snapshots(user_id, id, from, to)
            .await
            .map_err(not_found("account"))
    }
}

#[cfg(test)]
mod tests;
