//! What a portfolio is worth and how to bring it to its targets: the summary and rebalancing.

use actix_web::{get, web};
use nestegg_application::portfolios::PortfolioSummary;
use nestegg_domain::decimal::to_text;
use nestegg_domain::portfolio::{ProposedTrade, Rebalance, Side, Slice, WeightAfter};
use nestegg_domain::{CurrencyCode, InvestmentType, Money, Percentage, Price, Quantity, UnitCost};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{Dec, Query};
use crate::extract::Caller;
use crate::routes::{Reply, ok};

/// Configures the portfolio summary and rebalancing routes.
pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(summary).service(rebalance);
}

/// `GET /portfolios/{id}/summary`. Percentages are decimal strings at 4 places.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SummaryDto {
    #[schema(value_type = crate::openapi::schema::Currency)]
    currency: CurrencyCode,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_value: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_cost: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    unrealized_gain_loss: Money,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    unrealized_gain_loss_percent: Option<String>,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    realized_gain_loss: Money,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    max_drift_percent: Option<String>,
    items: Vec<SummaryItemDto>,
    allocation: AllocationDto,
    unpriced: Vec<Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SummaryItemDto {
    item_id: Uuid,
    investment_id: Uuid,
    symbol: String,
    name: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::schema::InvestmentType)]
    investment_type: InvestmentType,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    quantity: Quantity,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    average_cost: UnitCost,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    price: Option<Price>,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    cost_basis: Money,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    current_value: Option<Money>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    unrealized_gain_loss: Option<Money>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    unrealized_gain_loss_percent: Option<String>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    weight_percent: Option<String>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    target_percent: Option<Percentage>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    drift_percent: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AllocationDto {
    by_type: Vec<SliceDto>,
    by_sector: Vec<SliceDto>,
    by_country: Vec<SliceDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SliceDto {
    key: String,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    value: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    weight_percent: String,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    target_percent: Option<Percentage>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RebalanceDto {
    trades: Vec<ProposedTradeDto>,
    after: Vec<WeightDto>,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    cash_left: Money,
    unpriced: Vec<Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProposedTradeDto {
    investment_id: Uuid,
    symbol: String,
    #[schema(value_type = crate::openapi::schema::Side)]
    side: Side,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    quantity: Quantity,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    amount: Money,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct WeightDto {
    key: String,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    weight_percent: String,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
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

#[utoipa::path(
    operation_id = "portfolio_summary", tag = "portfolios",
    summary = "Value, gain/loss, allocation and drift.",
    responses((status = 200, description = "Summary", body = SummaryDto)),
)]
#[get("/portfolios/{id}/summary")]
async fn summary(me: Caller, id: web::Path<Uuid>) -> Reply {
    let s = me.app.portfolios.summary(me.id, id.into_inner()).await?;
    ok(SummaryDto::from(s))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RebalanceQuery {
    cash: Option<Dec>,
    allow_sells: Option<bool>,
}

#[utoipa::path(
    operation_id = "portfolio_rebalance", tag = "portfolios", params(RebalanceQuery),
    summary = "The trades that bring the portfolio back to its targets.",
    responses((status = 200, description = "Suggested trades", body = RebalanceDto)),
)]
#[get("/portfolios/{id}/rebalance")]
async fn rebalance(me: Caller, id: web::Path<Uuid>, query: Query<RebalanceQuery>) -> Reply {
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
