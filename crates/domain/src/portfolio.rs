//! Holdings and trades, gain and loss, allocation against targets, drift and rebalancing.
//!
//! Everything is exact: average costs keep 8 decimal places (rounded half-even when a buy
//! moves them), money results are rounded half-even to 4 places where they are produced, and
//! percentages are rounded half-even to 4 places.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::decimal::{Money, Percentage, Price, Quantity, UnitCost, round, to_text};
use crate::enumeration::string_enum;
use crate::error::DomainError;
use crate::investment::InvestmentType;

/// What is held of one security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Units held.
    pub quantity: Quantity,
    /// Average cost per unit, fees included.
    pub average_cost: UnitCost,
}

impl Position {
    /// `quantity × average_cost`, exact.
    #[must_use]
    pub fn cost_basis(&self) -> Decimal {
        self.quantity.value() * self.average_cost.value()
    }

    /// What the position is worth at `price`, as an item stores it.
    ///
    /// # Errors
    /// [`DomainError::OutOfRange`] when the value or gain leaves the range of money.
    pub fn value_at(&self, price: Price) -> Result<Valuation, DomainError> {
        let basis = self.cost_basis();
        let value = self.quantity.value() * price.value();
        Ok(Valuation {
            current_value: Money::from_computed(value)?,
            unrealized_gain_loss: Money::from_computed(value - basis)?,
            // Stored beside the money figures at their scale, so a percent beyond the range of
            // money is left out (the summary computes it afresh from the position).
            unrealized_gain_loss_percent: percent_of(value - basis, basis)
                .filter(|p| Money::new(*p).is_ok()),
        })
    }
}

/// A position's stored figures at one price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    /// `quantity × price`.
    pub current_value: Money,
    /// `current_value − cost_basis`.
    pub unrealized_gain_loss: Money,
    /// Gain over cost basis × 100; `None` with a zero cost basis or beyond the range of money.
    pub unrealized_gain_loss_percent: Option<Decimal>,
}

/// A buy moves the average cost to `(q·avg + qty·price + fee) / (q + qty)`.
///
/// # Errors
/// [`DomainError::OutOfRange`] when the quantity or cost leaves its range.
pub fn buy(
    held: Option<Position>,
    quantity: Quantity,
    price: Price,
    fee: Money,
) -> Result<Position, DomainError> {
    let (q, avg) = held.map_or((Decimal::ZERO, Decimal::ZERO), |p| {
        (p.quantity.value(), p.average_cost.value())
    });
    let total_cost = q * avg + quantity.value() * price.value() + fee.value();
    let new_quantity = Quantity::new(q + quantity.value())?;
    let average_cost = UnitCost::from_computed(total_cost / new_quantity.value())?;
    Ok(Position {
        quantity: new_quantity,
        average_cost,
    })
}

/// The result of a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sale {
    /// What is left; `None` when everything was sold.
    pub remaining: Option<Position>,
    /// `qty·price − fee − qty·avg`.
    pub realized_gain: Money,
}

/// A sell keeps the average cost, lowers the quantity and realizes `qty·price − fee − qty·avg`.
///
/// # Errors
/// [`DomainError::InsufficientQuantity`] when selling more than is held.
pub fn sell(
    held: Position,
    quantity: Quantity,
    price: Price,
    fee: Money,
) -> Result<Sale, DomainError> {
    if quantity > held.quantity {
        return Err(DomainError::InsufficientQuantity {
            held: to_text(held.quantity.value()),
            requested: to_text(quantity.value()),
        });
    }
    let q = quantity.value();
    let realized_gain =
        Money::from_computed(q * price.value() - fee.value() - q * held.average_cost.value())?;
    let left = held.quantity.value() - q;
    let remaining = if left.is_zero() {
        None
    } else {
        Some(Position {
            quantity: Quantity::new(left)?,
            average_cost: held.average_cost,
        })
    };
    Ok(Sale {
        remaining,
        realized_gain,
    })
}

