#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use nestegg_domain::{AccountType, Email, Username};
use nestegg_ports::account::MockAccountRepository;
use nestegg_ports::cache::MockCache;
use nestegg_ports::investment::MockInvestmentRepository;
use nestegg_ports::portfolio::MockPortfolioRepository;
use nestegg_ports::security::{MockAccessTokens, MockPasswordHasher, MockSecretTokens};
use nestegg_ports::throttle::MockLoginThrottle;
use nestegg_ports::token::MockRefreshTokenRepository;
use nestegg_ports::transaction::MockTransactionRepository;
use nestegg_ports::user::MockUserRepository;
use nestegg_ports::{Account, Conflict, Investment, NewUser, Portfolio, WriteTime};

use super::*;
use crate::auth::{AuthPolicy, AuthPorts};
use crate::test_support::{
    account_from, clock, investment, investment_from, now, overdraft, portfolio_from, refusal,
    report_cache, today, trade_from, transaction_from, unavailable, user_from, write_time,
};

/// Writes what a mock was handed into `log` with `record`, then answers `stored`: what a store
/// keeps for it.
fn kept<T>(log: &Mutex<Log>, stored: T, record: impl FnOnce(&mut Log)) -> Result<T, RepoError> {
    record(&mut log.lock().unwrap());
    Ok(stored)
}

/// Everything the demo handed to its ports.
#[derive(Default)]
struct Log {
    user: Option<NewUser>,
    accounts: HashMap<Uuid, Account>,
    transactions: Vec<(NewTransaction, WriteTime)>,
    refused: usize,
    /// Reconciliations: the account, the day and the balance stated.
    reconciliations: Vec<(Uuid, NaiveDate, Money)>,
    portfolio: Option<NewPortfolio>,
    securities: Vec<NewInvestment>,
    prices: usize,
    trades: Vec<(Uuid, NewTrade)>,
}

struct Mocks {
    log: Arc<Mutex<Log>>,
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    accounts: MockAccountRepository,
    transactions: MockTransactionRepository,
    investments: MockInvestmentRepository,
    portfolios: MockPortfolioRepository,
}

impl Mocks {
    fn new() -> Self {
        let log: Arc<Mutex<Log>> = Arc::default();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().returning(|_| Ok("hash".into()));
        Self {
            log,
            users: MockUserRepository::new(),
            hasher,
            accounts: MockAccountRepository::new(),
            transactions: MockTransactionRepository::new(),
            investments: MockInvestmentRepository::new(),
            portfolios: MockPortfolioRepository::new(),
        }
    }

    /// Registration, accounts, transactions, securities and portfolios all succeed.
    fn all_ok() -> Self {
        let mut m = Self::new();
        m.users_ok();
        m.accounts_ok();
        m.transactions_ok();
        m.investments_ok();
        m.portfolios_ok();
        m
    }

    fn users_ok(&mut self) {
        let log = Arc::clone(&self.log);
        self.users
            .expect_create()
            .times(1)
            .returning(move |new| kept(&log, user_from(&new), |l| l.user = Some(new)));
    }

    /// Accounts are stored and read back, and reconciled.
    fn accounts_ok(&mut self) {
        self.accounts_stored();
        self.reconciliations_ok();
    }

    /// Accounts are stored and read back.
    fn accounts_stored(&mut self) {
        let log = Arc::clone(&self.log);
        self.accounts.expect_create().returning(move |new, _| {
            let account = account_from(&new);
            kept(&log, account.clone(), |l| {
                l.accounts.insert(account.id, account);
            })
        });
        let log = Arc::clone(&self.log);
        self.accounts.expect_get().returning(move |_, id| {
            log.lock()
                .unwrap()
                .accounts
                .get(&id)
                .cloned()
                .ok_or(RepoError::NotFound)
        });
    }

