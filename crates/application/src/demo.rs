//! A demo user with realistic data, so that every report has something to show.

use std::sync::Arc;

use chrono::{Datelike, Days, Months, NaiveDate};
use nestegg_domain::portfolio::Side;
use nestegg_domain::{
    AccountName, CurrencyCode, DomainError, InvestmentType, Money, Percentage, Price, Quantity,
    TransactionAmount, TransactionCategory,
};
use nestegg_ports::{
    AccountRepository, AccountUpdate, Clock, InvestmentRepository, NewAccount, NewInvestment,
    NewPortfolio, NewTrade, NewTransaction, PortfolioRepository, PricePoint, RepoError,
    TransactionRepository, TypeTargets,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounts::write_time;
use crate::auth::{AuthService, Registration};
use crate::error::AppError;

mod data;

use data::{
    BROKERAGE, CARD, CHECKING, HOME, Planned, RETIREMENT, Rng, SECURITIES, SPECS, schedule,
};

/// How to log in as the demo user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// Email.
    pub email: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Accounts created.
    pub accounts: usize,
    /// Transactions created.
    pub transactions: usize,
}

/// Creates demo users.
#[allow(missing_debug_implementations)]
pub struct DemoService {
    accounts: Arc<dyn AccountRepository>,
    transactions: Arc<dyn TransactionRepository>,
    investments: Arc<dyn InvestmentRepository>,
    portfolios: Arc<dyn PortfolioRepository>,
    clock: Arc<dyn Clock>,
}

fn money(d: Decimal) -> Result<Money, AppError> {
    Ok(Money::new(d)?)
}

