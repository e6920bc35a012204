//! Securities: shared reference data, and private ones a user adds and prices.

use std::sync::Arc;

use chrono::NaiveDate;
use nestegg_domain::{InvestmentType, Money, Percentage, Price, Symbol, report, text};
use nestegg_ports::{
    Clock, Investment, InvestmentFilter, InvestmentPage, InvestmentRepository, NewInvestment,
    PricePoint,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounts::not_found;
use crate::error::{AppError, FieldErrors, valid};
use crate::transactions::page_limit;

/// A private security to add, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct InvestmentInput {
    /// Ticker.
    pub symbol: String,
    /// Name.
    pub name: String,
    /// Type name.
    pub investment_type: String,
    /// Exchange.
    pub exchange: Option<String>,
    /// Market capitalisation.
    pub market_cap: Option<Decimal>,
    /// Price to earnings.
    pub pe_ratio: Option<Decimal>,
    /// Dividend yield, percent.
    pub dividend_yield: Option<Decimal>,
    /// Expense ratio, percent.
    pub expense_ratio: Option<Decimal>,
    /// Sector.
    pub sector: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// Security use cases.
#[allow(missing_debug_implementations)]
pub struct InvestmentService {
    investments: Arc<dyn InvestmentRepository>,
    clock: Arc<dyn Clock>,
}

impl InvestmentService {
    /// A service over these ports.
    #[must_use]
    pub fn new(investments: Arc<dyn InvestmentRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { investments, clock }
    }

    /// Adds a private security, visible and priced only by this user.
    ///
    /// # Errors
    /// [`AppError::Validation`] naming each bad field.
    pub async fn create(
        &self,
        user_id: Uuid,
        input: InvestmentInput,
    ) -> Result<Investment, AppError> {
        let mut e = FieldErrors::default();
        let symbol = e.check("symbol", Symbol::parse(&input.symbol));
        let name = e.check("name", text::required(&input.name, "a name", 255));
        let investment_type = e.check("type", InvestmentType::parse(&input.investment_type));
        let exchange = e.check(
            "exchange",
            text::optional(input.exchange.as_deref(), "an exchange", 64),
        );
        let market_cap = e.check(
            "market_cap",
            input
                .market_cap
                .map(|d| Money::non_negative(d, "a market cap"))
                .transpose(),
        );
        let pe_ratio = e.check("pe_ratio", input.pe_ratio.map(Money::new).transpose());
        let dividend_yield = e.check(
            "dividend_yield",
            input.dividend_yield.map(Percentage::new).transpose(),
        );
        let expense_ratio = e.check(
            "expense_ratio",
            input.expense_ratio.map(Percentage::new).transpose(),
        );
        let sector = e.check(
            "sector",
            text::optional(input.sector.as_deref(), "a sector", 128),
        );
        let industry = e.check(
            "industry",
            text::optional(input.industry.as_deref(), "an industry", 128),
        );
        let country = e.check(
            "country",
            text::optional(input.country.as_deref(), "a country", 64),
        );
        valid!(e; symbol, name, investment_type, exchange, market_cap, pe_ratio, dividend_yield, expense_ratio, sector, industry, country);
        Ok(self
            .investments
            .create(
                NewInvestment {
                    id: Uuid::now_v7(),
                    owner: Some(user_id),
                    symbol: symbol.as_str().to_owned(),
                    name,
                    investment_type,
                    exchange,
                    market_cap,
                    pe_ratio,
                    dividend_yield,
                    expense_ratio,
                    sector,
                    industry,
                    country,
                },
                self.clock.now(),
            )
            .await?)
    }

    /// One security the user can see.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Investment, AppError> {
        self.investments
            .get(user_id, id)
            .await
            .map_err(not_found("investment"))
    }

    /// A page of the securities the user can see, by symbol.
    ///
    /// # Errors
    /// [`AppError::Validation`] for a bad symbol, search or limit.
    pub async fn list(
        &self,
        user_id: Uuid,
        symbol: Option<String>,
        q: Option<String>,
        limit: Option<i64>,
        after: Option<(String, Uuid)>,
    ) -> Result<InvestmentPage, AppError> {
        let mut e = FieldErrors::default();
        let symbol = e.check_given("symbol", symbol, |s| Symbol::parse(&s));
        let mut fields = e.into_map();
        let limit = page_limit(limit, &mut fields);
        if let Some(q) = &q
            && (q.chars().count() > 255 || q.chars().any(char::is_control))
        {
            fields.insert(
                "q".into(),
                "at most 255 characters, no control characters".into(),
            );
        }
        if !fields.is_empty() {
            return Err(AppError::Validation(fields));
        }
        let filter = InvestmentFilter {
            symbol: symbol.map(|s| s.as_str().to_owned()),
            q,
            after,
            limit,
        };
        Ok(self.investments.list(user_id, filter).await?)
    }

    /// Prices one of the user's private securities on a date (today by default).
    ///
    /// # Errors
    /// [`AppError::Validation`] for a price that is not positive; [`AppError::NotFound`] for a
    /// shared security or another user's.
    pub async fn put_price(
        &self,
        user_id: Uuid,
        id: Uuid,
        price: Decimal,
        date: Option<NaiveDate>,
    ) -> Result<Investment, AppError> {
        let mut e = FieldErrors::default();
        let price = e.check("price", Price::new(price));
        let date = e.check(
            "date",
            report::check_date(date.unwrap_or_else(|| self.clock.today())),
        );
        valid!(e; price, date);
        self.investments
            .put_price(user_id, id, PricePoint { date, price }, self.clock.now())
            .await
            .map_err(not_found("investment"))
    }

    /// The security's price history.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn prices(
        &self,
        user_id: Uuid,
        id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<PricePoint>, AppError> {
        // A date the database cannot hold is the caller's mistake, not a server error.
        let mut errors = FieldErrors::default();
        errors.check_range(from, to);
        errors.finish()?;
        self.investments
            .prices(user_id, id, from, to)
            .await
            .map_err(not_found("investment"))
    }
}

#[cfg(test)]
mod tests;