    fn reconciliations_ok(&mut self) {
        let log = Arc::clone(&self.log);
        self.accounts
            .expect_update()
            .returning(move |_, id, update, _| {
                let mut log = log.lock().unwrap();
                let (Some(as_of), Some(balance)) = (update.as_of, update.current_balance) else {
                    panic!("the demo only reconciles balances on a day");
                };
                log.reconciliations.push((id, as_of, balance));
                log.accounts.get(&id).cloned().ok_or(RepoError::NotFound)
            });
    }

    fn transactions_ok(&mut self) {
        let log = Arc::clone(&self.log);
        self.transactions.expect_create().returning(move |new, at| {
            kept(&log, transaction_from(&new), |l| {
                l.transactions.push((new, at))
            })
        });
    }

    fn investments_ok(&mut self) {
        self.securities_created();
        self.prices_ok();
    }

    fn securities_created(&mut self) {
        let log = Arc::clone(&self.log);
        self.investments
            .expect_create()
            .returning(move |new, _| kept(&log, investment_from(&new), |l| l.securities.push(new)));
    }

    fn prices_ok(&mut self) {
        let log = Arc::clone(&self.log);
        self.investments
            .expect_put_price()
            .returning(move |user, id, _, _| {
                let priced = Investment {
                    id,
                    owner: Some(user),
                    ..investment()
                };
                kept(&log, priced, |l| l.prices += 1)
            });
    }

    fn portfolios_ok(&mut self) {
        self.portfolio_created();
        self.trades_ok();
    }

    fn portfolio_created(&mut self) {
        let log = Arc::clone(&self.log);
        self.portfolios.expect_create().returning(move |new, _| {
            // The first portfolio is always the default.
            let p = Portfolio {
                is_default: true,
                ..portfolio_from(&new)
            };
            kept(&log, p, |l| l.portfolio = Some(new))
        });
    }

    fn trades_ok(&mut self) {
        let log = Arc::clone(&self.log);
        self.portfolios
            .expect_trade()
            .returning(move |_, portfolio, new, _| {
                kept(&log, trade_from(&new), |l| l.trades.push((portfolio, new)))
            });
    }

    async fn run(self) -> (Result<DemoLogin, AppError>, Arc<Mutex<Log>>) {
        let auth = AuthService::new(
            AuthPorts {
                users: Arc::new(self.users),
                tokens: Arc::new(MockRefreshTokenRepository::new()),
                hasher: Arc::new(self.hasher),
                access: Arc::new(MockAccessTokens::new()),
                secrets: Arc::new(MockSecretTokens::new()),
                throttle: Arc::new(MockLoginThrottle::new()),
                clock: Arc::new(clock()),
                cache: report_cache(MockCache::new()),
            },
            AuthPolicy::default(),
        );
        let demo = DemoService::new(
            Arc::new(self.accounts),
            Arc::new(self.transactions),
            Arc::new(self.investments),
            Arc::new(self.portfolios),
            Arc::new(clock()),
        );
        (demo.create(&auth).await, self.log)
    }
}

#[tokio::test]
async fn the_demo_registers_a_user_and_writes_every_account_for_them_through_the_ports() {
    let (login, log) = Mocks::all_ok().run().await;
    let login = login.unwrap();
    let log = log.lock().unwrap();
    let user = log.user.as_ref().unwrap();
    assert_eq!(user.email, Email::parse(&login.email).unwrap());
    assert_eq!(user.username, Username::parse(&login.username).unwrap());
    assert!(login.username.starts_with("demo_"));
    assert_eq!(login.email, format!("{}@example.com", login.username));
    assert_eq!(user.now, now());
    assert_eq!(login.accounts, 9);
    assert_eq!(log.accounts.len(), 9);
    assert!(log.accounts.values().all(|a| a.user_id == user.id));
    let types: HashSet<_> = log.accounts.values().map(|a| a.account_type).collect();
    assert_eq!(types.len(), AccountType::ALL.len(), "every account type");
    assert!(
        log.accounts
            .values()
            .all(|a| a.currency == CurrencyCode::USD)
    );
}

