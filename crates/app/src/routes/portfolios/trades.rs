//! Trades: buying and selling into a portfolio, and the trade history.

use actix_web::{get, post, web};
use chrono::NaiveDate;
use nestegg_application::portfolios::TradeInput;
use nestegg_domain::portfolio::Side;
use nestegg_domain::{Money, Price, Quantity};
use nestegg_ports::Trade;
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::items::ItemDto;
use crate::dto::{Dec, Json, Page, Query, decode_cursor, encode_cursor, parse_cursor};
use crate::extract::Caller;
use crate::routes::{Reply, created, ok};

/// Configures the portfolio trade routes.
pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(trade).service(trades);
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TradeDto {
    id: Uuid,
    investment_id: Uuid,
    #[schema(value_type = crate::openapi::schema::Side)]
    side: Side,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    quantity: Quantity,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    price: Price,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    fee: Money,
    date: NaiveDate,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    realized_gain: Option<Money>,
    /// After a trade: the item, or `null` when a sell emptied it; absent in the history.
    /// Only in the answer to a trade: the holding after it, `null` when a sale closed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ItemDto>)]
    item: Option<Option<ItemDto>>,
}

impl From<Trade> for TradeDto {
    fn from(t: Trade) -> Self {
        Self {
            id: t.id,
            investment_id: t.investment_id,
            side: t.side,
            quantity: t.quantity,
            price: t.price,
            fee: t.fee,
            date: t.date,
            realized_gain: t.realized_gain,
            item: None,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TradeBody {
    investment_id: Uuid,
    #[schema(value_type = crate::openapi::schema::Side)]
    side: String,
    quantity: Dec,
    price: Dec,
    fee: Option<Dec>,
    date: NaiveDate,
}

impl From<TradeBody> for TradeInput {
    fn from(body: TradeBody) -> Self {
        Self {
            investment_id: body.investment_id,
            side: body.side,
            quantity: body.quantity.0,
            price: body.price.0,
            fee: body.fee.map(|d| d.0),
            date: body.date,
        }
    }
}

#[utoipa::path(
    operation_id = "create_trade", tag = "portfolios",
    summary = "Buy or sell: the holding and realized gain follow.",
    responses(
        (status = 201, description = "The trade with the holding after it (`item` is null when a sale closed it)", body = TradeDto),
    ),
)]
#[post("/portfolios/{id}/trades")]
async fn trade(me: Caller, id: web::Path<Uuid>, body: Json<TradeBody>) -> Reply {
    let input = TradeInput::from(body.into_inner());
    let t = me
        .app
        .portfolios
        .trade(me.id, id.into_inner(), input)
        .await?;
    let item = t.item.clone().map(ItemDto::from);
    let mut dto = TradeDto::from(t);
    dto.item = Some(item);
    created(dto)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The trade history, newest first, paged (an addition to the contract).
#[utoipa::path(
    operation_id = "list_trades", tag = "portfolios", params(PageQuery),
    summary = "A portfolio's trades, newest first, a page at a time.",
    responses((status = 200, description = "A page", body = Page<TradeDto>)),
)]
#[get("/portfolios/{id}/trades")]
async fn trades(me: Caller, id: web::Path<Uuid>, query: Query<PageQuery>) -> Reply {
    let after = parse_cursor(query.cursor.as_deref(), decode_cursor)?;
    let (page, next) = me
        .app
        .portfolios
        .trades(me.id, id.into_inner(), after, query.limit)
        .await?;
    ok(Page {
        items: page.into_iter().map(TradeDto::from).collect(),
        next_cursor: next.map(|(d, id)| encode_cursor(d, id)),
    })
}
