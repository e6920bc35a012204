//! Net worth, its history, cash flow and exchange rates, in the user's base currency.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use nestegg_domain::report::{
    self, AccountBalance, Cashflow, HistoryPoint, Interval, Overview, Rates,
};
use nestegg_domain::{AccountClass, AccountType, CurrencyCode, Money, Rate};
use nestegg_ports::{
    AccountRepository, CashflowGrouping, Clock, FxRate, ReportRepository, UserRepository,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::cache::ReportCache;
use crate::error::{AppError, FieldErrors};

/// An overview with the date it describes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatedOverview {
    /// The day the balances are as of.
    pub as_of: NaiveDate,
    /// The figures.
    pub overview: Overview,
}

/// The overview as the API shows it (`GET /overview`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OverviewView {
    base_currency: CurrencyCode,
    as_of: NaiveDate,
    net_worth: Money,
    total_assets: Money,
    total_liabilities: Money,
    by_type: Vec<TypeView>,
    by_institution: Vec<InstitutionView>,
    accounts: Vec<AccountView>,
    unconverted: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
struct TypeView {
    #[serde(rename = "type")]
    account_type: AccountType,
    class: AccountClass,
    total: Money,
    count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
struct InstitutionView {
    institution_name: Option<String>,
    total_assets: Money,
    total_liabilities: Money,
    count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
struct AccountView {
    id: Uuid,
    name: String,
    #[serde(rename = "type")]
    account_type: AccountType,
    class: AccountClass,
    balance: Money,
    currency: CurrencyCode,
    balance_in_base: Option<Money>,
}

impl From<DatedOverview> for OverviewView {
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
                .map(|t| TypeView {
                    account_type: t.account_type,
                    class: t.class,
                    total: t.total,
                    count: t.count,
                })
                .collect(),
            by_institution: o
                .by_institution
                .into_iter()
                .map(|i| InstitutionView {
                    institution_name: i.institution_name,
                    total_assets: i.total_assets,
                    total_liabilities: i.total_liabilities,
                    count: i.count,
                })
                .collect(),
            accounts: o
                .accounts
                .into_iter()
                .map(|l| AccountView {
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

/// A cash flow with the period and currency it is in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeriodCashflow {
    /// The currency of every figure.
    pub base_currency: CurrencyCode,
    /// First day counted.
    pub from: NaiveDate,
    /// Last day counted.
    pub to: NaiveDate,
    /// The figures.
    pub cashflow: Cashflow,
}

/// Report use cases.
#[allow(missing_debug_implementations)]
pub struct ReportService {
    users: Arc<dyn UserRepository>,
    accounts: Arc<dyn AccountRepository>,
    reports: Arc<dyn ReportRepository>,
    cache: ReportCache,
    clock: Arc<dyn Clock>,
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::Validation([(field.to_owned(), message.to_owned())].into())
}

impl ReportService {
    /// A service over these ports.
    #[must_use]
    pub fn new(
        users: Arc<dyn UserRepository>,
        accounts: Arc<dyn AccountRepository>,
        reports: Arc<dyn ReportRepository>,
        cache: ReportCache,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            accounts,
            reports,
            cache,
            clock,
        }
    }

    async fn rates(&self, user_id: Uuid) -> Result<Rates, AppError> {
        let user = self
            .users
            .find_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthorized {
                code: "unauthorized",
                message: "authentication is required",
            })?;
        let base = user.preferences.base_currency();
        let rates: HashMap<CurrencyCode, Rate> = self
            .reports
            .latest_rates(user_id, base)
            .await?
            .into_iter()
            .map(|r| (r.currency, r.rate))
            .collect();
        Ok(Rates::new(base, rates))
    }

    /// Net worth now: totals, by type, by institution, per account (computed, not cached).
    ///
    /// # Errors
    /// Store failures; [`AppError::Rule`] if a total overflows.
    pub async fn overview(&self, user_id: Uuid) -> Result<DatedOverview, AppError> {
        let today = self.clock.today();
        let rates = self.rates(user_id).await?;
        let balances: Vec<AccountBalance> = self
            .accounts
            .list(user_id)
            .await?
            .into_iter()
            .map(|a| AccountBalance {
                id: a.id,
                name: a.name,
                account_type: a.account_type,
                institution_name: a.institution_name,
                balance: a.current_balance,
                currency: a.currency,
            })
            .collect();
        Ok(DatedOverview {
            as_of: today,
            overview: report::overview(&balances, &rates)?,
        })
    }

    /// The overview as the API's JSON, from the cache when it holds it. The most-read report
    /// is served from cached text without parsing or serializing it again.
    ///
    /// # Errors
    /// As [`ReportService::overview`].
    pub async fn overview_json(&self, user_id: Uuid) -> Result<String, AppError> {
        let today = self.clock.today();
        self.cache
            .get_or_compute_json(user_id, &format!("overview:{today}"), || async {
                self.overview(user_id).await.map(OverviewView::from)
            })
            .await
    }

