//! Securities and their prices.

use actix_web::{get, post, put, web};
use chrono::NaiveDate;
use nestegg_application::investments::InvestmentInput;
use nestegg_domain::{InvestmentType, Money, Percentage, Price};
use nestegg_ports::{Investment, PricePoint};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{
    Dec, Items, Json, Page, Query, RangeQuery, decode_key_cursor, encode_key_cursor, parse_cursor,
};
use crate::error::Envelope;
use crate::extract::Caller;
use crate::routes::{Reply, created, ok};

/// Configures the security routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(put_price)
        .service(prices);
}

/// A security as the API shows it; `owner` is `"me"` for the caller's private ones.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InvestmentDto {
    id: Uuid,
    symbol: String,
    name: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::schema::InvestmentType)]
    investment_type: InvestmentType,
    exchange: Option<String>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    current_price: Option<Price>,
    price_date: Option<NaiveDate>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    market_cap: Option<Money>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    pe_ratio: Option<Money>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    dividend_yield: Option<Percentage>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    expense_ratio: Option<Percentage>,
    sector: Option<String>,
    industry: Option<String>,
    country: Option<String>,
    owner: Option<&'static str>,
}

impl From<Investment> for InvestmentDto {
    fn from(i: Investment) -> Self {
        Self {
            id: i.id,
            symbol: i.symbol,
            name: i.name,
            investment_type: i.investment_type,
            exchange: i.exchange,
            current_price: i.current_price,
            price_date: i.price_date,
            market_cap: i.market_cap,
            pe_ratio: i.pe_ratio,
            dividend_yield: i.dividend_yield,
            expense_ratio: i.expense_ratio,
            sector: i.sector,
            industry: i.industry,
            country: i.country,
            // Only the owner ever sees a private security, so any owner is the caller.
            owner: i.owner.map(|_| "me"),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    symbol: Option<String>,
    q: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[utoipa::path(
    operation_id = "list_investments", tag = "investments", params(ListQuery),
    summary = "Securities: shared ones and the caller's private ones.",
    responses((status = 200, description = "A page", body = Page<InvestmentDto>)),
)]
#[get("/investments")]
async fn list(me: Caller, query: Query<ListQuery>) -> Reply {
    let q = query.into_inner();
    let after = parse_cursor(q.cursor.as_deref(), decode_key_cursor)?;
    let page = me
        .app
        .investments
        .list(me.id, q.symbol, q.q, q.limit, after)
        .await?;
    ok(Page {
        items: page.items.into_iter().map(InvestmentDto::from).collect(),
        next_cursor: page.next.map(|(s, id)| encode_key_cursor(&s, id)),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewInvestmentBody {
    symbol: String,
    #[schema(min_length = 1, max_length = 255)]
    name: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::schema::InvestmentType)]
    investment_type: String,
    #[schema(max_length = 64)]
    exchange: Option<String>,
    market_cap: Option<Dec>,
    pe_ratio: Option<Dec>,
    dividend_yield: Option<Dec>,
    expense_ratio: Option<Dec>,
    #[schema(max_length = 128)]
    sector: Option<String>,
    #[schema(max_length = 128)]
    industry: Option<String>,
    #[schema(max_length = 64)]
    country: Option<String>,
}

impl From<NewInvestmentBody> for InvestmentInput {
    fn from(body: NewInvestmentBody) -> Self {
        Self {
            symbol: body.symbol,
            name: body.name,
            investment_type: body.investment_type,
            exchange: body.exchange,
            market_cap: body.market_cap.map(|d| d.0),
            pe_ratio: body.pe_ratio.map(|d| d.0),
            dividend_yield: body.dividend_yield.map(|d| d.0),
            expense_ratio: body.expense_ratio.map(|d| d.0),
            sector: body.sector,
            industry: body.industry,
            country: body.country,
        }
    }
}

#[utoipa::path(
    operation_id = "create_investment", tag = "investments", summary = "Create a private security.",
    responses(
        (status = 201, description = "Created", body = InvestmentDto),
        (status = 409, description = "The caller already has a security with this symbol", body = Envelope),
    ),
)]
#[post("/investments")]
async fn create(me: Caller, body: Json<NewInvestmentBody>) -> Reply {
    let input = InvestmentInput::from(body.into_inner());
    let stored = me.app.investments.create(me.id, input).await?;
    created(InvestmentDto::from(stored))
}

#[utoipa::path(
    operation_id = "get_investment", tag = "investments", summary = "One security.",
    responses((status = 200, description = "The security", body = InvestmentDto)),
)]
#[get("/investments/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    ok(InvestmentDto::from(
        me.app.investments.get(me.id, id.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PriceBody {
    price: Dec,
    date: Option<NaiveDate>,
}

#[utoipa::path(
    operation_id = "put_investment_price", tag = "investments",
    summary = "Record a price; holdings are revalued.",
    responses(
        (status = 200, description = "The security", body = InvestmentDto),
        (status = 403, description = "Shared securities are priced by the server", body = Envelope),
    ),
)]
#[put("/investments/{id}/price")]
async fn put_price(me: Caller, id: web::Path<Uuid>, body: Json<PriceBody>) -> Reply {
    let i = me
        .app
        .investments
        .put_price(me.id, id.into_inner(), body.price.0, body.date)
        .await?;
    ok(InvestmentDto::from(i))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PriceDto {
    date: NaiveDate,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    price: Price,
}

impl From<PricePoint> for PriceDto {
    fn from(p: PricePoint) -> Self {
        Self {
            date: p.date,
            price: p.price,
        }
    }
}

#[utoipa::path(
    operation_id = "list_investment_prices", tag = "investments", params(RangeQuery),
    summary = "A security's price history.",
    responses((status = 200, description = "Prices, oldest first", body = Items<PriceDto>)),
)]
#[get("/investments/{id}/prices")]
async fn prices(me: Caller, id: web::Path<Uuid>, range: Query<RangeQuery>) -> Reply {
    let points = me
        .app
        .investments
        .prices(me.id, id.into_inner(), range.from, range.to)
        .await?;
    ok(Items::<PriceDto>::from(points))
}
