//! Fixtures shared by the use-case tests: a fixed clock, numbers, cache expectations, errors and
//! the ports' records with sensible defaults, so that each test states only what matters to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use nestegg_domain::{
    AccountType, CurrencyCode, DomainError, Email, InvestmentType, Money, Percentage, Preferences,
    TransactionCategory, Username,
};
use nestegg_ports::cache::{CacheError, MockCache};
use nestegg_ports::clock::MockClock;
use nestegg_ports::{
    Account, Cached, Investment, NewAccount, NewInvestment, NewPortfolio, NewTrade, NewTransaction,
    NewUser, Portfolio, RepoError, Trade, Transaction, User, WriteTime,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::cache::ReportCache;
use crate::error::AppError;

// --- Time and numbers ---

/// The clock's fixed now.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// Deliberately not `now()`'s date, so a test can tell the clock's `today` was asked for.
pub(crate) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

/// The write time a use case takes from [`clock`].
pub(crate) fn write_time() -> WriteTime {
    WriteTime {
        now: now(),
        today: today(),
    }
}

/// A clock stuck at [`now`] and [`today`].
pub(crate) fn clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    clock.expect_today().returning(today);
    clock
}

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub(crate) fn money(s: &str) -> Money {
    Money::new(dec(s)).unwrap()
}

pub(crate) fn pct(s: &str) -> Percentage {
    Percentage::new(dec(s)).unwrap()
}

pub(crate) fn currency(code: &str) -> CurrencyCode {
    CurrencyCode::parse(code).unwrap()
}

// --- What a mock was handed ---

/// A slot where a mock's closure keeps what it was handed, for the test to look at afterwards.
pub(crate) struct Seen<T>(Arc<Mutex<Option<T>>>);

impl<T> Seen<T> {
    pub(crate) fn new() -> Self {
        Self(Arc::default())
    }

    /// Another handle on the same slot, to move into the mock's closure.
    pub(crate) fn handle(&self) -> Self {
        Self(Arc::clone(&self.0))
    }

    pub(crate) fn keep(&self, value: T) {
        *self.0.lock().unwrap() = Some(value);
    }

    /// What the mock kept last; panics if it kept nothing.
    pub(crate) fn take(&self) -> T {
        self.0
            .lock()
            .unwrap()
            .take()
            .expect("the mock was never handed anything")
    }
}

impl<N: Send + 'static, A: Send + 'static> Seen<(N, A)> {
    /// A mock's answer to a write of `new` at `at` (`create(new, at)`): keeps both for the test
    /// to look at, and answers `stored(&new)`, what a store keeps for it.
    pub(crate) fn storing<R: 'static>(
        &self,
        stored: fn(&N) -> R,
    ) -> impl FnMut(N, A) -> Result<R, RepoError> + Send + 'static {
        let keep = self.handle();
        move |new, at| {
            let record = stored(&new);
            keep.keep((new, at));
            Ok(record)
        }
    }
}

// --- What the use cases count ---

/// One call a use case made on the `Metrics` port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    Cache(nestegg_ports::CacheLookup),
    Refused(nestegg_ports::ThrottleCheck, nestegg_ports::ThrottleRefusal),
    Sync(nestegg_ports::SyncTrigger, nestegg_ports::SyncOutcome),
}

/// Metrics that remember every call, in order.
#[derive(Debug, Default)]
pub(crate) struct Recorded(Mutex<Vec<Counted>>);

impl Recorded {
    /// Every call so far, in order.
    pub(crate) fn calls(&self) -> Vec<Counted> {
        self.0.lock().unwrap().clone()
    }
}

impl nestegg_ports::Metrics for Recorded {
    fn report_cache(&self, lookup: nestegg_ports::CacheLookup) {
        self.0.lock().unwrap().push(Counted::Cache(lookup));
    }

    fn throttle_refused(
        &self,
        check: nestegg_ports::ThrottleCheck,
        refusal: nestegg_ports::ThrottleRefusal,
    ) {
        self.0
            .lock()
            .unwrap()
            .push(Counted::Refused(check, refusal));
    }

    fn sync_finished(
        &self,
        trigger: nestegg_ports::SyncTrigger,
        outcome: nestegg_ports::SyncOutcome,
        _: Duration,
    ) {
        self.0.lock().unwrap().push(Counted::Sync(trigger, outcome));
    }
}

// --- The report cache ---

/// The cache's answer to a lookup: the scope at `version`, holding `value` (none: a miss).
pub(crate) fn cached(version: u64, value: Option<&str>) -> Result<Cached, CacheError> {
    Ok(Cached {
        version,
        value: value.map(str::to_owned),
    })
}