#[tokio::test]
async fn the_demo_records_two_years_of_transactions_on_its_own_accounts_at_the_clocks_time() {
    let (login, log) = Mocks::all_ok().run().await;
    let login = login.unwrap();
    let log = log.lock().unwrap();
    let user = log.user.as_ref().unwrap().id;
    assert_eq!(login.transactions, log.transactions.len());
    assert!(
        login.transactions > 700,
        "{} transactions",
        login.transactions
    );
    let first = NaiveDate::from_ymd_opt(2024, 11, 1).unwrap();
    for (t, at) in &log.transactions {
        assert_eq!(t.user_id, user);
        assert!(log.accounts.contains_key(&t.account_id));
        assert!((first..=today()).contains(&t.date), "{}", t.date);
        assert_eq!(*at, write_time());
    }
    assert_eq!(log.transactions.first().unwrap().0.date, first);
    // Only the last days' card purchases are still pending.
    assert!(log.transactions.iter().any(|(t, _)| t.is_pending));
    assert!(
        log.transactions
            .iter()
            .filter(|(t, _)| t.is_pending)
            .all(|(t, _)| (today() - t.date).num_days() < 3)
    );
}

#[tokio::test]
async fn the_demo_reconciles_investments_and_the_home_at_every_month_end_and_today() {
    let (login, log) = Mocks::all_ok().run().await;
    login.unwrap();
    let log = log.lock().unwrap();
    // 24 month ends (November 2024 to October 2026) and today, for the brokerage, the
    // retirement account and the home.
    assert_eq!(log.reconciliations.len(), 25 * 3);
    let reconciled: HashSet<&str> = log
        .reconciliations
        .iter()
        .map(|(id, _, _)| log.accounts[id].name.as_str())
        .collect();
    assert_eq!(
        reconciled,
        HashSet::from([
            "Vanguard Brokerage",
            "Fidelity 401(k)",
            "Home (estimated value)"
        ])
    );
    let days: HashSet<NaiveDate> = log.reconciliations.iter().map(|(_, d, _)| *d).collect();
    assert_eq!(days.len(), 25);
    assert!(days.contains(&today()));
    assert!(
        days.iter()
            .all(|d| *d == today() || d.succ_opt().unwrap().day() == 1),
        "month ends and today only"
    );
}

#[tokio::test]
async fn every_demo_account_opens_on_the_first_day_of_its_two_years() {
    let (login, log) = Mocks::all_ok().run().await;
    login.unwrap();
    let first = NaiveDate::from_ymd_opt(2024, 11, 1).unwrap();
    assert!(
        log.lock()
            .unwrap()
            .accounts
            .values()
            .all(|a| a.opened_on == first)
    );
}

#[tokio::test]
async fn the_demo_builds_a_default_portfolio_of_private_priced_securities_bought_a_year_ago() {
    let (login, log) = Mocks::all_ok().run().await;
    login.unwrap();
    let log = log.lock().unwrap();
    let user = log.user.as_ref().unwrap().id;
    let portfolio = log.portfolio.as_ref().unwrap();
    assert_eq!(portfolio.user_id, user);
    assert!(portfolio.is_default);
    let targets: Decimal = portfolio
        .target_allocation
        .values()
        .map(|p| p.value())
        .sum();
    assert_eq!(targets, Decimal::ONE_HUNDRED);
    assert_eq!(log.securities.len(), 6);
    assert!(log.securities.iter().all(|s| s.owner == Some(user)));
    // A price for every day from a year ago to today, inclusive.
    assert_eq!(log.prices, 6 * 366);
    let year_ago = today().checked_sub_days(Days::new(365)).unwrap();
    assert_eq!(log.trades.len(), 6);
    assert!(
        log.trades
            .iter()
            .all(|(p, t)| *p == portfolio.id && t.side == Side::Buy && t.date == year_ago)
    );
    let bought: HashSet<_> = log.trades.iter().map(|(_, t)| t.investment_id).collect();
    let added: HashSet<_> = log.securities.iter().map(|s| s.id).collect();
    assert_eq!(bought, added);
}

