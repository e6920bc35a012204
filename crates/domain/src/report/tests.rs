use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;

fn m(s: &str) -> Money {
    Money::new(Decimal::from_str_exact(s).unwrap()).unwrap()
}

fn usd() -> Rates {
    Rates::new(CurrencyCode::USD, HashMap::new())
}

fn account(
    name: &str,
    t: AccountType,
    balance: &str,
    currency: &str,
    inst: Option<&str>,
) -> AccountBalance {
    AccountBalance {
        id: Uuid::now_v7(),
        name: name.into(),
        account_type: t,
        institution_name: inst.map(str::to_owned),
        balance: m(balance),
        currency: CurrencyCode::parse(currency).unwrap(),
    }
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn three_accounts_give_the_net_worth_worked_out_by_hand() {
    // Assets: 1000.10 + 2500 = 3500.10. Liabilities: 300.25 owed on the card.
    // Net worth: 3500.10 - 300.25 = 3199.85.
    let accounts = [
        account(
            "Checking",
            AccountType::Checking,
            "1000.10",
            "USD",
            Some("Chase"),
        ),
        account("Savings", AccountType::Savings, "2500", "USD", Some("Ally")),
        account(
            "Card",
            AccountType::CreditCard,
            "300.25",
            "USD",
            Some("Chase"),
        ),
    ];
    let o = overview(&accounts, &usd()).unwrap();
    assert_eq!(o.total_assets, m("3500.10"));
    assert_eq!(o.total_liabilities, m("300.25"));
    assert_eq!(o.net_worth, m("3199.85"));
    let types: Vec<_> = o
        .by_type
        .iter()
        .map(|t| (t.account_type, t.class, t.total, t.count))
        .collect();
    assert_eq!(
        types,
        [
            (AccountType::Checking, AccountClass::Asset, m("1000.10"), 1),
            (AccountType::Savings, AccountClass::Asset, m("2500"), 1),
            (
                AccountType::CreditCard,
                AccountClass::Liability,
                m("300.25"),
                1
            ),
        ]
    );
    let chase = &o.by_institution[1];
    assert_eq!(chase.institution_name.as_deref(), Some("Chase"));
    assert_eq!(
        (chase.total_assets, chase.total_liabilities, chase.count),
        (m("1000.10"), m("300.25"), 2)
    );
    assert!(o.unconverted.is_empty());
}

#[test]
fn foreign_accounts_are_converted_at_the_users_rate_or_listed_as_unconverted() {
    let eur = account("Girokonto", AccountType::Checking, "1000", "EUR", None);
    let gbp = account("ISA", AccountType::Savings, "500", "GBP", None);
    let rates = Rates::new(
        CurrencyCode::USD,
        HashMap::from([(
            CurrencyCode::parse("EUR").unwrap(),
            Rate::new(Decimal::new(10845, 4)).unwrap(),
        )]),
    );
    let o = overview(&[eur.clone(), gbp.clone()], &rates).unwrap();
    assert_eq!(o.total_assets, m("1084.5"));
    assert_eq!(o.unconverted, [gbp.id]);
    assert_eq!(o.accounts[1].balance_in_base, None);
    // The GBP account is counted in its type but its balance is in no total.
    assert_eq!(o.by_type[1].count, 1);
    assert_eq!(o.by_type[1].total, Money::ZERO);
}

#[test]
fn conversion_rounds_half_to_even_at_four_places() {
    let rates = Rates::new(
        CurrencyCode::USD,
        HashMap::from([(
            CurrencyCode::parse("JPY").unwrap(),
            Rate::new(Decimal::new(5, 5)).unwrap(),
        )]),
    );
    // 3 JPY × 0.00005 = 0.00015, half way between 0.0001 and 0.0002: even wins.
    let converted = rates
        .to_base(m("3"), CurrencyCode::parse("JPY").unwrap())
        .unwrap();
    assert_eq!(converted, Some(m("0.0002")));
    let converted = rates
        .to_base(m("1"), CurrencyCode::parse("JPY").unwrap())
        .unwrap();
    assert_eq!(converted, Some(m("0"))); // 0.00005 rounds to the even 0.0000
}

#[test]
fn a_history_may_have_exactly_the_most_points_and_not_one_more() {
    let from = date("2016-01-01");
    let last = from + chrono::Days::new(MAX_HISTORY_POINTS as u64 - 1);
    let dates = history_dates(from, last, Interval::Day).unwrap();
    assert_eq!(dates.len(), MAX_HISTORY_POINTS);
    assert_eq!(dates.last(), Some(&last));
    let err = history_dates(from, last + chrono::Days::new(1), Interval::Day).unwrap_err();
    assert!(err.to_string().contains("at most 3660 points"), "{err}");
    // Steps that end before `to` still count `to` itself as a point.
    let weekly = history_dates(from, from + chrono::Days::new(7 * 3659 + 3), Interval::Week);
    assert!(
        weekly.is_err(),
        "3660 weeks and the last day make 3661 points"
    );
}

#[test]
fn history_dates_step_by_interval_and_end_on_the_last_day() {
    let months = history_dates(date("2026-01-31"), date("2026-04-15"), Interval::Month).unwrap();
    assert_eq!(
        months,
        [
            date("2026-01-31"),
            date("2026-02-28"),
            date("2026-03-31"),
            date("2026-04-15")
        ]
    );
    let weeks = history_dates(date("2026-11-01"), date("2026-11-15"), Interval::Week).unwrap();
    assert_eq!(
        weeks,
        [date("2026-11-01"), date("2026-11-08"), date("2026-11-15")]
    );
    assert_eq!(
        history_dates(date("2026-11-01"), date("2026-11-01"), Interval::Day)
            .unwrap()
            .len(),
        1
    );
    assert!(history_dates(date("2026-11-02"), date("2026-11-01"), Interval::Day).is_err());
    assert!(history_dates(date("2000-01-01"), date("2026-01-01"), Interval::Day).is_err());
}

#[test]
fn history_carries_each_accounts_latest_snapshot_forward() {
    let checking = Uuid::now_v7();
    let card = Uuid::now_v7();
    let snap = |id, t, d: &str, b: &str| SnapshotPoint {
        account_id: id,
        account_type: t,
        currency: CurrencyCode::USD,
        date: date(d),
        balance: m(b),
    };
    let snapshots = [
        snap(checking, AccountType::Checking, "2026-01-01", "100"),
        snap(checking, AccountType::Checking, "2026-01-10", "150"),
        snap(card, AccountType::CreditCard, "2026-01-05", "40"),
    ];
    let dates = [
        date("2025-12-31"),
        date("2026-01-01"),
        date("2026-01-07"),
        date("2026-01-31"),
    ];
    let h = history(&dates, &snapshots, &usd()).unwrap();
    let worth: Vec<Money> = h.iter().map(|p| p.net_worth).collect();
    assert_eq!(worth, [m("0"), m("100"), m("60"), m("110")]);
    assert_eq!(h[3].total_liabilities, m("40"));
}

#[test]
fn cash_flow_merges_currencies_per_key_and_lists_those_without_a_rate() {
    let eur = CurrencyCode::parse("EUR").unwrap();
    let chf = CurrencyCode::parse("CHF").unwrap();
    let rates = Rates::new(
        CurrencyCode::USD,
        HashMap::from([(eur, Rate::new(Decimal::new(11, 1)).unwrap())]),
    );
    let part = |key: &str, currency, income: &str, expenses: &str, count| CashflowPart {
        key: Some(key.into()),
        currency,
        income: m(income),
        expenses: m(expenses),
        count,
    };
    let parts = [
        part("food_and_drink", CurrencyCode::USD, "0", "50", 2),
        part("food_and_drink", eur, "0", "10", 1),
        part("income", CurrencyCode::USD, "3000", "0", 1),
        part("travel", chf, "0", "99", 1),
    ];
    let c = cashflow(&parts, &rates).unwrap();
    assert_eq!(
        (c.income, c.expenses, c.net),
        (m("3000"), m("61"), m("2939"))
    );
    assert_eq!(c.groups[0].expenses, m("61"));
    assert_eq!(c.groups[0].count, 3);
    assert_eq!(c.groups.len(), 2);
    assert_eq!(c.unconverted_currencies, [chf]);
}

#[test]
fn cash_flow_groups_come_by_key_with_the_keyless_group_last() {
    let part = |key: Option<&str>| CashflowPart {
        key: key.map(str::to_owned),
        currency: CurrencyCode::USD,
        income: m("0"),
        expenses: m("1"),
        count: 1,
    };
    let c = cashflow(&[part(None), part(Some("b")), part(Some("a"))], &usd()).unwrap();
    let keys: Vec<Option<&str>> = c.groups.iter().map(|g| g.key.as_deref()).collect();
    assert_eq!(keys, [Some("a"), Some("b"), None]);
}

#[test]
fn dates_must_have_four_digit_years() {
    assert!(check_date(date("2026-11-25")).is_ok());
    assert!(check_date(NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap()).is_err());
    assert!(check_date(NaiveDate::from_ymd_opt(-5, 1, 1).unwrap()).is_err());
}

fn balances() -> impl Strategy<Value = Vec<AccountBalance>> {
    proptest::collection::vec(
        (
            0usize..AccountType::ALL.len(),
            -1_000_000_000i64..1_000_000_000,
            any::<bool>(),
        ),
        0..30,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(t, cents, eur)| {
                let account_type = AccountType::ALL[t];
                let cents = if account_type.allows_negative_balance() {
                    cents
                } else {
                    cents.abs()
                };
                AccountBalance {
                    id: Uuid::now_v7(),
                    name: "a".into(),
                    account_type,
                    institution_name: None,
                    balance: Money::new(Decimal::new(cents, 2)).unwrap(),
                    currency: if eur {
                        CurrencyCode::parse("EUR").unwrap()
                    } else {
                        CurrencyCode::USD
                    },
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn net_worth_is_assets_minus_liabilities_and_types_add_up_to_the_totals(
        accounts in balances(),
        rate in 1i64..100_000,
        with_rate in any::<bool>(),
    ) {
        let mut map = HashMap::new();
        if with_rate {
            map.insert(CurrencyCode::parse("EUR").unwrap(), Rate::new(Decimal::new(rate, 4)).unwrap());
        }
        let o = overview(&accounts, &Rates::new(CurrencyCode::USD, map)).unwrap();
        prop_assert_eq!(o.net_worth, o.total_assets.checked_sub(o.total_liabilities).unwrap());
        let sum = |class| o.by_type.iter().filter(|t| t.class == class)
            .try_fold(Money::ZERO, |acc, t| acc.checked_add(t.total)).unwrap();
        prop_assert_eq!(sum(AccountClass::Asset), o.total_assets);
        prop_assert_eq!(sum(AccountClass::Liability), o.total_liabilities);
        let eur_accounts = accounts.iter().filter(|a| a.currency.as_str() == "EUR").count();
        prop_assert_eq!(o.unconverted.len(), if with_rate { 0 } else { eur_accounts });
        prop_assert_eq!(o.by_type.iter().map(|t| t.count).sum::<usize>(), accounts.len());
    }

    #[test]
    fn the_last_history_point_after_every_snapshot_equals_the_overview_of_those_balances(
        accounts in balances(),
    ) {
        let rates = Rates::new(CurrencyCode::USD, HashMap::new());
        let snapshots: Vec<SnapshotPoint> = accounts.iter().map(|a| SnapshotPoint {
            account_id: a.id,
            account_type: a.account_type,
            currency: a.currency,
            date: date("2026-06-01"),
            balance: a.balance,
        }).collect();
        let h = history(&[date("2026-05-31"), date("2026-12-31")], &snapshots, &rates).unwrap();
        let o = overview(&accounts, &rates).unwrap();
        prop_assert_eq!(h[0].net_worth, Money::ZERO);
        prop_assert_eq!(h[1].net_worth, o.net_worth);
    }
}
