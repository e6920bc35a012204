#![allow(clippy::unwrap_used, clippy::expect_used)]

use mockall::predicate::eq;
use nestegg_domain::report::{CashflowPart, SnapshotPoint};
use nestegg_domain::{AccountType, Preferences};
use nestegg_ports::account::MockAccountRepository;
use nestegg_ports::cache::MockCache;
use nestegg_ports::report::MockReportRepository;
use nestegg_ports::user::MockUserRepository;
use nestegg_ports::{Account, User};
use serde_json::json;

use super::*;
use crate::test_support::{
    account, clock, currency as code, date, dec, expect_hit, expect_invalidations, expect_miss,
    invalid_fields, money, now, refusal, report_cache, today, unavailable, user, validation,
};

fn eur() -> CurrencyCode {
    code("EUR")
}

fn fx(currency: &str, rate: &str) -> FxRate {
    FxRate {
        currency: code(currency),
        base_currency: eur(),
        rate: Rate::new(dec(rate)).unwrap(),
        date: date(2026, 11, 1),
        updated_at: now(),
    }
}

/// The user's account of this type, balance and currency.
fn holding(
    user_id: Uuid,
    account_type: AccountType,
    balance: &str,
    currency: &str,
    institution: Option<&str>,
) -> Account {
    Account {
        account_type,
        institution_name: institution.map(str::to_owned),
        current_balance: money(balance),
        currency: code(currency),
        ..account(user_id)
    }
}

struct Mocks {
    user_id: Uuid,
    users: MockUserRepository,
    accounts: MockAccountRepository,
    reports: MockReportRepository,
    cache: MockCache,
}

impl Mocks {
    fn new() -> Self {
        Self {
            user_id: Uuid::now_v7(),
            users: MockUserRepository::new(),
            accounts: MockAccountRepository::new(),
            reports: MockReportRepository::new(),
            cache: MockCache::new(),
        }
    }

    /// The user reports in `base` and has these rates into it.
    fn rates(&mut self, base: &'static str, rates: Vec<FxRate>) {
        let id = self.user_id;
        self.users
            .expect_find_by_id()
            .with(eq(id))
            .returning(move |id| {
                Ok(Some(User {
                    id,
                    preferences: Preferences::parse(json!({ "base_currency": base })).unwrap(),
                    ..user()
                }))
            });
        self.reports
            .expect_latest_rates()
            .with(eq(id), eq(code(base)))
            .returning(move |_, _| Ok(rates.clone()));
    }

    /// The cache misses `field` at version 4 and stores what is computed.
    fn cache_miss(&mut self, field: String) {
        expect_miss(&mut self.cache, self.user_id, field);
    }

    /// The cache holds `text` under `field`.
    fn cache_hit(&mut self, field: String, text: &'static str) {
        expect_hit(&mut self.cache, self.user_id, field, text);
    }

    /// No store may be read: not the user, accounts or reports.
    fn stores_untouched(&mut self) {
        self.users.expect_find_by_id().never();
        self.accounts.expect_list().never();
        self.reports.expect_latest_rates().never();
        self.reports.expect_snapshots_until().never();
        self.reports.expect_balances_on().never();
        self.reports.expect_cashflow().never();
    }

    /// Nothing may be read, the cache included.
    fn untouched(&mut self) {
        self.stores_untouched();
        self.cache.expect_get().never();
    }

    /// Each account's balance today is its current balance.
    fn balances_today(&mut self, accounts: &[Account]) {
        let on_day: std::collections::HashMap<Uuid, Money> =
            accounts.iter().map(|a| (a.id, a.current_balance)).collect();
        self.reports
            .expect_balances_on()
            .with(eq(self.user_id), eq(today()))
            .returning(move |_, _| Ok(on_day.clone()));
    }

    fn service(self) -> (Uuid, ReportService) {
        (
            self.user_id,
            ReportService::new(
                Arc::new(self.users),
                Arc::new(self.accounts),
                Arc::new(self.reports),
                report_cache(self.cache),
                Arc::new(clock()),
            ),
        )
    }
}