#[tokio::test]
async fn a_refused_overdraft_is_skipped_and_not_counted() {
    let mut m = Mocks::new();
    m.users_ok();
    m.accounts_ok();
    m.investments_ok();
    m.portfolios_ok();
    let log = Arc::clone(&m.log);
    m.transactions.expect_create().returning(move |new, at| {
        let mut log = log.lock().unwrap();
        if new.amount.money().is_negative() {
            log.refused += 1;
            return Err(overdraft());
        }
        let t = transaction_from(&new);
        log.transactions.push((new, at));
        Ok(t)
    });
    let (login, log) = m.run().await;
    let login = login.unwrap();
    let log = log.lock().unwrap();
    assert!(log.refused > 0);
    assert_eq!(login.transactions, log.transactions.len());
    assert!(log.portfolio.is_some(), "the demo carried on");
}

#[tokio::test]
async fn a_taken_demo_name_stops_the_demo_before_any_account_is_written() {
    let mut m = Mocks::new();
    m.users
        .expect_create()
        .returning(|_| Err(RepoError::Conflict(Conflict::Username)));
    m.accounts.expect_create().never();
    let (result, _) = m.run().await;
    let err = result.unwrap_err();
    assert_eq!(refusal(&err), ("conflict", "username_taken"));
}

#[tokio::test]
async fn a_failing_account_store_stops_the_demo_with_an_error() {
    let mut m = Mocks::new();
    m.users_ok();
    m.accounts
        .expect_create()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    m.transactions.expect_create().never();
    m.investments.expect_create().never();
    m.portfolios.expect_create().never();
    let (result, _) = m.run().await;
    assert!(matches!(result.unwrap_err(), AppError::Unavailable(_)));
}

#[tokio::test]
async fn a_failing_transaction_store_or_a_balance_rule_other_than_an_overdraft_stops_the_demo() {
    // Each case: what the store answers, and whether the demo's error is the expected one.
    type Case = (&'static str, fn() -> RepoError, fn(&AppError) -> bool);
    let cases: [Case; 2] = [
        ("an unavailable store", unavailable, |err| {
            matches!(err, AppError::Unavailable(_))
        }),
        (
            "an overflow",
            || RepoError::Rule(DomainError::Overflow),
            |err| refusal(err) == ("rule", "out_of_range"),
        ),
    ];
    for (case, failure, expected) in cases {
        let mut m = Mocks::new();
        m.users_ok();
        m.accounts_ok();
        m.transactions
            .expect_create()
            .times(1)
            .returning(move |_, _| Err(failure()));
        m.investments.expect_create().never();
        m.portfolios.expect_create().never();
        let (result, log) = m.run().await;
        let err = result.expect_err(case);
        assert!(expected(&err), "{case}: {err:?}");
        assert!(log.lock().unwrap().reconciliations.is_empty(), "{case}");
    }
}

#[tokio::test]
async fn a_failing_reconciliation_stops_the_demo_with_an_error() {
    let mut m = Mocks::new();
    m.users_ok();
    m.accounts_stored();
    m.accounts
        .expect_update()
        .times(1)
        .returning(|_, _, _, _| Err(unavailable()));
    m.transactions_ok();
    m.portfolios.expect_create().never();
    let (result, _) = m.run().await;
    assert!(matches!(result.unwrap_err(), AppError::Unavailable(_)));
}

#[tokio::test]
async fn a_failing_price_store_stops_the_demo_before_any_trade() {
    let mut m = Mocks::new();
    m.users_ok();
    m.accounts_ok();
    m.transactions_ok();
    m.securities_created();
    m.investments
        .expect_put_price()
        .times(1)
        .returning(|_, _, _, _| Err(unavailable()));
    m.portfolio_created();
    m.portfolios.expect_trade().never();
    let (result, log) = m.run().await;
    assert!(matches!(result.unwrap_err(), AppError::Unavailable(_)));
    assert_eq!(log.lock().unwrap().securities.len(), 1);
}
