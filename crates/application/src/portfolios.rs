//! Portfolios: holdings, trades, gain and loss, allocation, drift and rebalancing.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use nestegg_domain::portfolio::{self, Position, Rebalance, Side};
use nestegg_domain::{
    CurrencyCode, InvestmentType, Money, Percentage, Price, Quantity, UnitCost, report, text,
};
use nestegg_ports::{
    Clock, Conflict, ItemUpdate, NewItem, NewPortfolio, NewTrade, Portfolio, PortfolioHoldings,
    PortfolioItem, PortfolioRepository, PortfolioUpdate, RepoError, Trade, TypeTargets,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounts::not_found;
use crate::error::{AppError, FieldErrors, valid};
use crate::transactions::page_limit;

/// A new portfolio, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct PortfolioInput {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Currency; `USD` when absent.
    pub currency: Option<String>,
    /// Make it the default.
    pub is_default: Option<bool>,
    /// Targets by type name.
    pub target_allocation: Option<BTreeMap<String, Decimal>>,
}

/// Changes to a portfolio, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct PortfolioPatch {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// `true` makes it the default; `false` is refused on the default (one must remain).
    pub is_default: Option<bool>,
    /// New targets, replacing the old ones.
    pub target_allocation: Option<BTreeMap<String, Decimal>>,
}

/// An item to add, unvalidated.
#[derive(Debug, Clone)]
pub struct ItemInput {
    /// The security.
    pub investment_id: Uuid,
    /// Units.
    pub quantity: Decimal,
    /// Average cost per unit.
    pub average_cost: Decimal,
    /// Target weight.
    pub target_allocation: Option<Decimal>,
}

/// Changes to an item, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct ItemPatch {
    /// New quantity.
    pub quantity: Option<Decimal>,
    /// New average cost.
    pub average_cost: Option<Decimal>,
    /// New target (`Some(None)` clears it).
    pub target_allocation: Option<Option<Decimal>>,
}

/// A trade, unvalidated.
#[derive(Debug, Clone)]
pub struct TradeInput {
    /// The security.
    pub investment_id: Uuid,
    /// `buy` or `sell`.
    pub side: String,
    /// Units.
    pub quantity: Decimal,
    /// Price per unit.
    pub price: Decimal,
    /// Fee; zero when absent.
    pub fee: Option<Decimal>,
    /// Trade date.
    pub date: NaiveDate,
}

/// Portfolio use cases.
#[allow(missing_debug_implementations)]
pub struct PortfolioService {
    portfolios: Arc<dyn PortfolioRepository>,
    clock: Arc<dyn Clock>,
}

/// Parses targets by type: known types, each 0-100, summing to at most 100.
fn targets(
    raw: &BTreeMap<String, Decimal>,
    errors: &mut BTreeMap<String, String>,
) -> Option<TypeTargets> {
    let mut out = TypeTargets::new();
    for (key, value) in raw {
        let field = format!("target_allocation.{key}");
        match (InvestmentType::parse(key), Percentage::new(*value)) {
            (Ok(t), Ok(p)) => {
                out.insert(t, p);
            }
            (Err(e), _) | (_, Err(e)) => {
                errors.insert(field, e.to_string());
            }
        }
    }
    if let Err(e) = Percentage::check_allocation(out.values().copied()) {
        errors.insert("target_allocation".into(), e.to_string());
    }
    errors.is_empty().then_some(out)
}

fn trade_rule(e: RepoError) -> AppError {
    match e {
        RepoError::NotFound => AppError::NotFound("portfolio or investment"),
        other => other.into(),
    }
}

impl PortfolioService {
    /// A service over these ports.
    #[must_use]
    pub fn new(portfolios: Arc<dyn PortfolioRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { portfolios, clock }
    }

    /// Creates a portfolio; the first one is the default.
    ///
    /// # Errors
    /// [`AppError::Validation`].
    pub async fn create(
        &self,
        user_id: Uuid,
        input: PortfolioInput,
    ) -> Result<Portfolio, AppError> {
        let mut e = FieldErrors::default();
        let name = e.check("name", text::required(&input.name, "a portfolio name", 255));
        let description = e.check(
            "description",
            text::optional(input.description.as_deref(), "a description", 2000),
        );
        let currency = e.check(
            "currency",
            input
                .currency
                .as_deref()
                .map_or(Ok(CurrencyCode::USD), CurrencyCode::parse),
        );
        let mut fields = e.into_map();
        let targets = targets(&input.target_allocation.unwrap_or_default(), &mut fields);
        let (Some(name), Some(description), Some(currency), Some(target_allocation)) =
            (name, description, currency, targets)
        else {
            return Err(AppError::Validation(fields));
        };
        Ok(self
            .portfolios
            .create(
                NewPortfolio {
                    id: Uuid::now_v7(),
                    user_id,
                    name,
                    description,
                    currency,
                    is_default: input.is_default.unwrap_or(false),
                    target_allocation,
                },
                self.clock.now(),
            )
            .await?)
    }