#[tokio::test]
async fn the_overview_converts_into_the_base_currency_and_lists_accounts_without_a_rate() {
    let mut m = Mocks::new();
    let id = m.user_id;
    m.rates("EUR", vec![fx("USD", "0.9")]);
    let accounts = vec![
        holding(id, AccountType::Checking, "1000", "EUR", Some("Bank A")),
        holding(id, AccountType::Savings, "500", "USD", Some("Bank A")),
        holding(id, AccountType::CreditCard, "200", "EUR", Some("Bank B")),
        holding(id, AccountType::Checking, "300", "GBP", None),
    ];
    let gbp = accounts[3].id;
    m.balances_today(&accounts);
    let listed = accounts.clone();
    m.accounts
        .expect_list()
        .with(eq(id))
        .returning(move |_| Ok(listed.clone()));
    let (id, service) = m.service();
    let DatedOverview { as_of, overview } = service.overview(id).await.unwrap();
    assert_eq!(as_of, today());
    assert_eq!(overview.base_currency, eur());
    assert_eq!(overview.total_assets, money("1450"));
    assert_eq!(overview.total_liabilities, money("200"));
    assert_eq!(overview.net_worth, money("1250"));
    assert_eq!(overview.unconverted, [gbp]);
    let in_base: Vec<_> = overview
        .accounts
        .iter()
        .map(|l| l.balance_in_base)
        .collect();
    assert_eq!(
        in_base,
        [
            Some(money("1000")),
            Some(money("450")),
            Some(money("200")),
            None
        ]
    );
    let by_type: Vec<_> = overview
        .by_type
        .iter()
        .map(|t| (t.account_type, t.total, t.count))
        .collect();
    assert_eq!(
        by_type,
        [
            (AccountType::Checking, money("1000"), 2),
            (AccountType::Savings, money("450"), 1),
            (AccountType::CreditCard, money("200"), 1),
        ]
    );
}

#[tokio::test]
async fn an_overview_for_a_user_who_no_longer_exists_is_unauthorized() {
    let mut m = Mocks::new();
    m.users.expect_find_by_id().returning(|_| Ok(None));
    m.accounts.expect_list().never();
    let (id, service) = m.service();
    let err = service.overview(id).await.unwrap_err();
    assert_eq!(refusal(&err), ("unauthorized", "unauthorized"));
}

#[tokio::test]
async fn a_store_outage_fails_the_overview_as_unavailable() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    m.reports
        .expect_balances_on()
        .returning(|_, _| Err(unavailable()));
    m.accounts.expect_list().never();
    let (id, service) = m.service();
    assert!(matches!(
        service.overview(id).await.unwrap_err(),
        AppError::Unavailable(_)
    ));
}

#[tokio::test]
async fn a_cached_overview_is_served_without_reading_the_stores_or_rendering() {
    let mut m = Mocks::new();
    m.stores_untouched();
    m.cache_hit(format!("overview:{}", today()), "{\"cached\":true}");
    let (id, service) = m.service();
    let text = service
        .overview_json(id, |_| -> String { panic!("a hit must not be rendered") })
        .await
        .unwrap();
    assert_eq!(text, "{\"cached\":true}");
}

#[tokio::test]
async fn a_missed_overview_is_rendered_with_the_callers_shape_and_cached_for_today() {
    let mut m = Mocks::new();
    let id = m.user_id;
    m.rates("EUR", vec![]);
    let listed = vec![holding(id, AccountType::Savings, "10.5", "EUR", None)];
    m.balances_today(&listed);
    m.accounts
        .expect_list()
        .returning(move |_| Ok(listed.clone()));
    m.cache_miss(format!("overview:{}", today()));
    let (id, service) = m.service();
    let text = service
        .overview_json(
            id,
            |o| json!({ "as_of": o.as_of.to_string(), "net": o.overview.net_worth }),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        json!({ "as_of": "2026-11-24", "net": "10.5" })
    );
}

