//! Rebalancing: the trades that bring each targeted investment type to its target, within the
//! cash at hand (and the sells, when they are allowed).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Holding, Side, percent_of};
use crate::decimal::{Money, Percentage, Price, Quantity};
use crate::error::DomainError;
use crate::investment::InvestmentType;

/// A trade proposed by [`rebalance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedTrade {
    /// The security.
    pub investment_id: Uuid,
    /// Its symbol.
    pub symbol: String,
    /// Buy or sell.
    pub side: Side,
    /// Units: whole for stocks, ETFs, options and futures; up to 8 places otherwise.
    pub quantity: Quantity,
    /// `quantity × price`.
    pub amount: Money,
}

/// A type's weight after the proposed trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightAfter {
    /// The investment type.
    pub key: String,
    /// Its share of the portfolio (holdings plus cash left) × 100.
    pub weight_percent: Decimal,
    /// Its target.
    pub target_percent: Option<Percentage>,
}

/// What [`rebalance`] proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebalance {
    /// Sells first, then buys.
    pub trades: Vec<ProposedTrade>,
    /// Each type's weight after them.
    pub after: Vec<WeightAfter>,
    /// Cash left unspent.
    pub cash_left: Money,
    /// Items left out because their security has no price.
    pub unpriced: Vec<Uuid>,
}

/// One unit of money's last place: buys leave this much headroom so that their amounts,
/// rounded up for display, never add up to more than the cash available.
const CENT_OF_CENT: Decimal = Decimal::from_parts(1, 0, 0, false, 4);

fn round_down(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::ToZero)
}

fn round_up(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::AwayFromZero)
}

/// Units of `amount / price`, rounded down: whole units for types that trade whole, 8 places
/// otherwise, and never more than `cap`.
fn units(amount: Decimal, price: Price, whole: bool, cap: Option<Decimal>) -> Decimal {
    let raw = amount / price.value();
    let mut q = if whole {
        raw.floor()
    } else {
        raw.round_dp_with_strategy(8, rust_decimal::RoundingStrategy::ToZero)
    };
    if let Some(cap) = cap {
        q = q.min(cap);
    }
    q.max(Decimal::ZERO)
}

/// The trade of `quantity` units of `holding` at `price`, or `None` for no units. Its amount is
/// rounded in the portfolio's favour: a sell's proceeds down, so the cash they add is never
/// overstated, and a buy's cost up (the caller's headroom keeps it within the cash).
fn proposed(
    holding: &Holding,
    side: Side,
    quantity: Decimal,
    price: Price,
) -> Result<Option<ProposedTrade>, DomainError> {
    if quantity.is_zero() {
        return Ok(None);
    }
    let amount = quantity * price.value();
    let amount = match side {
        Side::Sell => round_down(amount),
        Side::Buy => round_up(amount),
    };
    Ok(Some(ProposedTrade {
        investment_id: holding.investment_id,
        symbol: holding.symbol.clone(),
        side,
        quantity: Quantity::new(quantity)?,
        amount: Money::new(amount)?,
    }))
}

/// The trades that bring each investment type with a target to it, spending at most `cash`
/// plus the proceeds of sells (made only when `allow_sells`). Targets are shares of the whole
/// portfolio: priced holdings plus `cash`. A type is bought through its largest holding and
/// sold from its largest first; a type with a target but no holding cannot be bought (there is
/// no security to buy) and is left under target. Unpriced holdings are left alone.
///
/// # Errors
/// [`DomainError::OutOfRange`] when a figure leaves the range of money.
pub fn rebalance(
    holdings: &[Holding],
    type_targets: &BTreeMap<InvestmentType, Percentage>,
    cash: Money,
    allow_sells: bool,
) -> Result<Rebalance, DomainError> {
    let priced: Vec<(&Holding, Price)> = holdings
        .iter()
        .filter_map(|h| h.price.map(|p| (h, p)))
        .collect();
    let value = |h: &Holding, p: Price| h.position.quantity.value() * p.value();
    let invested: Decimal = priced.iter().map(|(h, p)| value(h, *p)).sum();
    let total = invested + cash.value();
    let mut by_type: BTreeMap<InvestmentType, Vec<(&Holding, Price)>> = BTreeMap::new();
    for (h, p) in &priced {
        by_type.entry(h.investment_type).or_default().push((h, *p));
    }
    for list in by_type.values_mut() {
        list.sort_by_key(|(h, p)| std::cmp::Reverse(value(h, *p)));
    }
    let mut type_value: BTreeMap<InvestmentType, Decimal> = by_type
        .iter()
        .map(|(t, list)| (*t, list.iter().map(|(h, p)| value(h, *p)).sum()))
        .collect();
    let mut trades = Vec::new();
    let mut available = cash.value();

    if allow_sells {
        for (t, target) in type_targets {
            let desired = total * target.value() / Decimal::ONE_HUNDRED;
            let mut excess = type_value.get(t).copied().unwrap_or_default() - desired;
            for (h, p) in by_type.get(t).into_iter().flatten() {
                if excess <= Decimal::ZERO {
                    break;
                }
                let q = units(
                    excess,
                    *p,
                    t.trades_in_whole_units(),
                    Some(h.position.quantity.value()),
                );
                let Some(trade) = proposed(h, Side::Sell, q, *p)? else {
                    continue;
                };
                let amount = q * p.value();
                excess -= amount;
                available += trade.amount.value();
                *type_value.entry(*t).or_default() -= amount;
                trades.push(trade);
            }
        }
    }

    // Buy the most underweight types first.
    let mut gaps: Vec<(InvestmentType, Decimal)> = type_targets
        .iter()
        .map(|(t, target)| {
            let desired = total * target.value() / Decimal::ONE_HUNDRED;
            (*t, desired - type_value.get(t).copied().unwrap_or_default())
        })
        .filter(|(_, gap)| *gap > Decimal::ZERO)
        .collect();
    gaps.sort_by_key(|(_, gap)| std::cmp::Reverse(*gap));
    for (t, gap) in gaps {
        let Some((h, p)) = by_type.get(&t).and_then(|list| list.first()) else {
            continue;
        };
        let whole = t.trades_in_whole_units();
        let mut q = units(gap.min(available), *p, whole, None);
        if round_up(q * p.value()) > available {
            // Rounding the cost up would overspend by a fraction of a cent: buy a little less.
            q = units(gap.min(available - CENT_OF_CENT), *p, whole, None);
        }
        let Some(trade) = proposed(h, Side::Buy, q, *p)? else {
            continue;
        };
        available -= trade.amount.value();
        *type_value.entry(t).or_default() += q * p.value();
        trades.push(trade);
    }

    let mut keys: Vec<InvestmentType> = type_value
        .keys()
        .chain(type_targets.keys())
        .copied()
        .collect();
    keys.sort();
    keys.dedup();
    let after = keys
        .into_iter()
        .map(|t| WeightAfter {
            key: t.as_str().to_owned(),
            weight_percent: percent_of(type_value.get(&t).copied().unwrap_or_default(), total)
                .unwrap_or_default(),
            target_percent: type_targets.get(&t).copied(),
        })
        .collect();
    Ok(Rebalance {
        trades,
        after,
        cash_left: Money::from_computed(available)?,
        unpriced: holdings
            .iter()
            .filter(|h| h.price.is_none())
            .map(|h| h.item_id)
            .collect(),
    })
}