/// What a trade leaves: the position (`None` once everything is sold) and, for a sale, the
/// realized gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traded {
    /// What is held afterwards.
    pub position: Option<Position>,
    /// The realized gain of a sale; `None` for a buy.
    pub realized_gain: Option<Money>,
}

/// Applies a buy ([`buy`]) or a sell ([`sell`]) to what is held, which may be nothing.
///
/// # Errors
/// [`DomainError::InsufficientQuantity`] when selling more than is held (anything, when nothing
/// is); [`DomainError::OutOfRange`] when a figure leaves its range.
pub fn trade(
    held: Option<Position>,
    side: Side,
    quantity: Quantity,
    price: Price,
    fee: Money,
) -> Result<Traded, DomainError> {
    match side {
        Side::Buy => Ok(Traded {
            position: Some(buy(held, quantity, price, fee)?),
            realized_gain: None,
        }),
        Side::Sell => {
            let Some(held) = held else {
                return Err(DomainError::InsufficientQuantity {
                    held: "0".into(),
                    requested: to_text(quantity.value()),
                });
            };
            let sale = sell(held, quantity, price, fee)?;
            Ok(Traded {
                position: sale.remaining,
                realized_gain: Some(sale.realized_gain),
            })
        }
    }
}

/// `part / whole × 100`, rounded half-even to 4 places; `None` when `whole` is zero.
#[must_use]
pub fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    part.checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|p| p.checked_div(whole))
        .map(|p| round(p, 4))
}

/// One item of a portfolio, as the summary needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The portfolio item.
    pub item_id: Uuid,
    /// The security.
    pub investment_id: Uuid,
    /// Its symbol.
    pub symbol: String,
    /// Its type.
    pub investment_type: InvestmentType,
    /// Its sector, if known.
    pub sector: Option<String>,
    /// Its country, if known.
    pub country: Option<String>,
    /// Units and cost.
    pub position: Position,
    /// The latest price; `None` when the security has never been priced.
    pub price: Option<Price>,
    /// The item's own target weight.
    pub target_percent: Option<Percentage>,
}

/// An item's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFigures {
    /// `quantity × average_cost`.
    pub cost_basis: Money,
    /// `quantity × price`; `None` without a price.
    pub current_value: Option<Money>,
    /// `current_value − cost_basis`.
    pub unrealized_gain_loss: Option<Money>,
    /// Gain over cost basis × 100; `None` without a price or with a zero cost basis.
    pub unrealized_gain_loss_percent: Option<Decimal>,
    /// Share of the priced total value × 100.
    pub weight_percent: Option<Decimal>,
    /// `weight − target`, when the item has a target.
    pub drift_percent: Option<Decimal>,
}

/// One slice of an allocation (a type, sector or country).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// The type, sector or country (`"unknown"` when not set).
    pub key: String,
    /// Value of the priced items in it.
    pub value: Money,
    /// Share of the total × 100.
    pub weight_percent: Decimal,
    /// The target, for types that have one.
    pub target_percent: Option<Percentage>,
    /// `weight − target`.
    pub drift_percent: Option<Decimal>,
}

/// A portfolio's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Value of the priced items.
    pub total_value: Money,
    /// Cost basis of the priced items.
    pub total_cost: Money,
    /// `total_value − total_cost`.
    pub unrealized_gain_loss: Money,
    /// Over `total_cost` × 100; `None` when it is zero.
    pub unrealized_gain_loss_percent: Option<Decimal>,
    /// Largest absolute drift of any type or item with a target.
    pub max_drift_percent: Option<Decimal>,
    /// Per item, in the order given.
    pub items: Vec<ItemFigures>,
    /// By investment type (with the portfolio's targets), by sector, by country.
    pub by_type: Vec<Slice>,
    /// By sector.
    pub by_sector: Vec<Slice>,
    /// By country.
    pub by_country: Vec<Slice>,
    /// Items left out of every total because their security has no price.
    pub unpriced: Vec<Uuid>,
}

