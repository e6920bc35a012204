//! Securities and their prices.

use actix_web::{get, post, put, web};
use chrono::NaiveDate;
use nestegg_application::investments::InvestmentInput;
use nestegg_domain::{InvestmentType, Money, Percentage, Price};
use nestegg_ports::{Investment, PricePoint};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::{
    Dec, Items, Page, RangeQuery, decode_key_cursor, encode_key_cursor, parse_cursor,
};
use crate::extract::Caller;
use crate::routes::{Reply, created, ok};

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
pub(crate) struct InvestmentDto {
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
async fn list(me: Caller, query: web::Query<ListQuery>) -> Reply {
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
async fn create(me: Caller, body: web::Json<CreateBody>) -> Reply {
    let b = body.into_inner();
    let stored = me
        .app
        .investments
        .create(
            me.id,
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
    created(InvestmentDto::from(stored))
}

#[get("/investments/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    ok(InvestmentDto::from(
        me.app.investments.get(me.id, id.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceBody {
    price: Dec,
    date: Option<NaiveDate>,
}

#[put("/investments/{id}/price")]
async fn put_price(me: Caller, id: web::Path<Uuid>, body: web::Json<PriceBody>) -> Reply {
    let i = me
        .app
        .investments
        .put_price(me.id, id.into_inner(), body.price.0, body.date)
        .await?;
    ok(InvestmentDto::from(i))
}

#[derive(Debug, Serialize)]
pub(crate) struct PriceDto {
    date: NaiveDate,
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

#[get("/investments/{id}/prices")]
async fn prices(me: Caller, id: web::Path<Uuid>, range: web::Query<RangeQuery>) -> Reply {
    let points = me
        .app
        .investments
        .prices(me.id, id.into_inner(), range.from, range.to)
        .await?;
    ok(Items::<PriceDto>::from(points))
}