    /// The user's portfolios.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<Portfolio>, AppError> {
        Ok(self.portfolios.list(user_id).await?)
    }

    /// One portfolio.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Portfolio, AppError> {
        self.portfolios
            .get(user_id, id)
            .await
            .map_err(not_found("portfolio"))
    }

    /// Changes a portfolio.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Validation`], including `is_default: false` on the
    /// default portfolio.
    pub async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        patch: PortfolioPatch,
    ) -> Result<Portfolio, AppError> {
        let current = self.get(user_id, id).await?;
        let mut e = FieldErrors::default();
        let name = e.check_given("name", patch.name, |n| {
            text::required(&n, "a portfolio name", 255)
        });
        let description = e.check_given("description", patch.description, |d| {
            text::optional(d.as_deref(), "a description", 2000)
        });
        let mut fields = e.into_map();
        if patch.is_default == Some(false) && current.is_default {
            fields.insert(
                "is_default".into(),
                "one portfolio must stay the default: make another one the default instead".into(),
            );
        }
        let target_allocation = patch.target_allocation.map(|t| targets(&t, &mut fields));
        if !fields.is_empty() {
            return Err(AppError::Validation(fields));
        }
        let update = PortfolioUpdate {
            name,
            description,
            make_default: patch.is_default == Some(true),
            target_allocation: target_allocation.flatten(),
        };
        self.portfolios
            .update(user_id, id, update, self.clock.now())
            .await
            .map_err(not_found("portfolio"))
    }

    /// Deletes a portfolio, its items and trades.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), AppError> {
        self.portfolios
            .delete(user_id, id, self.clock.now())
            .await
            .map_err(not_found("portfolio"))
    }

    /// The portfolio's items.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn items(&self, user_id: Uuid, id: Uuid) -> Result<Vec<PortfolioItem>, AppError> {
        self.portfolios
            .items(user_id, id)
            .await
            .map_err(not_found("portfolio"))
    }

    /// Adds a holding.
    ///
    /// # Errors
    /// [`AppError::Validation`]; [`AppError::NotFound`]; [`AppError::Conflict`]
    /// (`duplicate_item`) when the security is already in the portfolio.
    pub async fn add_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        input: ItemInput,
    ) -> Result<PortfolioItem, AppError> {
        let mut e = FieldErrors::default();
        let quantity = e.check("quantity", Quantity::new(input.quantity));
        let cost = e.check("average_cost", UnitCost::new(input.average_cost));
        let target = e.check(
            "target_allocation",
            input.target_allocation.map(Percentage::new).transpose(),
        );
        valid!(e; quantity, cost, target);
        let item = NewItem {
            id: Uuid::now_v7(),
            investment_id: input.investment_id,
            position: Position {
                quantity,
                average_cost: cost,
            },
            target_allocation: target,
        };
        self.portfolios
            .add_item(user_id, id, item, self.clock.now())
            .await
            .map_err(|e| match e {
                RepoError::Conflict(Conflict::PortfolioItem) => AppError::Conflict {
                    code: "duplicate_item",
                    message: "this security is already in the portfolio; trade it instead".into(),
                    field: Some("investment_id"),
                },
                other => trade_rule(other),
            })
    }

    /// Changes a holding.
    ///
    /// # Errors
    /// [`AppError::Validation`]; [`AppError::NotFound`].
    pub async fn update_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
        patch: ItemPatch,
    ) -> Result<PortfolioItem, AppError> {
        let mut e = FieldErrors::default();
        let quantity = e.check_given("quantity", patch.quantity, Quantity::new);
        let cost = e.check_given("average_cost", patch.average_cost, UnitCost::new);
        let target = e.check_given("target_allocation", patch.target_allocation, |t| {
            t.map(Percentage::new).transpose()
        });
        e.finish()?;
        let update = ItemUpdate {
            quantity,
            average_cost: cost,
            target_allocation: target,
        };
        self.portfolios
            .update_item(user_id, id, item_id, update, self.clock.now())
            .await
            .map_err(not_found("portfolio item"))
    }

    /// Removes a holding.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn delete_item(
        &self,
        user_id: Uuid,
        id: Uuid,
        item_id: Uuid,
    ) -> Result<(), AppError> {
        self.portfolios
            .delete_item(user_id, id, item_id, self.clock.now())
            .await
            .map_err(not_found("portfolio item"))
    }

    /// Records a buy or a sell and applies it to the holding.
    ///
    /// # Errors
    /// [`AppError::Validation`]; [`AppError::NotFound`]; [`AppError::Rule`]
    /// (`insufficient_quantity`) for selling more than is held.
    pub async fn trade(
        &self,
        user_id: Uuid,
        id: Uuid,
        input: TradeInput,
    ) -> Result<Trade, AppError> {
        let mut e = FieldErrors::default();
        let side = e.check("side", Side::parse(&input.side));
        let quantity = e.check("quantity", Quantity::new(input.quantity));
        let price = e.check("price", Price::new(input.price));
        let fee = e.check(
            "fee",
            Money::non_negative(input.fee.unwrap_or_default(), "a fee"),
        );
        let date = e.check("date", report::check_date(input.date));
        valid!(e; side, quantity, price, fee, date);
        let trade = NewTrade {
            id: Uuid::now_v7(),
            investment_id: input.investment_id,
            side,
            quantity,
            price,
            fee,
            date,
        };
        self.portfolios
            .trade(user_id, id, trade, self.clock.now())
            .await
            .map_err(trade_rule)
    }

    /// A page of the portfolio's trade history, newest first, and where the next page starts.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Validation`] for a limit outside 1-500.
    pub async fn trades(
        &self,
        user_id: Uuid,
        id: Uuid,
        after: Option<(NaiveDate, Uuid)>,
        limit: Option<i64>,
    ) -> Result<(Vec<Trade>, Option<(NaiveDate, Uuid)>), AppError> {
        let mut fields = BTreeMap::new();
        let limit = page_limit(limit, &mut fields);
        if !fields.is_empty() {
            return Err(AppError::Validation(fields));
        }
        let mut trades = self
            .portfolios
            .trades(user_id, id, after, limit)
            .await
            .map_err(not_found("portfolio"))?;
        let next = if trades.len() > limit as usize {
            trades.truncate(limit as usize);
            trades.last().map(|t| (t.date, t.id))
        } else {
            None
        };
        Ok((trades, next))
    }

    /// Values, gains, allocation and drift of the portfolio, with the holdings they were
    /// computed from.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn summary(&self, user_id: Uuid, id: Uuid) -> Result<PortfolioSummary, AppError> {
        let held = self
            .portfolios
            .holdings(user_id, id)
            .await
            .map_err(not_found("portfolio"))?;
        let holdings: Vec<_> = held.holdings.iter().map(|(h, _)| h.clone()).collect();
        let summary = portfolio::summarize(&holdings, &held.portfolio.target_allocation)?;
        Ok(PortfolioSummary { held, summary })
    }

    /// The trades that bring each targeted type to its target.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Validation`] for negative cash.
    pub async fn rebalance(
        &self,
        user_id: Uuid,
        id: Uuid,
        cash: Option<Decimal>,
        allow_sells: Option<bool>,
    ) -> Result<Rebalance, AppError> {
        let cash = Money::non_negative(cash.unwrap_or_default(), "cash")
            .map_err(|e| AppError::invalid("cash", &e))?;
        let held = self
            .portfolios
            .holdings(user_id, id)
            .await
            .map_err(not_found("portfolio"))?;
        let holdings: Vec<_> = held.holdings.into_iter().map(|(h, _)| h).collect();
        Ok(portfolio::rebalance(
            &holdings,
            &held.portfolio.target_allocation,
            cash,
            allow_sells.unwrap_or(true),
        )?)
    }
}

/// A portfolio's figures ([`portfolio::Summary`]) with the holdings, security names and
/// realized gains they were computed from; `summary.items` follows `held.holdings`.
#[derive(Debug, Clone)]
pub struct PortfolioSummary {
    /// The portfolio, its holdings with their security names, and its realized gains.
    pub held: PortfolioHoldings,
    /// The computed figures.
    pub summary: portfolio::Summary,
}

#[cfg(test)]
mod tests;
