//! Securities, their prices, and their repository.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::{InvestmentType, Money, Percentage, Price};
use uuid::Uuid;

use crate::error::RepoError;

/// A security: shared reference data (`owner: None`) or a user's private one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Investment {
    /// Opaque id.
    pub id: Uuid,
    /// The user who added it; `None` for shared reference data.
    pub owner: Option<Uuid>,
    /// Ticker.
    pub symbol: String,
    /// Name.
    pub name: String,
    /// Type.
    pub investment_type: InvestmentType,
    /// Exchange.
    pub exchange: Option<String>,
    /// Latest price.
    pub current_price: Option<Price>,
    /// Date of the latest price.
    pub price_date: Option<NaiveDate>,
    /// Market capitalisation.
    pub market_cap: Option<Money>,
    /// Price to earnings.
    pub pe_ratio: Option<Money>,
    /// Dividend yield, percent.
    pub dividend_yield: Option<Percentage>,
    /// Expense ratio, percent.
    pub expense_ratio: Option<Percentage>,
    /// Sector.
    pub sector: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A private security to add (already validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvestment {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// Owner; `None` only for reference data written by sync or operators.
    pub owner: Option<Uuid>,
    /// Ticker.
    pub symbol: String,
    /// Name.
    pub name: String,
    /// Type.
    pub investment_type: InvestmentType,
    /// Exchange.
    pub exchange: Option<String>,
    /// Market capitalisation.
    pub market_cap: Option<Money>,
    /// Price to earnings.
    pub pe_ratio: Option<Money>,
    /// Dividend yield.
    pub dividend_yield: Option<Percentage>,
    /// Expense ratio.
    pub expense_ratio: Option<Percentage>,
    /// Sector.
    pub sector: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// Which securities to list, by symbol then id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvestmentFilter {
    /// Exactly this symbol (case-insensitive).
    pub symbol: Option<String>,
    /// Text found in the symbol or name, case-insensitively, as plain text.
    pub q: Option<String>,
    /// Start after this (symbol, id).
    pub after: Option<(String, Uuid)>,
    /// Page size.
    pub limit: u32,
}

/// One page of securities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestmentPage {
    /// The securities.
    pub items: Vec<Investment>,
    /// Where the next page starts (symbol, id), if there is one.
    pub next: Option<(String, Uuid)>,
}

/// A price on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricePoint {
    /// The date.
    pub date: NaiveDate,
    /// The price.
    pub price: Price,
}

/// Where securities are kept. A user sees the shared ones and their own.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait InvestmentRepository: Send + Sync {
    /// Stores a security.
    ///
    /// # Errors
    /// Store failures.
    async fn create(&self, new: NewInvestment, now: DateTime<Utc>)
    -> Result<Investment, RepoError>;

    /// A security the user can see.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for a missing one or another user's private one.
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Investment, RepoError>;

    /// A page of the securities the user can see, and where the next starts.
    ///
    /// # Errors
    /// Store failures.
    async fn list(
        &self,
        user_id: Uuid,
        filter: InvestmentFilter,
    ) -> Result<InvestmentPage, RepoError>;

    /// Records a price of one of the user's private securities on a date (replacing that
    /// date's), keeps `current_price`/`price_date` the latest, and revalues the portfolio
    /// items holding it, in one transaction.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for shared securities and other users' ones.
    async fn put_price(
        &self,
        user_id: Uuid,
        id: Uuid,
        point: PricePoint,
        now: DateTime<Utc>,
    ) -> Result<Investment, RepoError>;

    /// The security's prices from `from` to `to`, by date.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the user cannot see the security.
    async fn prices(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<PricePoint>, RepoError>;
}
