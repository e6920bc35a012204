//! Overview, history, cash flow and exchange rates.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, get, put, web};
use chrono::NaiveDate;
use nestegg_domain::report::{Cashflow, HistoryPoint};
use nestegg_domain::{CurrencyCode, Money, Rate};
use nestegg_ports::FxRate;
use serde::{Deserialize, Serialize};

use crate::dto::{Dec, Items};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::timestamp;
use crate::startup::AppState;

/// Configures the report routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(overview)
        .service(history)
        .service(cashflow)
        .service(put_rate)
        .service(list_rates);
}

/// Answers with the overview's JSON text as the application produced (or cached) it.
#[get("/overview")]
async fn overview(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let json = state.reports.overview_json(user.0).await?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(json))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    interval: Option<String>,
}

#[derive(Debug, Serialize)]
struct HistoryPointDto {
    date: NaiveDate,
    total_assets: Money,
    total_liabilities: Money,
    net_worth: Money,
}

impl From<HistoryPoint> for HistoryPointDto {
    fn from(p: HistoryPoint) -> Self {
        Self {
            date: p.date,
            total_assets: p.total_assets,
            total_liabilities: p.total_liabilities,
            net_worth: p.net_worth,
        }
    }
}

#[get("/overview/history")]
async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let points = state
        .reports
        .history(user.0, query.from, query.to, query.interval.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(Items {
        items: points
            .into_iter()
            .map(HistoryPointDto::from)
            .collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CashflowQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    group_by: Option<String>,
}

#[derive(Debug, Serialize)]
struct GroupDto {
    key: Option<String>,
    income: Money,
    expenses: Money,
    net: Money,
    count: u64,
}

#[derive(Debug, Serialize)]
struct CashflowDto {
    base_currency: CurrencyCode,
    from: NaiveDate,
    to: NaiveDate,
    income: Money,
    expenses: Money,
    net: Money,
    groups: Vec<GroupDto>,
    unconverted_currencies: Vec<CurrencyCode>,
}

#[get("/cashflow")]
async fn cashflow(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<CashflowQuery>,
) -> Result<HttpResponse, ApiError> {
    let period = state
        .reports
        .cashflow(user.0, query.from, query.to, query.group_by.as_deref())
        .await?;
    let c: Cashflow = period.cashflow;
    Ok(HttpResponse::Ok().json(CashflowDto {
        base_currency: period.base_currency,
        from: period.from,
        to: period.to,
        income: c.income,
        expenses: c.expenses,
        net: c.net,
        groups: c
            .groups
            .into_iter()
            .map(|g| GroupDto {
                key: g.key,
                income: g.income,
                expenses: g.expenses,
                net: g.net,
                count: g.count,
            })
            .collect(),
        unconverted_currencies: c.unconverted_currencies,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    rate: Dec,
    date: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct RateDto {
    currency: CurrencyCode,
    base_currency: CurrencyCode,
    rate: Rate,
    date: NaiveDate,
    updated_at: String,
}

impl From<FxRate> for RateDto {
    fn from(r: FxRate) -> Self {
        Self {
            currency: r.currency,
            base_currency: r.base_currency,
            rate: r.rate,
            date: r.date,
            updated_at: timestamp(r.updated_at),
        }
    }
}

#[put("/fx-rates/{currency}")]
async fn put_rate(
    state: web::Data<AppState>,
    user: AuthUser,
    currency: web::Path<String>,
    body: web::Json<RateBody>,
) -> Result<HttpResponse, ApiError> {
    let stored = state
        .reports
        .put_rate(user.0, &currency, body.rate.0, body.date)
        .await?;
    Ok(HttpResponse::Ok().json(RateDto::from(stored)))
}

#[derive(Debug, Serialize)]
struct RatesDto {
    base_currency: CurrencyCode,
    items: Vec<RateDto>,
}

#[get("/fx-rates")]
async fn list_rates(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (base, rates) = state.reports.rates_list(user.0).await?;
    Ok(HttpResponse::Ok().json(RatesDto {
        base_currency: base,
        items: rates.into_iter().map(RateDto::from).collect(),
    }))
}