#[tokio::test]
async fn history_defaults_to_a_year_of_months_up_to_today_at_the_latest_snapshots() {
    let mut m = Mocks::new();
    let id = m.user_id;
    m.rates("EUR", vec![]);
    let (checking, card) = (Uuid::now_v7(), Uuid::now_v7());
    let points = vec![
        SnapshotPoint {
            account_id: checking,
            account_type: AccountType::Checking,
            currency: eur(),
            date: date(2026, 1, 1),
            balance: money("100"),
        },
        SnapshotPoint {
            account_id: card,
            account_type: AccountType::CreditCard,
            currency: eur(),
            date: date(2026, 6, 1),
            balance: money("30"),
        },
    ];
    m.reports
        .expect_snapshots_until()
        .with(eq(id), eq(today()))
        .times(1)
        .returning(move |_, _| Ok(points.clone()));
    m.cache_miss(format!("history:{}:{}:Month", date(2025, 11, 24), today()));
    let (id, service) = m.service();
    let text = service
        .history_json(id, None, None, None, |points| {
            points
                .into_iter()
                .map(|p| format!("{} {}", p.date, p.net_worth))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
    let lines: Vec<String> = serde_json::from_str(&text).unwrap();
    assert_eq!(lines.len(), 13);
    assert_eq!(lines[0], "2025-11-24 0");
    assert_eq!(lines[1], "2025-12-24 0");
    assert_eq!(lines[2], "2026-01-24 100");
    assert_eq!(lines[6], "2026-05-24 100");
    assert_eq!(lines[7], "2026-06-24 70");
    assert_eq!(lines[12], "2026-11-24 70");
}

#[tokio::test]
async fn a_history_interval_must_be_day_week_or_month() {
    let mut m = Mocks::new();
    m.untouched();
    let (id, service) = m.service();
    let err = service
        .history_json(id, None, None, Some("year"), |p| p.len())
        .await
        .unwrap_err();
    let fields = validation(err);
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["interval"]);
    assert_eq!(fields["interval"], "expected day, week or month");
}

#[tokio::test]
async fn a_backwards_or_unsupported_history_range_is_refused_under_its_field_before_any_read() {
    for (case, from, to, interval, field) in [
        (
            "ending before it starts",
            Some(date(2026, 2, 1)),
            Some(date(2026, 1, 1)),
            None,
            "to",
        ),
        (
            "starting before year 1",
            Some(date(0, 6, 1)),
            Some(date(2026, 1, 1)),
            Some("day"),
            "from",
        ),
        (
            "ending after year 9999",
            None,
            Some(date(10_000, 1, 1)),
            Some("day"),
            "to",
        ),
    ] {
        let mut m = Mocks::new();
        m.untouched();
        let (id, service) = m.service();
        let err = service
            .history_json(id, from, to, interval, |p| p.len())
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(err), [field], "{case}");
    }
}

#[tokio::test]
async fn a_history_with_too_many_points_is_refused() {
    let mut m = Mocks::new();
    m.untouched();
    let (id, service) = m.service();
    let err = service
        .history_json(
            id,
            Some(date(2000, 1, 1)),
            Some(date(2026, 1, 1)),
            Some("day"),
            |p| p.len(),
        )
        .await
        .unwrap_err();
    assert!(validation(err)["to"].contains("at most 3660 points"));
}

#[tokio::test]
async fn a_history_without_a_start_never_starts_before_the_earliest_supported_date() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    m.reports
        .expect_snapshots_until()
        .returning(|_, _| Ok(vec![]));
    let (id, service) = m.service();
    let text = service
        .history_json(id, None, Some(date(1, 6, 1)), None, |p| {
            p.first().map(|p| p.date.to_string())
        })
        .await
        .unwrap();
    assert_eq!(text, "\"0001-01-01\"");
}

#[tokio::test]
async fn cash_flow_defaults_to_this_month_by_category_in_the_base_currency() {
    let mut m = Mocks::new();
    let id = m.user_id;
    m.rates("EUR", vec![fx("USD", "0.9")]);
    let part = |key: &str, currency: &str, income: &str, expenses: &str, count| CashflowPart {
        key: Some(key.into()),
        currency: code(currency),
        income: money(income),
        expenses: money(expenses),
        count,
    };
    let parts = vec![
        part("food_and_drink", "EUR", "0", "100", 3),
        part("food_and_drink", "USD", "0", "50", 1),
        part("income", "EUR", "2000", "0", 1),
        part("travel", "GBP", "0", "300", 1),
    ];
    m.reports
        .expect_cashflow()
        .with(
            eq(id),
            eq(date(2026, 11, 1)),
            eq(today()),
            eq(CashflowGrouping::Category),
        )
        .times(1)
        .returning(move |_, _, _, _| Ok(parts.clone()));
    let (id, service) = m.service();
    let flow = service.cashflow(id, None, None, None).await.unwrap();
    assert_eq!(flow.base_currency, eur());
    assert_eq!((flow.from, flow.to), (date(2026, 11, 1), today()));
    assert_eq!(flow.cashflow.income, money("2000"));
    assert_eq!(flow.cashflow.expenses, money("145"));
    assert_eq!(flow.cashflow.net, money("1855"));
    assert_eq!(flow.cashflow.unconverted_currencies, [code("GBP")]);
    let groups: Vec<_> = flow
        .cashflow
        .groups
        .iter()
        .map(|g| (g.key.clone().unwrap(), g.expenses, g.count))
        .collect();
    assert_eq!(
        groups,
        [
            ("food_and_drink".to_owned(), money("145"), 4),
            ("income".to_owned(), money("0"), 1),
        ]
    );
}

