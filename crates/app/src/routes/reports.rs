//! Overview, history, cash flow and exchange rates.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, get, put, web};
use chrono::NaiveDate;
use nestegg_application::reports::{DatedOverview, PeriodCashflow};
use nestegg_domain::report::HistoryPoint;
use nestegg_domain::{AccountClass, AccountType, CurrencyCode, Money, Rate};
use nestegg_ports::FxRate;
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{Dec, Items, Json, Query};
use crate::extract::Caller;
use crate::routes::{Reply, ok, timestamp};

/// Configures the report routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(overview)
        .service(history)
        .service(cashflow)
        .service(put_rate)
        .service(list_rates);
}

/// A report's JSON text as rendered here and cached by the application.
fn json_text(text: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(text)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OverviewDto {
    #[schema(value_type = crate::openapi::schema::Currency)]
    base_currency: CurrencyCode,
    as_of: NaiveDate,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    net_worth: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_assets: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_liabilities: Money,
    by_type: Vec<TypeDto>,
    by_institution: Vec<InstitutionDto>,
    accounts: Vec<AccountLineDto>,
    unconverted: Vec<Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TypeDto {
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::schema::AccountType)]
    account_type: AccountType,
    #[schema(value_type = crate::openapi::schema::AccountClass)]
    class: AccountClass,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total: Money,
    count: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InstitutionDto {
    institution_name: Option<String>,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_assets: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_liabilities: Money,
    count: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AccountLineDto {
    id: Uuid,
    name: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::schema::AccountType)]
    account_type: AccountType,
    #[schema(value_type = crate::openapi::schema::AccountClass)]
    class: AccountClass,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    balance: Money,
    #[schema(value_type = crate::openapi::schema::Currency)]
    currency: CurrencyCode,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    balance_in_base: Option<Money>,
}

impl From<DatedOverview> for OverviewDto {
    fn from(d: DatedOverview) -> Self {
        let o = d.overview;
        Self {
            base_currency: o.base_currency,
            as_of: d.as_of,
            net_worth: o.net_worth,
            total_assets: o.total_assets,
            total_liabilities: o.total_liabilities,
            by_type: o
                .by_type
                .into_iter()
                .map(|t| TypeDto {
                    account_type: t.account_type,
                    class: t.class,
                    total: t.total,
                    count: t.count,
                })
                .collect(),
            by_institution: o
                .by_institution
                .into_iter()
                .map(|i| InstitutionDto {
                    institution_name: i.institution_name,
                    total_assets: i.total_assets,
                    total_liabilities: i.total_liabilities,
                    count: i.count,
                })
                .collect(),
            accounts: o
                .accounts
                .into_iter()
                .map(|l| AccountLineDto {
                    id: l.account.id,
                    name: l.account.name,
                    account_type: l.account.account_type,
                    class: l.class,
                    balance: l.account.balance,
                    currency: l.account.currency,
                    balance_in_base: l.balance_in_base,
                })
                .collect(),
            unconverted: o.unconverted,
        }
    }
}

#[utoipa::path(
    operation_id = "get_overview", tag = "reports",
    summary = "Net worth today, by type, institution and account.",
    responses((status = 200, description = "Overview", body = OverviewDto)),
)]
#[get("/overview")]
async fn overview(me: Caller) -> Reply {
    let json = me
        .app
        .reports
        .overview_json(me.id, OverviewDto::from)
        .await?;
    Ok(json_text(json))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    #[param(value_type = Option<crate::openapi::schema::Interval>)]
    interval: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct HistoryPointDto {
    date: NaiveDate,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_assets: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_liabilities: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
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

#[utoipa::path(
    operation_id = "overview_history", tag = "reports", params(HistoryQuery),
    summary = "The net-worth trend from the ledger.",
    responses((status = 200, description = "Points, oldest first", body = Items<HistoryPointDto>)),
)]
#[get("/overview/history")]
async fn history(me: Caller, query: Query<HistoryQuery>) -> Reply {
    let json = me
        .app
        .reports
        .history_json(
            me.id,
            query.from,
            query.to,
            query.interval.as_deref(),
            Items::<HistoryPointDto>::from,
        )
        .await?;
    Ok(json_text(json))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CashflowQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    #[param(value_type = Option<crate::openapi::schema::CashflowGrouping>)]
    group_by: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct GroupDto {
    key: Option<String>,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    income: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    expenses: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    net: Money,
    count: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CashflowDto {
    #[schema(value_type = crate::openapi::schema::Currency)]
    base_currency: CurrencyCode,
    from: NaiveDate,
    to: NaiveDate,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    income: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    expenses: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    net: Money,
    groups: Vec<GroupDto>,
    #[schema(value_type = Vec<crate::openapi::schema::Currency>)]
    unconverted_currencies: Vec<CurrencyCode>,
}

impl From<PeriodCashflow> for CashflowDto {
    fn from(period: PeriodCashflow) -> Self {
        let c = period.cashflow;
        Self {
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
        }
    }
}

#[utoipa::path(
    operation_id = "get_cashflow", tag = "reports", params(CashflowQuery),
    summary = "Income and expenses over a period, grouped.",
    responses((status = 200, description = "Cash flow", body = CashflowDto)),
)]
#[get("/cashflow")]
async fn cashflow(me: Caller, query: Query<CashflowQuery>) -> Reply {
    let json = me
        .app
        .reports
        .cashflow_json(
            me.id,
            query.from,
            query.to,
            query.group_by.as_deref(),
            CashflowDto::from,
        )
        .await?;
    Ok(json_text(json))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RateBody {
    rate: Dec,
    date: Option<NaiveDate>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RateDto {
    #[schema(value_type = crate::openapi::schema::Currency)]
    currency: CurrencyCode,
    #[schema(value_type = crate::openapi::schema::Currency)]
    base_currency: CurrencyCode,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    rate: Rate,
    date: NaiveDate,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
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

#[utoipa::path(
    operation_id = "put_fx_rate", tag = "reports",
    summary = "Set the rate of a currency into the base currency.",
    responses((status = 200, description = "The rate", body = RateDto)),
)]
#[put("/fx-rates/{currency}")]
async fn put_rate(me: Caller, currency: web::Path<String>, body: Json<RateBody>) -> Reply {
    let stored = me
        .app
        .reports
        .put_rate(me.id, &currency, body.rate.0, body.date)
        .await?;
    ok(RateDto::from(stored))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RatesDto {
    #[schema(value_type = crate::openapi::schema::Currency)]
    base_currency: CurrencyCode,
    items: Vec<RateDto>,
}

#[utoipa::path(
    operation_id = "list_fx_rates", tag = "reports", summary = "The caller's exchange rates.",
    responses((status = 200, description = "Rates", body = RatesDto)),
)]
#[get("/fx-rates")]
async fn list_rates(me: Caller) -> Reply {
    let (base, rates) = me.app.reports.rates_list(me.id).await?;
    ok(RatesDto {
        base_currency: base,
        items: rates.into_iter().map(RateDto::from).collect(),
    })
}