/// The use cases' report cache over `cache`.
pub(crate) fn report_cache(cache: MockCache) -> ReportCache {
    ReportCache::new(Arc::new(cache), Duration::from_secs(60))
}

/// Expects the user's cached reports to be dropped exactly `times` times.
pub(crate) fn expect_invalidations(cache: &mut MockCache, user_id: Uuid, times: usize) {
    let scope = format!("user:{user_id}");
    cache
        .expect_invalidate()
        .withf(move |s| s == scope)
        .times(times)
        .returning(|_| Ok(()));
}

/// Expects the user's `field` to be looked up once and missed at version 4, then the computed
/// value stored once under that version.
pub(crate) fn expect_miss(cache: &mut MockCache, user_id: Uuid, field: String) {
    let scope = format!("user:{user_id}");
    let (s, f) = (scope.clone(), field.clone());
    cache
        .expect_get()
        .withf(move |scope, field| scope == s && field == f)
        .times(1)
        .returning(|_, _| cached(4, None));
    cache
        .expect_put_if_current()
        .withf(move |s, f, _, v, _| *s == scope && *f == field && *v == 4)
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
}

/// Expects the user's `field` to be looked up once and found holding `text`; nothing is stored.
pub(crate) fn expect_hit(cache: &mut MockCache, user_id: Uuid, field: String, text: &'static str) {
    let scope = format!("user:{user_id}");
    cache
        .expect_get()
        .withf(move |s, f| *s == scope && *f == field)
        .times(1)
        .returning(move |_, _| cached(4, Some(text)));
    cache.expect_put_if_current().never();
}

// --- Errors ---

