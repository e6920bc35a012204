//! Securities and their prices.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use nestegg_application::investments::InvestmentInput;
use nestegg_domain::{InvestmentType, Money, Percentage, Price};
use nestegg_ports::{Investment, PricePoint};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::{Dec, Items, Page, decode_key_cursor, encode_key_cursor, parse_cursor};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::state::AppState;

/// Configures the security routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(put_price)
        .service(prices);
}

/// A security as the API shows it; `owner` is `"me"` for the caller's private ones.
#[derive(Debug, Serialize)]
struct InvestmentDto {
    id: Uuid,
    symbol: String,
    name: String,
    #[serde(rename = "type")]
    investment_type: InvestmentType,
    exchange: Option<String>,
    current_price: Option<Price>,
    price_date: Option<NaiveDate>,
    market_cap: Option<Money>,
    pe_ratio: Option<Money>,
    dividend_yield: Option<Percentage>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    symbol: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[get("/investments")]
async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let after = parse_cursor(q.cursor.as_deref(), decode_key_cursor)?;
    let page = state
        .investments
        .list(user.0, q.symbol, q.q, q.limit, after)
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.into_iter().map(InvestmentDto::from).collect(),
        next_cursor: page.next.map(|(s, id)| encode_key_cursor(&s, id)),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    symbol: String,
    name: String,
    #[serde(rename = "type")]
    investment_type: String,
    exchange: Option<String>,
    market_cap: Option<Dec>,
    pe_ratio: Option<Dec>,
    dividend_yield: Option<Dec>,
    expense_ratio: Option<Dec>,
    sector: Option<String>,
    industry: Option<String>,
    country: Option<String>,
}

#[post("/investments")]
async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let created = state
        .investments
        .create(
            user.0,
            InvestmentInput {
                symbol: b.symbol,
                name: b.name,
                investment_type: b.investment_type,
                exchange: b.exchange,
                market_cap: b.market_cap.map(|d| d.0),
                pe_ratio: b.pe_ratio.map(|d| d.0),
                dividend_yield: b.dividend_yield.map(|d| d.0),
                expense_ratio: b.expense_ratio.map(|d| d.0),
                sector: b.sector,
                industry: b.industry,
                country: b.country,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(InvestmentDto::from(created)))
}

#[get("/investments/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let i = state.investments.get(user.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(InvestmentDto::from(i)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceBody {
    price: Dec,
    date: Option<NaiveDate>,
}

#[put("/investments/{id}/price")]
async fn put_price(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<PriceBody>,
) -> Result<HttpResponse, ApiError> {
    let i = state
        .investments
        .put_price(user.0, id.into_inner(), body.price.0, body.date)
        .await?;
    Ok(HttpResponse::Ok().json(InvestmentDto::from(i)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct PriceDto {
    date: NaiveDate,
    price: Price,
}

#[get("/investments/{id}/prices")]
async fn prices(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    range: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let points: Vec<PricePoint> = state
        .investments
        .prices(user.0, id.into_inner(), range.from, range.to)
        .await?;
    Ok(HttpResponse::Ok().json(Items {
        items: points
            .into_iter()
            .map(|p| PriceDto {
                date: p.date,
                price: p.price,
            })
            .collect::<Vec<_>>(),
    }))
}