fn slices(
    groups: BTreeMap<String, Decimal>,
    total: Decimal,
    targets: &BTreeMap<String, Percentage>,
) -> Result<Vec<Slice>, DomainError> {
    let mut keys: Vec<&String> = groups.keys().chain(targets.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let value = groups.get(key).copied().unwrap_or_default();
            let weight = percent_of(value, total).unwrap_or_default();
            let target = targets.get(key).copied();
            Ok(Slice {
                key: key.clone(),
                value: Money::from_computed(value)?,
                weight_percent: weight,
                target_percent: target,
                drift_percent: target.map(|t| weight - t.value()),
            })
        })
        .collect()
}

/// Values, gains, weights, allocations and drift of a portfolio. Unpriced items are listed,
/// never valued at 0.
///
/// # Errors
/// [`DomainError::OutOfRange`] when a figure leaves the range of money.
pub fn summarize(
    holdings: &[Holding],
    type_targets: &BTreeMap<InvestmentType, Percentage>,
) -> Result<Summary, DomainError> {
    let mut total = Decimal::ZERO;
    let mut cost = Decimal::ZERO;
    let mut unpriced = Vec::new();
    let mut exact = Vec::with_capacity(holdings.len());
    for h in holdings {
        let q = h.position.quantity.value();
        let basis = q * h.position.average_cost.value();
        let value = h.price.map(|p| q * p.value());
        match value {
            Some(v) => {
                total += v;
                cost += basis;
            }
            None => unpriced.push(h.item_id),
        }
        exact.push((basis, value));
    }
    let mut by_type: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut by_sector: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut by_country: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut items = Vec::with_capacity(holdings.len());
    let mut drifts: Vec<Decimal> = Vec::new();
    for (h, (basis, value)) in holdings.iter().zip(exact) {
        if let Some(v) = value {
            let unknown = || "unknown".to_owned();
            *by_type
                .entry(h.investment_type.as_str().to_owned())
                .or_default() += v;
            *by_sector
                .entry(h.sector.clone().unwrap_or_else(unknown))
                .or_default() += v;
            *by_country
                .entry(h.country.clone().unwrap_or_else(unknown))
                .or_default() += v;
        }
        let weight = value.and_then(|v| percent_of(v, total));
        let drift = match (weight, h.target_percent) {
            (Some(w), Some(t)) => Some(w - t.value()),
            _ => None,
        };
        drifts.extend(drift);
        items.push(ItemFigures {
            cost_basis: Money::from_computed(basis)?,
            current_value: value.map(Money::from_computed).transpose()?,
            unrealized_gain_loss: value.map(|v| Money::from_computed(v - basis)).transpose()?,
            unrealized_gain_loss_percent: value.and_then(|v| percent_of(v - basis, basis)),
            weight_percent: weight,
            drift_percent: drift,
        });
    }
    let type_targets: BTreeMap<String, Percentage> = type_targets
        .iter()
        .map(|(t, p)| (t.as_str().to_owned(), *p))
        .collect();
    let by_type = slices(by_type, total, &type_targets)?;
    drifts.extend(by_type.iter().filter_map(|s| s.drift_percent));
    Ok(Summary {
        total_value: Money::from_computed(total)?,
        total_cost: Money::from_computed(cost)?,
        unrealized_gain_loss: Money::from_computed(total - cost)?,
        unrealized_gain_loss_percent: percent_of(total - cost, cost),
        max_drift_percent: drifts.iter().map(|d| d.abs()).max(),
        items,
        by_type,
        by_sector: slices(by_sector, total, &BTreeMap::new())?,
        by_country: slices(by_country, total, &BTreeMap::new())?,
        unpriced,
    })
}

string_enum!(
    /// Buy or sell.
    Side, "side", {
        /// Buy.
        Buy => "buy",
        /// Sell.
        Sell => "sell",
    }
);

mod rebalance;

pub use rebalance::{ProposedTrade, Rebalance, WeightAfter, rebalance};

#[cfg(test)]
mod tests;