#[tokio::test]
async fn cash_flow_groups_by_month_or_merchant_when_asked() {
    for (asked, grouping) in [
        ("month", CashflowGrouping::Month),
        ("merchant", CashflowGrouping::Merchant),
    ] {
        let mut m = Mocks::new();
        m.rates("EUR", vec![]);
        m.reports
            .expect_cashflow()
            .withf(move |_, _, _, g| *g == grouping)
            .times(1)
            .returning(|_, _, _, _| Ok(vec![]));
        let (id, service) = m.service();
        let flow = service
            .cashflow(id, Some(date(2026, 1, 1)), None, Some(asked))
            .await
            .unwrap();
        assert_eq!(flow.from, date(2026, 1, 1));
    }
}

#[tokio::test]
async fn a_bad_cash_flow_range_or_grouping_is_refused_before_any_read() {
    for (from, to, group_by, field) in [
        (Some(date(2026, 3, 1)), Some(date(2026, 2, 1)), None, "to"),
        (None, None, Some("week"), "group_by"),
        (Some(date(-1, 1, 1)), None, None, "from"),
        (None, Some(date(10_000, 1, 1)), None, "to"),
    ] {
        let mut m = Mocks::new();
        m.untouched();
        let (id, service) = m.service();
        let err = service
            .cashflow_json(id, from, to, group_by, |f| f.from)
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(err), [field]);
    }
}

#[tokio::test]
async fn a_cached_cash_flow_is_served_without_reading_the_stores() {
    let mut m = Mocks::new();
    m.stores_untouched();
    m.cache_hit(
        format!("cashflow:{}:{}:Merchant", date(2026, 11, 1), today()),
        "\"cached\"",
    );
    let (id, service) = m.service();
    let text = service
        .cashflow_json(id, None, None, Some("merchant"), |_| -> String {
            panic!("a hit must not be rendered")
        })
        .await
        .unwrap();
    assert_eq!(text, "\"cached\"");
}

#[tokio::test]
async fn a_missed_cash_flow_ending_today_is_rendered_with_the_callers_shape_and_cached() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    m.reports
        .expect_cashflow()
        .returning(|_, _, _, _| Ok(vec![]));
    m.cache_miss(format!("cashflow:{}:{}:Month", date(2026, 1, 1), today()));
    let (id, service) = m.service();
    let text = service
        .cashflow_json(
            id,
            Some(date(2026, 1, 1)),
            Some(today()),
            Some("month"),
            |f| format!("{} {}", f.base_currency, f.cashflow.net),
        )
        .await
        .unwrap();
    assert_eq!(text, "\"EUR 0\"");
}

#[tokio::test]
async fn a_cash_flow_or_history_not_ending_today_is_computed_each_time_and_never_cached() {
    let tomorrow = date(2026, 11, 25);
    for to in [date(2026, 6, 30), tomorrow] {
        let mut m = Mocks::new();
        m.rates("EUR", vec![]);
        m.reports
            .expect_cashflow()
            .times(2)
            .returning(|_, _, _, _| Ok(vec![]));
        m.reports
            .expect_snapshots_until()
            .with(eq(m.user_id), eq(to))
            .times(2)
            .returning(|_, _| Ok(vec![]));
        m.cache.expect_get().never();
        m.cache.expect_put_if_current().never();
        let (id, service) = m.service();
        for _ in 0..2 {
            let flow = service
                .cashflow_json(id, Some(date(2026, 1, 1)), Some(to), None, |f| f.to)
                .await
                .unwrap();
            let history = service
                .history_json(id, Some(date(2026, 1, 1)), Some(to), None, |p| p.len())
                .await
                .unwrap();
            assert_eq!(flow, format!("\"{to}\""));
            assert!(history.parse::<usize>().unwrap() > 0, "{history}");
        }
    }
}