impl DemoService {
    /// A service over these ports.
    #[must_use]
    pub fn new(
        accounts: Arc<dyn AccountRepository>,
        transactions: Arc<dyn TransactionRepository>,
        investments: Arc<dyn InvestmentRepository>,
        portfolios: Arc<dyn PortfolioRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            accounts,
            transactions,
            investments,
            portfolios,
            clock,
        }
    }

    /// A portfolio of stocks, ETFs, a bond fund and crypto, with a year of daily prices
    /// (private securities of the demo user) and the trades that built it.
    async fn portfolio(
        &self,
        rng: &mut Rng,
        user_id: Uuid,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let start = today.checked_sub_days(Days::new(365)).unwrap_or(today);
        let targets = TypeTargets::from([
            (InvestmentType::Stock, Percentage::new(Decimal::from(35))?),
            (InvestmentType::Etf, Percentage::new(Decimal::from(40))?),
            (
                InvestmentType::MutualFund,
                Percentage::new(Decimal::from(20))?,
            ),
            (InvestmentType::Crypto, Percentage::new(Decimal::from(5))?),
        ]);
        let portfolio = self
            .portfolios
            .create(
                NewPortfolio {
                    id: Uuid::now_v7(),
                    user_id,
                    name: "Long-term investments".into(),
                    description: Some("Index funds, a few stocks and a little crypto".into()),
                    currency: CurrencyCode::USD,
                    is_default: true,
                    target_allocation: targets,
                },
                now,
            )
            .await?;
        for (symbol, name, investment_type, sector, start_price, drift) in SECURITIES {
            let security = self
                .investments
                .create(
                    NewInvestment {
                        id: Uuid::now_v7(),
                        owner: Some(user_id),
                        symbol: (*symbol).into(),
                        name: (*name).into(),
                        investment_type: *investment_type,
                        exchange: None,
                        market_cap: None,
                        pe_ratio: None,
                        dividend_yield: None,
                        expense_ratio: None,
                        sector: Some((*sector).into()),
                        industry: None,
                        country: Some("US".into()),
                    },
                    now,
                )
                .await?;
            // A daily random walk around the yearly drift, kept positive.
            let mut price = Decimal::from(*start_price);
            let daily_drift = Decimal::new(*drift, 2) / Decimal::from(365);
            let mut day = start;
            let mut first_price = price;
            while day <= today {
                let noise = Decimal::new(i64::try_from(rng.next() % 401).unwrap_or(200) - 200, 4);
                price = (price * (Decimal::ONE + daily_drift + noise))
                    .round_dp(2)
                    .max(Decimal::new(1, 2));
                if day == start {
                    first_price = price;
                }
                let point = PricePoint {
                    date: day,
                    price: Price::new(price)?,
                };
                self.investments
                    .put_price(user_id, security.id, point, now)
                    .await?;
                day = day
                    .checked_add_days(Days::new(1))
                    .unwrap_or(today + Days::new(1));
            }
            let units = match investment_type {
                InvestmentType::Crypto => Decimal::new(5, 2),
                InvestmentType::MutualFund => Decimal::from(900),
                _ => Decimal::from(20),
            };
            let buy = NewTrade {
                id: Uuid::now_v7(),
                investment_id: security.id,
                side: Side::Buy,
                quantity: Quantity::new(units)?,
                price: Price::new(first_price)?,
                fee: Money::new(Decimal::ONE)?,
                date: start,
            };
            self.portfolios
                .trade(user_id, portfolio.id, buy, now)
                .await?;
        }
        Ok(())
    }

    /// Registers a new demo user with nine accounts at six institutions (every account
    /// type), opened two years ago, with two years of dated transactions, month-end
    /// reconciliations of the investment accounts and the home's estimated value (balance
    /// adjustments), and a portfolio of stocks, ETFs, a bond fund and crypto with a year of
    /// daily prices.
    ///
    /// # Errors
    /// Store failures.
    pub async fn create(&self, auth: &AuthService) -> Result<DemoLogin, AppError> {
        let tag = Uuid::new_v4().simple().to_string();
        let username = format!("demo_{}", &tag[..6]);
        let password = format!("demo-{}", &tag[6..22]);
        let email = format!("{username}@example.com");
        let user = auth
            .register(Registration {
                email: email.clone(),
                username: username.clone(),
                password: password.clone(),
            })
            .await?;
        let at = write_time(self.clock.as_ref());
        let today = at.today;
        let start = today
            .with_day(1)
            .and_then(|d| d.checked_sub_months(Months::new(24)))
            .unwrap_or(today);
        let mut ids = Vec::new();
        for spec in SPECS {
            let account = self
                .accounts
                .create(
                    NewAccount {
                        id: Uuid::now_v7(),
                        user_id: user.id,
                        name: AccountName::parse(spec.name)?,
                        account_type: spec.account_type,
                        institution_name: spec.institution.map(str::to_owned),
                        current_balance: money(Decimal::from(spec.opening))?,
                        available_balance: None,
                        currency: CurrencyCode::USD,
                        opened_on: Some(start),
                    },
                    at,
                )
                .await?;
            ids.push(account.id);
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut count = 0;
        let mut invested = [
            Decimal::from(SPECS[BROKERAGE].opening),
            Decimal::from(SPECS[RETIREMENT].opening),
        ];
        let mut home = Decimal::from(SPECS[HOME].opening);
        let mut day = start;
        while day <= today {
            for planned in self.day_of(&mut rng, day, &ids, user.id).await? {
                // The last days' card purchases have not posted yet.
                let pending = today.signed_duration_since(day).num_days() < 3
                    && planned.account == ids[CARD]
                    && planned.amount < Decimal::ZERO;
                let created = self
                    .transactions
                    .create(
                        NewTransaction {
                            id: Uuid::now_v7(),
                            user_id: user.id,
                            account_id: planned.account,
                            amount: TransactionAmount::new(money(planned.amount)?)?,
                            date: day,
                            description: planned.description.to_owned(),
                            merchant_name: planned.merchant.map(str::to_owned),
                            category: planned.category,
                            is_pending: pending,
                            is_recurring: planned.recurring,
                        },
                        at,
                    )
                    .await;
                match created {
                    Ok(_) => count += 1,
                    // Money the demo person does not have is money they do not spend.
                    Err(RepoError::Rule(DomainError::NegativeBalanceNotAllowed { .. })) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let tomorrow = day.checked_add_days(Days::new(1)).unwrap_or(day);
            if tomorrow.month() != day.month() || day == today {
                // Month end: markets move and the home is re-estimated; each new figure is a
                // reconciliation dated that day.
                let mut reconcile = Vec::new();
                for (i, held) in invested.iter_mut().enumerate() {
                    let growth = Decimal::new(i64::try_from(rng.next() % 300).unwrap_or(0) - 80, 4);
                    *held = (*held * (Decimal::ONE + growth) + Decimal::from(500)).round_dp(2);
                    reconcile.push((ids[if i == 0 { BROKERAGE } else { RETIREMENT }], *held));
                }
                let growth = Decimal::new(i64::try_from(rng.next() % 80).unwrap_or(0) - 20, 4);
                home = (home * (Decimal::ONE + growth)).round_dp(0);
                reconcile.push((ids[HOME], home));
                for (id, balance) in reconcile {
                    self.accounts
                        .update(
                            user.id,
                            id,
                            AccountUpdate {
                                current_balance: Some(money(balance)?),
                                as_of: Some(day),
                                ..Default::default()
                            },
                            at,
                        )
                        .await?;
                }
            }
            if tomorrow == day {
                break;
            }
            day = tomorrow;
        }
        self.portfolio(&mut rng, user.id, today).await?;
        Ok(DemoLogin {
            email,
            username,
            password,
            accounts: ids.len(),
            transactions: count,
        })
    }

    /// The transactions of one day: the fixed schedule, and on the 25th the card paid in full.
    async fn day_of(
        &self,
        rng: &mut Rng,
        day: NaiveDate,
        ids: &[Uuid],
        user_id: Uuid,
    ) -> Result<Vec<Planned>, AppError> {
        let mut out = schedule(rng, day, ids);
        if day.day() == 25 {
            // Pay the card in full from checking.
            let owed = self.transactions_owed(user_id, ids[CARD]).await?;
            if owed > Decimal::ZERO {
                out.push(Planned::new(
                    ids[CHECKING],
                    -owed,
                    "Credit card payment",
                    Some("Chase"),
                    TransactionCategory::Transfer,
                    true,
                ));
                out.push(Planned::new(
                    ids[CARD],
                    owed,
                    "Payment received",
                    None,
                    TransactionCategory::Transfer,
                    true,
                ));
            }
        }
        Ok(out)
    }

    async fn transactions_owed(&self, user_id: Uuid, card: Uuid) -> Result<Decimal, AppError> {
        Ok(self
            .accounts
            .get(user_id, card)
            .await?
            .current_balance
            .value())
    }
}

#[cfg(test)]
mod tests;