    /// Net worth on each date from `from` (default: a year ago) to `to` (default: today).
    ///
    /// # Errors
    /// [`AppError::Validation`] for a bad range or interval.
    pub async fn history(
        &self,
        user_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        interval: Option<&str>,
    ) -> Result<Vec<HistoryPoint>, AppError> {
        let today = self.clock.today();
        let to =
            report::check_date(to.unwrap_or(today)).map_err(|e| AppError::invalid("to", &e))?;
        let from = match from {
            Some(f) => f,
            None => to
                .checked_sub_days(chrono::Days::new(365))
                .unwrap_or(report::MIN_DATE),
        };
        let from = report::check_date(from).map_err(|e| AppError::invalid("from", &e))?;
        let interval = match interval.unwrap_or("month") {
            "day" => Interval::Day,
            "week" => Interval::Week,
            "month" => Interval::Month,
            _ => return Err(invalid("interval", "expected day, week or month")),
        };
        let dates =
            report::history_dates(from, to, interval).map_err(|e| AppError::invalid("to", &e))?;
        let key = format!("history:{from}:{to}:{interval:?}");
        self.cache
            .get_or_compute(user_id, &key, || async {
                let rates = self.rates(user_id).await?;
                let snapshots = self.reports.snapshots_until(user_id, to).await?;
                Ok(report::history(&dates, &snapshots, &rates)?)
            })
            .await
    }

    /// Income and expenses from `from` (default: the first of this month) to `to` (default:
    /// today), grouped; transfers and pending transactions are left out.
    ///
    /// # Errors
    /// [`AppError::Validation`] for a bad range or grouping.
    pub async fn cashflow(
        &self,
        user_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        group_by: Option<&str>,
    ) -> Result<PeriodCashflow, AppError> {
        let today = self.clock.today();
        let to =
            report::check_date(to.unwrap_or(today)).map_err(|e| AppError::invalid("to", &e))?;
        let from = report::check_date(from.unwrap_or_else(|| to.with_day0(0).unwrap_or(to)))
            .map_err(|e| AppError::invalid("from", &e))?;
        if to < from {
            return Err(invalid("to", "must not be before from"));
        }
        let grouping = match group_by.unwrap_or("category") {
            "category" => CashflowGrouping::Category,
            "month" => CashflowGrouping::Month,
            "merchant" => CashflowGrouping::Merchant,
            _ => return Err(invalid("group_by", "expected category, month or merchant")),
        };
        let key = format!("cashflow:{from}:{to}:{grouping:?}");
        self.cache
            .get_or_compute(user_id, &key, || async {
                let rates = self.rates(user_id).await?;
                let parts = self.reports.cashflow(user_id, from, to, grouping).await?;
                Ok(PeriodCashflow {
                    base_currency: rates.base(),
                    from,
                    to,
                    cashflow: report::cashflow(&parts, &rates)?,
                })
            })
            .await
    }

    /// Sets the rate of `currency` into the user's base currency on `date` (default: today).
    ///
    /// # Errors
    /// [`AppError::Validation`] for an unknown currency, the base itself, or a rate that is not
    /// positive.
    pub async fn put_rate(
        &self,
        user_id: Uuid,
        currency: &str,
        rate: Decimal,
        date: Option<NaiveDate>,
    ) -> Result<FxRate, AppError> {
        let rates = self.rates(user_id).await?;
        let mut errors = FieldErrors::default();
        let currency = errors.check("currency", CurrencyCode::parse(currency));
        if let Some(d) = date {
            errors.check("date", report::check_date(d));
        }
        let rate = errors.check("rate", Rate::new(rate));
        let mut fields = errors.into_map();
        if currency == Some(rates.base()) {
            fields.insert(
                "currency".into(),
                format!(
                    "{} is the base currency; its rate is always 1",
                    rates.base()
                ),
            );
        }
        if !fields.is_empty() {
            return Err(AppError::Validation(fields));
        }
        let (Some(currency), Some(rate)) = (currency, rate) else {
            return Err(AppError::Unexpected(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        let now = self.clock.now();
        let stored = self
            .reports
            .put_rate(
                user_id,
                FxRate {
                    currency,
                    base_currency: rates.base(),
                    rate,
                    date: date.unwrap_or_else(|| self.clock.today()),
                    updated_at: now,
                },
                now,
            )
            .await?;
        self.cache.invalidate(user_id).await;
        Ok(stored)
    }

    /// The latest rate of each currency into the user's base currency.
    ///
    /// # Errors
    /// Store failures.
    pub async fn rates_list(&self, user_id: Uuid) -> Result<(CurrencyCode, Vec<FxRate>), AppError> {
        let base = self.rates(user_id).await?.base();
        Ok((base, self.reports.latest_rates(user_id, base).await?))
    }
}
