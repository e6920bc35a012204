//! Portfolios, their items and trades, and their repository.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::portfolio::{Holding, Position, Side};
use nestegg_domain::{CurrencyCode, InvestmentType, Money, Percentage, Price, Quantity, UnitCost};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::RepoError;

/// Target weights by investment type (each 0-100, summing to at most 100).
pub type TypeTargets = BTreeMap<InvestmentType, Percentage>;

/// A stored portfolio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portfolio {
    /// Opaque id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Currency of its values.
    pub currency: CurrencyCode,
    /// The user's default portfolio (exactly one while any exist).
    pub is_default: bool,
    /// Targets by type.
    pub target_allocation: TypeTargets,
    /// Sum of the priced items' values.
    pub total_value: Money,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A portfolio to create (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPortfolio {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Currency.
    pub currency: CurrencyCode,
    /// Asked to be the default (the first portfolio always is).
    pub is_default: bool,
    /// Targets.
    pub target_allocation: TypeTargets,
}

/// Changes to a portfolio (validated); `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortfolioUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// `Some(true)` makes it the default, moving the flag.
    pub make_default: bool,
    /// New targets, replacing the old ones.
    pub target_allocation: Option<TypeTargets>,
}

/// A stored portfolio item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioItem {
    /// Opaque id.
    pub id: Uuid,
    /// Its portfolio.
    pub portfolio_id: Uuid,
    /// The security.
    pub investment_id: Uuid,
    /// Units held.
    pub quantity: Quantity,
    /// Average cost per unit.
    pub average_cost: UnitCost,
    /// `quantity × price`, when priced.
    pub current_value: Option<Money>,
    /// `current_value − quantity × average_cost`.
    pub unrealized_gain_loss: Option<Money>,
    /// The gain over cost × 100.
    pub unrealized_gain_loss_percent: Option<Decimal>,
    /// The item's own target weight.
    pub target_allocation: Option<Percentage>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An item to add (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// The security (must be visible to the user).
    pub investment_id: Uuid,
    /// Units and cost.
    pub position: Position,
    /// Target weight.
    pub target_allocation: Option<Percentage>,
}

/// Changes to an item (validated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemUpdate {
    /// New quantity.
    pub quantity: Option<Quantity>,
    /// New average cost.
    pub average_cost: Option<UnitCost>,
    /// New target (`Some(None)` clears it).
    pub target_allocation: Option<Option<Percentage>>,
}

/// A recorded trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    /// Opaque id.
    pub id: Uuid,
    /// The security.
    pub investment_id: Uuid,
    /// Buy or sell.
    pub side: Side,
    /// Units.
    pub quantity: Quantity,
    /// Price per unit.
    pub price: Price,
    /// Fee.
    pub fee: Money,
    /// Trade date.
    pub date: NaiveDate,
    /// For a sell, the gain it realized.
    pub realized_gain: Option<Money>,
    /// The item after the trade; `None` when a sell emptied it.
    pub item: Option<PortfolioItem>,
}

/// A trade to record (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrade {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// The security (must be visible to the user).
    pub investment_id: Uuid,
    /// Buy or sell.
    pub side: Side,
    /// Units.
    pub quantity: Quantity,
    /// Price per unit.
    pub price: Price,
    /// Fee (zero or more).
    pub fee: Money,
    /// Trade date.
    pub date: NaiveDate,
}

/// A portfolio, its holdings with their securities' names, and its realized gains, read
/// together from one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioHoldings {
    /// The portfolio (for its targets and currency).
    pub portfolio: Portfolio,
    /// Each item, as the domain values it, with the security's name.
    pub holdings: Vec<(Holding, String)>,
    /// Sum of the gains realized by its sells.
    pub realized_gain_loss: Money,
}

/// Where portfolios are kept; every method is scoped to `user_id` ([`RepoError::NotFound`]
/// for another user's portfolio or item).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PortfolioRepository: Send + Sync {
    /// Stores a portfolio; the user's first is the default, and asking for the default moves
    /// the flag, in one transaction.
    ///
    /// # Errors
    /// Store failures.
    async fn create(&self, new: NewPortfolio, now: DateTime<Utc>) -> Result<Portfolio, RepoError>;

    /// The user's portfolios, default first, then by name.
    ///
    /// # Errors
    /// Store failures.
    async fn list(&self, user_id: Uuid) -> Result<Vec<Portfolio>, RepoError>;

    /// One portfolio.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Portfolio, RepoError>;

    /// Applies `update`, moving the default flag atomically when asked.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        update: PortfolioUpdate,
        now: DateTime<Utc>,
    ) -> Result<Portfolio, RepoError>;

    /// Deletes a portfolio with its items and trades; deleting the default promotes the
    /// oldest remaining one.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete(&self, user_id: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError>;

    /// The portfolio's items.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn items(&self, user_id: Uuid, id: Uuid) -> Result<Vec<PortfolioItem>, RepoError>;

    /// Adds an item, valued at the security's current price.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] (portfolio or security); [`RepoError::Conflict`]
    /// ([`crate::Conflict::PortfolioItem`]) when the security is already held.
    async fn add_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item: NewItem,
        now: DateTime<Utc>,
    ) -> Result<PortfolioItem, RepoError>;

    /// Changes an item and revalues it.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn update_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
        update: ItemUpdate,
        now: DateTime<Utc>,
    ) -> Result<PortfolioItem, RepoError>;

    /// Removes an item.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError>;

    /// Records a trade and applies it to the item (created by a first buy, removed by a sell
    /// to zero), in one transaction.
    ///
    /// # Errors
    /// [`RepoError::NotFound`]; [`RepoError::Rule`] (`insufficient_quantity`).
    async fn trade(
        &self,
        user_id: Uuid,
        id: Uuid,
        trade: NewTrade,
        now: DateTime<Utc>,
    ) -> Result<Trade, RepoError>;

    /// A page of the portfolio's trades, newest first (date, then id), after the
    /// `(date, id)` given; `item` is `None` in this list. One more than `limit` is read to
    /// tell whether a next page exists.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn trades(
        &self,
        user_id: Uuid,
        id: Uuid,
        after: Option<(NaiveDate, Uuid)>,
        limit: u32,
    ) -> Result<Vec<Trade>, RepoError>;

    /// The items with their securities, as the summary and rebalancing need them, and the sum
    /// of the portfolio's realized gains.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn holdings(&self, user_id: Uuid, id: Uuid) -> Result<PortfolioHoldings, RepoError>;
}
