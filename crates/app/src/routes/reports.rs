//! Overview, history, cash flow and exchange rates.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, get, put, web};
use chrono::NaiveDate;
use nestegg_application::reports::{DatedOverview, PeriodCashflow};
use nestegg_domain::report::HistoryPoint;
use nestegg_domain::{AccountClass, AccountType, CurrencyCode, Money, Rate};
use nestegg_ports::FxRate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::{Dec, Items};
use crate::extract::Caller;
use crate::routes::{Reply, ok, timestamp};

/// Configures the report routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
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

#[derive(Debug, Serialize)]
struct OverviewDto {
    base_currency: CurrencyCode,
    as_of: NaiveDate,
    net_worth: Money,
    total_assets: Money,
    total_liabilities: Money,
    by_type: Vec<TypeDto>,
    by_institution: Vec<InstitutionDto>,
    accounts: Vec<AccountLineDto>,
    unconverted: Vec<Uuid>,
}

#[derive(Debug, Serialize)]
struct TypeDto {
    #[serde(rename = "type")]
    account_type: AccountType,
    class: AccountClass,
    total: Money,
    count: usize,
}

#[derive(Debug, Serialize)]
struct InstitutionDto {
    institution_name: Option<String>,
    total_assets: Money,
    total_liabilities: Money,
    count: usize,
}

#[derive(Debug, Serialize)]
struct AccountLineDto {
    id: Uuid,
    name: String,
    #[serde(rename = "type")]
    account_type: AccountType,
    class: AccountClass,
    balance: Money,
    currency: CurrencyCode,
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

#[get("/overview")]
async fn overview(me: Caller) -> Reply {
    let json = me
        .app
        .reports
        .overview_json(me.id, OverviewDto::from)
        .await?;
    Ok(json_text(json))
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
async fn history(me: Caller, query: web::Query<HistoryQuery>) -> Reply {
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

#[get("/cashflow")]
async fn cashflow(me: Caller, query: web::Query<CashflowQuery>) -> Reply {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    rate: Dec,
    date: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RateDto {
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
async fn put_rate(me: Caller, currency: web::Path<String>, body: web::Json<RateBody>) -> Reply {
    let stored = me
        .app
        .reports
        .put_rate(me.id, &currency, body.rate.0, body.date)
        .await?;
    ok(RateDto::from(stored))
}

#[derive(Debug, Serialize)]
struct RatesDto {
    base_currency: CurrencyCode,
    items: Vec<RateDto>,
}

#[get("/fx-rates")]
async fn list_rates(me: Caller) -> Reply {
    let (base, rates) = me.app.reports.rates_list(me.id).await?;
    ok(RatesDto {
        base_currency: base,
        items: rates.into_iter().map(RateDto::from).collect(),
    })
}
