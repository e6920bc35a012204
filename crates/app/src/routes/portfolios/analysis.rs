//! What a portfolio is worth and how to bring it to its targets: the summary and rebalancing.

use actix_web::{get, web};
use nestegg_application::portfolios::PortfolioSummary;
use nestegg_domain::decimal::to_text;
use nestegg_domain::portfolio::{ProposedTrade, Rebalance, Side, Slice, WeightAfter};
use nestegg_domain::{CurrencyCode, InvestmentType, Money, Percentage, Price, Quantity, UnitCost};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::Dec;
use crate::extract::Caller;
use crate::routes::{Reply, ok};

/// `GET /portfolios/{id}/summary`. Percentages are decimal strings at 4 places.
#[derive(Debug, Serialize)]
struct SummaryDto {
    currency: CurrencyCode,
    total_value: Money,
    total_cost: Money,
    unrealized_gain_loss: Money,
    unrealized_gain_loss_percent: Option<String>,
    realized_gain_loss: Money,
    max_drift_percent: Option<String>,
    items: Vec<SummaryItemDto>,
    allocation: AllocationDto,
    unpriced: Vec<Uuid>,
}

#[derive(Debug, Serialize)]
struct SummaryItemDto {
    item_id: Uuid,
    investment_id: Uuid,
    symbol: String,
    name: String,
    #[serde(rename = "type")]
    investment_type: InvestmentType,
    quantity: Quantity,
    average_cost: UnitCost,
    price: Option<Price>,
    cost_basis: Money,
    current_value: Option<Money>,
    unrealized_gain_loss: Option<Money>,
    unrealized_gain_loss_percent: Option<String>,
    weight_percent: Option<String>,
    target_percent: Option<Percentage>,
    drift_percent: Option<String>,
}

#[derive(Debug, Serialize)]
struct AllocationDto {
    by_type: Vec<SliceDto>,
    by_sector: Vec<SliceDto>,
    by_country: Vec<SliceDto>,
}

#[derive(Debug, Serialize)]
struct SliceDto {
    key: String,
    value: Money,
    weight_percent: String,
    target_percent: Option<Percentage>,
    drift_percent: Option<String>,
}

impl From<Slice> for SliceDto {
    fn from(s: Slice) -> Self {
        Self {
            key: s.key,
            value: s.value,
            weight_percent: to_text(s.weight_percent),
            target_percent: s.target_percent,
            drift_percent: s.drift_percent.map(to_text),
        }
    }
}

fn slices(v: Vec<Slice>) -> Vec<SliceDto> {
    v.into_iter().map(SliceDto::from).collect()
}

impl From<PortfolioSummary> for SummaryDto {
    fn from(PortfolioSummary { held, summary: s }: PortfolioSummary) -> Self {
        let items = held
            .holdings
            .into_iter()
            .zip(s.items)
            .map(|((h, name), f)| SummaryItemDto {
                item_id: h.item_id,
                investment_id: h.investment_id,
                symbol: h.symbol,
                name,
                investment_type: h.investment_type,
                quantity: h.position.quantity,
                average_cost: h.position.average_cost,
                price: h.price,
                cost_basis: f.cost_basis,
                current_value: f.current_value,
                unrealized_gain_loss: f.unrealized_gain_loss,
                unrealized_gain_loss_percent: f.unrealized_gain_loss_percent.map(to_text),
                weight_percent: f.weight_percent.map(to_text),
                target_percent: h.target_percent,
                drift_percent: f.drift_percent.map(to_text),
            })
            .collect();
        Self {
            currency: held.portfolio.currency,
            total_value: s.total_value,
            total_cost: s.total_cost,
            unrealized_gain_loss: s.unrealized_gain_loss,
            unrealized_gain_loss_percent: s.unrealized_gain_loss_percent.map(to_text),
            realized_gain_loss: held.realized_gain_loss,
            max_drift_percent: s.max_drift_percent.map(to_text),
            items,
            allocation: AllocationDto {
                by_type: slices(s.by_type),
                by_sector: slices(s.by_sector),
                by_country: slices(s.by_country),
            },
            unpriced: s.unpriced,
        }
    }
}

/// `GET /portfolios/{id}/rebalance`.
#[derive(Debug, Serialize)]
struct RebalanceDto {
    trades: Vec<ProposedTradeDto>,
    after: Vec<WeightDto>,
    cash_left: Money,
    unpriced: Vec<Uuid>,
}

#[derive(Debug, Serialize)]
struct ProposedTradeDto {
    investment_id: Uuid,
    symbol: String,
    side: Side,
    quantity: Quantity,
    amount: Money,
}

#[derive(Debug, Serialize)]
struct WeightDto {
    key: String,
    weight_percent: String,
    target_percent: Option<Percentage>,
}

impl From<Rebalance> for RebalanceDto {
    fn from(r: Rebalance) -> Self {
        Self {
            trades: r
                .trades
                .into_iter()
                .map(|t: ProposedTrade| ProposedTradeDto {
                    investment_id: t.investment_id,
                    symbol: t.symbol,
                    side: t.side,
                    quantity: t.quantity,
                    amount: t.amount,
                })
                .collect(),
            after: r
                .after
                .into_iter()
                .map(|a: WeightAfter| WeightDto {
                    key: a.key,
                    weight_percent: to_text(a.weight_percent),
                    target_percent: a.target_percent,
                })
                .collect(),
            cash_left: r.cash_left,
            unpriced: r.unpriced,
        }
    }
}

#[get("/portfolios/{id}/summary")]
pub(super) async fn summary(me: Caller, id: web::Path<Uuid>) -> Reply {
    let s = me.app.portfolios.summary(me.id, id.into_inner()).await?;
    ok(SummaryDto::from(s))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RebalanceQuery {
    cash: Option<Dec>,
    allow_sells: Option<bool>,
}

#[get("/portfolios/{id}/rebalance")]
pub(super) async fn rebalance(
    me: Caller,
    id: web::Path<Uuid>,
    query: web::Query<RebalanceQuery>,
) -> Reply {
    let r = me
        .app
        .portfolios
        .rebalance(
            me.id,
            id.into_inner(),
            query.cash.map(|d| d.0),
            query.allow_sells,
        )
        .await?;
    ok(RebalanceDto::from(r))
}
