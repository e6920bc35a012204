//! Exchange rates and the reads reports are built from.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::report::{CashflowPart, SnapshotPoint};
use nestegg_domain::{CurrencyCode, Rate};
use uuid::Uuid;

use crate::error::RepoError;

/// A user's exchange rate on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRate {
    /// The currency converted from.
    pub currency: CurrencyCode,
    /// The currency converted to.
    pub base_currency: CurrencyCode,
    /// Units of `base_currency` per unit of `currency`.
    pub rate: Rate,
    /// The rate's date.
    pub date: NaiveDate,
    /// When it was last set.
    pub updated_at: DateTime<Utc>,
}

/// How cash flow is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CashflowGrouping {
    /// By category.
    Category,
    /// By month, `YYYY-MM`.
    Month,
    /// By merchant name.
    Merchant,
}

/// Exchange rates and report queries.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ReportRepository: Send + Sync {
    /// Sets the user's rate for a currency, base and date (replacing one of the same date).
    ///
    /// # Errors
    /// Store failures.
    async fn put_rate(
        &self,
        user_id: Uuid,
        rate: FxRate,
        now: DateTime<Utc>,
    ) -> Result<FxRate, RepoError>;

    /// The latest rate of each currency into `base`, by currency.
    ///
    /// # Errors
    /// Store failures.
    async fn latest_rates(
        &self,
        user_id: Uuid,
        base: CurrencyCode,
    ) -> Result<Vec<FxRate>, RepoError>;

    /// Every snapshot of the user's accounts dated on or before `to`, in no particular order.
    ///
    /// # Errors
    /// Store failures.
    async fn snapshots_until(
        &self,
        user_id: Uuid,
        to: NaiveDate,
    ) -> Result<Vec<SnapshotPoint>, RepoError>;

    /// Each of the user's accounts' balance on `date` (the latest point on or before it; an
    /// account with none is left out, counting as 0).
    ///
    /// # Errors
    /// Store failures.
    async fn balances_on(
        &self,
        user_id: Uuid,
        date: NaiveDate,
    ) -> Result<std::collections::HashMap<Uuid, nestegg_domain::Money>, RepoError>;

    /// Posted, non-transfer transactions from `from` to `to`, summed in SQL per group and
    /// account currency.
    ///
    /// # Errors
    /// Store failures.
    async fn cashflow(
        &self,
        user_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        grouping: CashflowGrouping,
    ) -> Result<Vec<CashflowPart>, RepoError>;
}