/// The fields of a validation error, with their messages.
pub(crate) fn validation(err: AppError) -> BTreeMap<String, String> {
    match err {
        AppError::Validation(fields) => fields,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// The names of the fields a validation error is about, in order.
pub(crate) fn invalid_fields(err: AppError) -> Vec<String> {
    validation(err).into_keys().collect()
}

/// The kind of a refusal that carries a stable code, and that code, e.g.
/// `("conflict", "email_taken")`; panics on any other error.
pub(crate) fn refusal(err: &AppError) -> (&'static str, &'static str) {
    match err {
        AppError::Rule { code, .. } => ("rule", code),
        AppError::Unauthorized { code, .. } => ("unauthorized", code),
        AppError::Conflict { code, .. } => ("conflict", code),
        AppError::Forbidden { code, .. } => ("forbidden", code),
        other => panic!("expected a refusal with a code, got {other:?}"),
    }
}

/// A store that cannot be reached.
pub(crate) fn unavailable() -> RepoError {
    RepoError::Unavailable("down".into())
}

/// The store refusing to overdraw a checking account.
pub(crate) fn overdraft() -> RepoError {
    RepoError::Rule(DomainError::NegativeBalanceNotAllowed {
        account_type: AccountType::Checking,
    })
}

/// Asks `list` for pages of 1 and 500 and of sizes outside them, negative and beyond what a
/// store takes (`list(limit, passed_on)`, where `passed_on` says whether the store should be
/// asked) and checks that 1 and 500 are passed on while the others are refused under `limit`.
pub(crate) async fn check_page_limits(list: impl AsyncFn(i64, bool) -> Result<(), AppError>) {
    for (limit, ok) in [
        (i64::MIN, false),
        (-1, false),
        (0, false),
        (1, true),
        (500, true),
        (501, false),
        (i64::from(u32::MAX) + 1, false),
    ] {
        match list(limit, ok).await {
            Ok(()) => assert!(ok, "limit {limit} was accepted"),
            Err(err) => {
                assert!(!ok, "limit {limit} was refused");
                assert_eq!(invalid_fields(err), ["limit"], "limit {limit}");
            }
        }
    }
}

// --- The ports' records ---

/// Ada, active and not verified, with the default preferences.
pub(crate) fn user() -> User {
    User {
        id: Uuid::now_v7(),
        email: Email::parse("ada@example.com").unwrap(),
        username: Username::parse("ada").unwrap(),
        password_hash: "hash-of-right".into(),
        is_active: true,
        is_verified: false,
        preferences: Preferences::default(),
        created_at: now(),
        updated_at: now(),
    }
}

/// What a store keeps for `new`.
pub(crate) fn user_from(new: &NewUser) -> User {
    User {
        id: new.id,
        email: new.email.clone(),
        username: new.username.clone(),
        password_hash: new.password_hash.clone(),
        is_active: true,
        is_verified: false,
        preferences: new.preferences.clone(),
        created_at: new.now,
        updated_at: new.now,
    }
}

/// A manual checking account of the user's, holding 100 USD.
pub(crate) fn account(user_id: Uuid) -> Account {
    Account {
        id: Uuid::now_v7(),
        user_id,
        name: "Checking".into(),
        account_type: AccountType::Checking,
        institution_name: None,
        current_balance: money("100"),
        opening_balance: money("100"),
        opened_on: today(),
        available_balance: None,
        currency: CurrencyCode::USD,
        plaid_account_id: None,
        connection_id: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// What a store keeps for `new`.
pub(crate) fn account_from(new: &NewAccount) -> Account {
    Account {
        id: new.id,
        user_id: new.user_id,
        name: new.name.as_str().to_owned(),
        account_type: new.account_type,
        institution_name: new.institution_name.clone(),
        current_balance: new.current_balance,
        opening_balance: new.current_balance,
        opened_on: new.opened_on.unwrap_or_else(today),
        available_balance: new.available_balance,
        currency: new.currency,
        ..account(new.user_id)
    }
}

/// A manual lunch of -12.50 at a cafe on 1 November 2026.
pub(crate) fn transaction() -> Transaction {
    Transaction {
        id: Uuid::now_v7(),
        account_id: Uuid::now_v7(),
        amount: money("-12.50"),
        date: date(2026, 11, 1),
        description: "Lunch".into(),
        merchant_name: Some("Cafe".into()),
        category: TransactionCategory::FoodAndDrink,
        is_pending: false,
        is_recurring: false,
        plaid_transaction_id: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// What a store keeps for `new`.
pub(crate) fn transaction_from(new: &NewTransaction) -> Transaction {
    Transaction {
        id: new.id,
        account_id: new.account_id,
        amount: new.amount.money(),
        date: new.date,
        description: new.description.clone(),
        merchant_name: new.merchant_name.clone(),
        category: new.category,
        is_pending: new.is_pending,
        is_recurring: new.is_recurring,
        ..transaction()
    }
}

/// The shared (reference data) Vanguard Total Stock Market ETF, unpriced.
pub(crate) fn investment() -> Investment {
    Investment {
        id: Uuid::now_v7(),
        owner: None,
        symbol: "VTI".into(),
        name: "Vanguard Total Stock Market ETF".into(),
        investment_type: InvestmentType::Etf,
        exchange: None,
        current_price: None,
        price_date: None,
        market_cap: None,
        pe_ratio: None,
        dividend_yield: None,
        expense_ratio: None,
        sector: None,
        industry: None,
        country: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// What a store keeps for `new`.
pub(crate) fn investment_from(new: &NewInvestment) -> Investment {
    Investment {
        id: new.id,
        owner: new.owner,
        symbol: new.symbol.clone(),
        name: new.name.clone(),
        investment_type: new.investment_type,
        exchange: new.exchange.clone(),
        market_cap: new.market_cap,
        pe_ratio: new.pe_ratio,
        dividend_yield: new.dividend_yield,
        expense_ratio: new.expense_ratio,
        sector: new.sector.clone(),
        industry: new.industry.clone(),
        country: new.country.clone(),
        ..investment()
    }
}

/// Somebody's "Long term" USD portfolio, not their default, without targets or value.
pub(crate) fn portfolio() -> Portfolio {
    Portfolio {
        id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
        name: "Long term".into(),
        description: None,
        currency: CurrencyCode::USD,
        is_default: false,
        target_allocation: BTreeMap::new(),
        total_value: Money::ZERO,
        created_at: now(),
        updated_at: now(),
    }
}

/// What a store keeps for `new`.
pub(crate) fn portfolio_from(new: &NewPortfolio) -> Portfolio {
    Portfolio {
        id: new.id,
        user_id: new.user_id,
        name: new.name.clone(),
        description: new.description.clone(),
        currency: new.currency,
        is_default: new.is_default,
        target_allocation: new.target_allocation.clone(),
        ..portfolio()
    }
}

/// What a store records for `new`: a buy, or a sell that realized nothing and left no item.
pub(crate) fn trade_from(new: &NewTrade) -> Trade {
    Trade {
        id: new.id,
        investment_id: new.investment_id,
        side: new.side,
        quantity: new.quantity,
        price: new.price,
        fee: new.fee,
        date: new.date,
        realized_gain: None,
        item: None,
    }
}