#[tokio::test]
async fn a_history_ending_today_is_cached_under_its_range_and_interval() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    m.reports
        .expect_snapshots_until()
        .times(1)
        .returning(|_, _| Ok(vec![]));
    m.cache_miss(format!("history:{}:{}:Day", date(2026, 11, 1), today()));
    let (id, service) = m.service();
    let text = service
        .history_json(
            id,
            Some(date(2026, 11, 1)),
            Some(today()),
            Some("day"),
            |p| p.len(),
        )
        .await
        .unwrap();
    assert_eq!(text, "24");
}

#[tokio::test]
async fn a_rate_for_the_base_currency_or_not_positive_is_refused_together_and_stores_nothing() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    m.reports.expect_put_rate().never();
    m.cache.expect_invalidate().never();
    let (id, service) = m.service();
    let err = service
        .put_rate(id, "EUR", Decimal::ZERO, None)
        .await
        .unwrap_err();
    let fields = validation(err);
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["currency", "rate"]);
    assert!(fields["currency"].contains("base currency"));
}

#[tokio::test]
async fn a_rate_with_an_unknown_currency_and_an_unsupported_date_reports_both() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    m.reports.expect_put_rate().never();
    m.cache.expect_invalidate().never();
    let (id, service) = m.service();
    let err = service
        .put_rate(id, "usd", dec("-1"), Some(date(10_000, 1, 1)))
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(err), ["currency", "date", "rate"]);
}

#[tokio::test]
async fn a_rate_is_stored_into_the_base_currency_for_today_and_drops_the_users_reports() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    let expected = FxRate {
        currency: code("USD"),
        base_currency: eur(),
        rate: Rate::new(dec("0.92")).unwrap(),
        date: today(),
        updated_at: now(),
    };
    let id = m.user_id;
    let stored = expected.clone();
    m.reports
        .expect_put_rate()
        .with(eq(id), eq(expected), eq(now()))
        .times(1)
        .returning(move |_, _, _| Ok(stored.clone()));
    expect_invalidations(&mut m.cache, id, 1);
    let (id, service) = m.service();
    let rate = service
        .put_rate(id, "USD", dec("0.92"), None)
        .await
        .unwrap();
    assert_eq!(rate.date, today());
}

#[tokio::test]
async fn a_rate_the_store_fails_to_keep_drops_no_reports() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![]);
    m.reports
        .expect_put_rate()
        .returning(|_, _, _| Err(unavailable()));
    m.cache.expect_invalidate().never();
    let (id, service) = m.service();
    let err = service
        .put_rate(id, "USD", dec("0.92"), Some(date(2026, 1, 1)))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Unavailable(_)));
}

#[tokio::test]
async fn the_rates_are_listed_with_the_users_base_currency() {
    let mut m = Mocks::new();
    m.rates("EUR", vec![fx("USD", "0.9"), fx("GBP", "1.15")]);
    let (id, service) = m.service();
    let (base, rates) = service.rates_list(id).await.unwrap();
    assert_eq!(base, eur());
    assert_eq!(
        rates
            .iter()
            .map(|r| r.currency.as_str())
            .collect::<Vec<_>>(),
        ["USD", "GBP"]
    );
}

#[tokio::test]
async fn the_overview_counts_each_account_at_its_balance_today_not_a_later_dated_one() {
    let mut m = Mocks::new();
    let id = m.user_id;
    m.rates("EUR", vec![]);
    // The current balance (the latest date of the ledger) already counts a salary dated next
    // week; today's balance does not.
    let account = holding(id, AccountType::Checking, "3500", "EUR", None);
    let today_balance = std::collections::HashMap::from([(account.id, money("1000"))]);
    m.reports
        .expect_balances_on()
        .with(eq(id), eq(today()))
        .returning(move |_, _| Ok(today_balance.clone()));
    let listed = vec![account];
    m.accounts
        .expect_list()
        .returning(move |_| Ok(listed.clone()));
    let (id, service) = m.service();
    let overview = service.overview(id).await.unwrap().overview;
    assert_eq!(overview.net_worth, money("1000"));
    assert_eq!(overview.accounts[0].account.balance, money("1000"));
}
