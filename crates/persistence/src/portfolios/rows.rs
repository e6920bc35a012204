//! Reading portfolios, items and trades from rows, and targets to and from their JSON.

use nestegg_domain::portfolio::{Holding, Position, Side};
use nestegg_domain::{InvestmentType, Percentage, Price, Quantity, UnitCost};
use nestegg_ports::{Portfolio, PortfolioItem, RepoError, Trade, TypeTargets};
use serde_json::{Map, Value as Json};

use crate::codec::Scale;
use crate::rows::{Owned, Row, corrupt, from_row};

/// Columns of `portfolios`, as [`portfolio`] reads them.
pub(crate) const PORTFOLIO_COLUMNS: &str = "id, user_id, name, description, total_value, \
    currency, is_default, target_allocation, created_at, updated_at";

/// Portfolios, read whole. Every write to a portfolio's items or trades first reads it with
/// `Lock::Update`, so that they are serialized per portfolio.
pub(super) const PORTFOLIOS: Owned<Portfolio> = Owned {
    name: "portfolios",
    columns: PORTFOLIO_COLUMNS,
    read: portfolio,
};

/// Columns of `portfolio_items`, as [`item`] reads them.
pub(crate) const ITEM_COLUMNS: &str = "id, portfolio_id, investment_id, quantity, average_cost, \
    current_value, unrealized_gain_loss, unrealized_gain_loss_percent, target_allocation, \
    created_at, updated_at";

/// Columns of `portfolio_trades`, as [`trade`] reads them.
pub(crate) const TRADE_COLUMNS: &str =
    "id, investment_id, side, quantity, price, fee, date, realized_gain";

/// Targets as stored: `{"stock": "60"}`.
pub(crate) fn targets_json(t: &TypeTargets) -> Json {
    let map: Map<String, Json> = t
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                Json::String(v.value().normalize().to_string()),
            )
        })
        .collect();
    Json::Object(map)
}

fn targets_from(json: &Json) -> Result<TypeTargets, RepoError> {
    let Json::Object(map) = json else {
        return Err(corrupt("target_allocation"));
    };
    map.iter()
        .map(|(k, v)| {
            let t = InvestmentType::parse(k).map_err(|_| corrupt("target_allocation"))?;
            let p = v
                .as_str()
                .and_then(|s| nestegg_domain::decimal::parse_exact(s).ok())
                .and_then(|d| Percentage::new(d).ok())
                .ok_or_else(|| corrupt("target_allocation"))?;
            Ok((t, p))
        })
        .collect()
}

pub(crate) fn portfolio(row: &Row) -> Result<Portfolio, RepoError> {
    Ok(from_row!(row => Portfolio {
        id, user_id, name, description,
        currency: row.currency("currency")?,
        is_default,
        target_allocation: targets_from(&row.get::<Json>("target_allocation")?)?,
        total_value: row.money("total_value")?,
        created_at, updated_at,
    }))
}

/// A position's two columns.
fn position(row: &Row) -> Result<Position, RepoError> {
    Ok(Position {
        quantity: row.kind("quantity", Scale::Fine, Quantity::new)?,
        average_cost: row.kind("average_cost", Scale::Fine, UnitCost::new)?,
    })
}

fn target(row: &Row) -> Result<Option<Percentage>, RepoError> {
    row.kind_opt("target_allocation", Scale::Percent, Percentage::new)
}

pub(crate) fn item(row: &Row) -> Result<PortfolioItem, RepoError> {
    let position = position(row)?;
    Ok(from_row!(row => PortfolioItem {
        id, portfolio_id, investment_id,
        quantity: position.quantity,
        average_cost: position.average_cost,
        current_value: row.money_opt("current_value")?,
        unrealized_gain_loss: row.money_opt("unrealized_gain_loss")?,
        unrealized_gain_loss_percent: row
            .decimal_opt("unrealized_gain_loss_percent", Scale::Money)?,
        target_allocation: target(row)?,
        created_at, updated_at,
    }))
}

/// A stored trade, without the item it left (the history does not keep it).
pub(crate) fn trade(row: &Row) -> Result<Trade, RepoError> {
    Ok(from_row!(row => Trade {
        id, investment_id,
        side: row.parsed("side", Side::parse)?,
        quantity: row.kind("quantity", Scale::Fine, Quantity::new)?,
        price: row.kind("price", Scale::Fine, Price::new)?,
        fee: row.money("fee")?,
        date,
        realized_gain: row.money_opt("realized_gain")?,
        item: None,
    }))
}

/// Columns of an item joined with its security, as [`holding`] reads them.
pub(super) const HOLDING_COLUMNS: &str = "i.id AS item_id, i.investment_id, i.quantity, \
    i.average_cost, i.target_allocation, v.symbol, v.name, v.type, v.sector, v.country, \
    v.current_price";

/// A holding and its security's name.
pub(super) fn holding(row: &Row) -> Result<(Holding, String), RepoError> {
    let holding = from_row!(row => Holding {
        item_id, investment_id, symbol,
        investment_type: row.parsed("type", InvestmentType::parse)?,
        sector, country,
        position: position(row)?,
        price: row.kind_opt("current_price", Scale::Fine, Price::new)?,
        target_percent: target(row)?,
    });
    Ok((holding, row.get("name")?))
}
