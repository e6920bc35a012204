//! Portfolios, their items, trades, summary and rebalancing.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use nestegg_application::AppError;
use nestegg_application::portfolios::{
    ItemInput, ItemPatch, PortfolioInput, PortfolioPatch, TradeInput,
};
use nestegg_domain::portfolio::Side;
use nestegg_domain::{CurrencyCode, Money, Percentage, Price, Quantity, UnitCost};
use nestegg_ports::{Portfolio, PortfolioItem, Trade};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::{Dec, Items, Page, decode_cursor, encode_cursor, not_null, parse_cursor, present};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::timestamp;
use crate::startup::AppState;

/// Configures the portfolio routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(remove)
        .service(items)
        .service(add_item)
        .service(update_item)
        .service(delete_item)
        .service(trade)
        .service(trades)
        .service(summary)
        .service(rebalance);
}

#[derive(Debug, Serialize)]
struct PortfolioDto {
    id: Uuid,
    name: String,
    description: Option<String>,
    currency: CurrencyCode,
    is_default: bool,
    target_allocation: BTreeMap<String, Percentage>,
    total_value: Money,
    created_at: String,
    updated_at: String,
}

impl From<Portfolio> for PortfolioDto {
    fn from(p: Portfolio) -> Self {
        Self {
            id: p.id,
            name: p.name,
            description: p.description,
            currency: p.currency,
            is_default: p.is_default,
            target_allocation: p
                .target_allocation
                .into_iter()
                .map(|(t, v)| (t.as_str().to_owned(), v))
                .collect(),
            total_value: p.total_value,
            created_at: timestamp(p.created_at),
            updated_at: timestamp(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
struct ItemDto {
    id: Uuid,
    portfolio_id: Uuid,
    investment_id: Uuid,
    quantity: Quantity,
    average_cost: UnitCost,
    current_value: Option<Money>,
    unrealized_gain_loss: Option<Money>,
    unrealized_gain_loss_percent: Option<String>,
    target_allocation: Option<Percentage>,
    created_at: String,
    updated_at: String,
}

impl From<PortfolioItem> for ItemDto {
    fn from(i: PortfolioItem) -> Self {
        Self {
            id: i.id,
            portfolio_id: i.portfolio_id,
            investment_id: i.investment_id,
            quantity: i.quantity,
            average_cost: i.average_cost,
            current_value: i.current_value,
            unrealized_gain_loss: i.unrealized_gain_loss,
            unrealized_gain_loss_percent: i
                .unrealized_gain_loss_percent
                .map(nestegg_domain::decimal::to_text),
            target_allocation: i.target_allocation,
            created_at: timestamp(i.created_at),
            updated_at: timestamp(i.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
struct TradeDto {
    id: Uuid,
    investment_id: Uuid,
    side: Side,
    quantity: Quantity,
    price: Price,
    fee: Money,
    date: NaiveDate,
    realized_gain: Option<Money>,
    /// After a trade: the item, or `null` when a sell emptied it; absent in the history.
    #[serde(skip_serializing_if = "Option::is_none")]
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

fn targets(raw: Option<BTreeMap<String, Dec>>) -> Option<BTreeMap<String, Decimal>> {
    raw.map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    description: Option<String>,
    currency: Option<String>,
    is_default: Option<bool>,
    target_allocation: Option<BTreeMap<String, Dec>>,
}

#[get("/portfolios")]
async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let all = state.portfolios.list(user.0).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: all.into_iter().map(PortfolioDto::from).collect::<Vec<_>>(),
    }))
}

#[post("/portfolios")]
async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let p = state
        .portfolios
        .create(
            user.0,
            PortfolioInput {
                name: b.name,
                description: b.description,
                currency: b.currency,
                is_default: b.is_default,
                target_allocation: targets(b.target_allocation),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(PortfolioDto::from(p)))
}

#[get("/portfolios/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let p = state.portfolios.get(user.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(PortfolioDto::from(p)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    is_default: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    target_allocation: Option<Option<BTreeMap<String, Dec>>>,
}

#[patch("/portfolios/{id}")]
async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut nulls = BTreeMap::new();
    let name = not_null("name", b.name, &mut nulls);
    let is_default = not_null("is_default", b.is_default, &mut nulls);
    let target_allocation = not_null("target_allocation", b.target_allocation, &mut nulls);
    if !nulls.is_empty() {
        return Err(AppError::Validation(nulls).into());
    }
    let p = state
        .portfolios
        .update(
            user.0,
            id.into_inner(),
            PortfolioPatch {
                name,
                description: b.description,
                is_default,
                target_allocation: targets(target_allocation),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(PortfolioDto::from(p)))
}

#[delete("/portfolios/{id}")]
async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.portfolios.delete(user.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[get("/portfolios/{id}/items")]
async fn items(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let all = state.portfolios.items(user.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: all.into_iter().map(ItemDto::from).collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    investment_id: Uuid,
    quantity: Dec,
    average_cost: Dec,
    target_allocation: Option<Dec>,
}

#[post("/portfolios/{id}/items")]
async fn add_item(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ItemBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let item = state
        .portfolios
        .add_item(
            user.0,
            id.into_inner(),
            ItemInput {
                investment_id: b.investment_id,
                quantity: b.quantity.0,
                average_cost: b.average_cost.0,
                target_allocation: b.target_allocation.map(|d| d.0),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(ItemDto::from(item)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemPatchBody {
    #[serde(default, deserialize_with = "present")]
    quantity: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    average_cost: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    target_allocation: Option<Option<Dec>>,
}

#[patch("/portfolios/{id}/items/{item_id}")]
async fn update_item(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<ItemPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    let b = body.into_inner();
    let mut nulls = BTreeMap::new();
    let quantity = not_null("quantity", b.quantity, &mut nulls);
    let average_cost = not_null("average_cost", b.average_cost, &mut nulls);
    if !nulls.is_empty() {
        return Err(AppError::Validation(nulls).into());
    }
    let item = state
        .portfolios
        .update_item(
            user.0,
            id,
            item_id,
            ItemPatch {
                quantity: quantity.map(|d| d.0),
                average_cost: average_cost.map(|d| d.0),
                target_allocation: b.target_allocation.map(|t| t.map(|d| d.0)),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ItemDto::from(item)))
}

#[delete("/portfolios/{id}/items/{item_id}")]
async fn delete_item(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    state.portfolios.delete_item(user.0, id, item_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TradeBody {
    investment_id: Uuid,
    side: String,
    quantity: Dec,
    price: Dec,
    fee: Option<Dec>,
    date: NaiveDate,
}

#[post("/portfolios/{id}/trades")]
async fn trade(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<TradeBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let t = state
        .portfolios
        .trade(
            user.0,
            id.into_inner(),
            TradeInput {
                investment_id: b.investment_id,
                side: b.side,
                quantity: b.quantity.0,
                price: b.price.0,
                fee: b.fee.map(|d| d.0),
                date: b.date,
            },
        )
        .await?;
    let item = t.item.clone().map(ItemDto::from);
    let mut dto = TradeDto::from(t);
    dto.item = Some(item);
    Ok(HttpResponse::Created().json(dto))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The trade history, newest first, paged (an addition to the contract).
#[get("/portfolios/{id}/trades")]
async fn trades(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let after = parse_cursor(query.cursor.as_deref(), decode_cursor)?;
    let (page, next) = state
        .portfolios
        .trades(user.0, id.into_inner(), after, query.limit)
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.into_iter().map(TradeDto::from).collect(),
        next_cursor: next.map(|(d, id)| encode_cursor(d, id)),
    }))
}

#[get("/portfolios/{id}/summary")]
async fn summary(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let s = state.portfolios.summary(user.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RebalanceQuery {
    cash: Option<Dec>,
    allow_sells: Option<bool>,
}

#[get("/portfolios/{id}/rebalance")]
async fn rebalance(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<RebalanceQuery>,
) -> Result<HttpResponse, ApiError> {
    let r = state
        .portfolios
        .rebalance(
            user.0,
            id.into_inner(),
            query.cash.map(|d| d.0),
            query.allow_sells,
        )
        .await?;
    Ok(HttpResponse::Ok().json(r))
}
