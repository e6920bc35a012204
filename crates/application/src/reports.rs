//! Net worth, its history, cash flow and exchange rates, in the user's base currency.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use futures_util::future::try_join3;
use nestegg_domain::report::{
    self, AccountBalance, Cashflow, HistoryPoint, Interval, Overview, Rates,
};
use nestegg_domain::{CurrencyCode, Money, Rate};
use nestegg_ports::{
    AccountRepository, CashflowGrouping, Clock, FxRate, ReportRepository, UserRepository,
};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::cache::ReportCache;
use crate::error::{AppError, FieldErrors, valid};

/// An overview with the date it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedOverview {
    /// The day the balances are as of.
    pub as_of: NaiveDate,
    /// The figures.
    pub overview: Overview,
}

/// A cash flow with the period and currency it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// Whether a report of a range ending on `to` is worth caching: the ranges the app reads
    /// again and again end today (the default); any other range is computed each time, so
    /// that walking through ranges neither fills the cache nor evicts what is read often.
    fn worth_caching(&self, to: NaiveDate) -> bool {
        to == self.clock.today()
    }

    /// Net worth as of today (each account's balance on today's date, so a transaction dated
    /// later does not count yet): totals, by type, by institution, per account (computed, not
    /// cached).
    ///
    /// # Errors
    /// Store failures; [`AppError::Rule`] if a total overflows.
    pub async fn overview(&self, user_id: Uuid) -> Result<DatedOverview, AppError> {
        let today = self.clock.today();
        // Three independent reads at once, each on its own pooled connection: the overview
        // waits for the slowest, not for their sum (the most-read report, uncached after
        // every write). As of today: a transaction dated later counts from its own date.
        let (rates, on_day, accounts) = try_join3(
            self.rates(user_id),
            async { Ok::<_, AppError>(self.reports.balances_on(user_id, today).await?) },
            async { Ok::<_, AppError>(self.accounts.list(user_id).await?) },
        )
        .await?;
        let balances: Vec<AccountBalance> = accounts
            .into_iter()
            .map(|a| AccountBalance {
                balance: on_day.get(&a.id).copied().unwrap_or(Money::ZERO),
                id: a.id,
                name: a.name,
                account_type: a.account_type,
                institution_name: a.institution_name,
                currency: a.currency,
            })
            .collect();
        Ok(DatedOverview {
            as_of: today,
            overview: report::overview(&balances, &rates)?,
        })
    }

    /// The overview as JSON in the caller's shape (`render`), from the cache when it holds
    /// it: the most-read report is served from cached text without computing, parsing or
    /// serializing it again.
    ///
    /// # Errors
    /// As [`ReportService::overview`].
    pub async fn overview_json<R: Serialize>(
        &self,
        user_id: Uuid,
        render: impl FnOnce(DatedOverview) -> R,
    ) -> Result<String, AppError> {
        let today = self.clock.today();
        self.cache
            .get_or_compute_json(user_id, &format!("overview:{today}"), || async {
                self.overview(user_id).await.map(render)
            })
            .await
    }

    /// Net worth on each date from `from` (default: a year ago) to `to` (default: today), as
    /// JSON in the caller's shape (`render`), cached like the overview when it ends today.
    ///
    /// # Errors
    /// [`AppError::Validation`] for a bad range or interval.
    pub async fn history_json<R: Serialize>(
        &self,
        user_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        interval: Option<&str>,
        render: impl FnOnce(Vec<HistoryPoint>) -> R,
    ) -> Result<String, AppError> {
        let today = self.clock.today();
        let to =
            report::check_date(to.unwrap_or(today)).map_err(|e| AppError::invalid("to", &e))?;
        let from = match from {
            Some(f) => f,
            None => to
                .checked_sub_days(chrono::Days::new(365))
                .map_or(report::MIN_DATE, |d| d.max(report::MIN_DATE)),
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
            .get_or_compute_json_if(self.worth_caching(to), user_id, &key, || async {
                let rates = self.rates(user_id).await?;
                let snapshots = self.reports.snapshots_until(user_id, to).await?;
                Ok(render(report::history(&dates, &snapshots, &rates)?))
            })
            .await
    }

    /// Income and expenses from `from` (default: the first of this month) to `to` (default:
    /// today), grouped; transfers and pending transactions are left out. JSON in the caller's
    /// shape (`render`), cached like the overview when it ends today.
    ///
    /// # Errors
    /// [`AppError::Validation`] for a bad range or grouping.
    pub async fn cashflow_json<R: Serialize>(
        &self,
        user_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        group_by: Option<&str>,
        render: impl FnOnce(PeriodCashflow) -> R,
    ) -> Result<String, AppError> {
        let (from, to, grouping) = self.cashflow_range(from, to, group_by)?;
        let key = format!("cashflow:{from}:{to}:{grouping:?}");
        self.cache
            .get_or_compute_json_if(self.worth_caching(to), user_id, &key, || async {
                Ok(render(
                    self.compute_cashflow(user_id, from, to, grouping).await?,
                ))
            })
            .await
    }

    /// [`ReportService::cashflow_json`]'s figures, computed afresh (not cached).
    ///
    /// # Errors
    /// As [`ReportService::cashflow_json`].
    pub async fn cashflow(
        &self,
        user_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        group_by: Option<&str>,
    ) -> Result<PeriodCashflow, AppError> {
        let (from, to, grouping) = self.cashflow_range(from, to, group_by)?;
        self.compute_cashflow(user_id, from, to, grouping).await
    }

    async fn compute_cashflow(
        &self,
        user_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        grouping: CashflowGrouping,
    ) -> Result<PeriodCashflow, AppError> {
        let rates = self.rates(user_id).await?;
        let parts = self.reports.cashflow(user_id, from, to, grouping).await?;
        Ok(PeriodCashflow {
            base_currency: rates.base(),
            from,
            to,
            cashflow: report::cashflow(&parts, &rates)?,
        })
    }

    fn cashflow_range(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        group_by: Option<&str>,
    ) -> Result<(NaiveDate, NaiveDate, CashflowGrouping), AppError> {
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
        Ok((from, to, grouping))
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
        let errors = FieldErrors::from(fields);
        valid!(errors; currency, rate);
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
            .await;
        self.cache.after_write(user_id, stored).await
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

#[cfg(test)]
mod tests;
