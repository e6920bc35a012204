#![allow(clippy::unwrap_used, clippy::expect_used)]

use mockall::predicate::eq;
use nestegg_ports::investment::MockInvestmentRepository;
use nestegg_ports::{Conflict, RepoError};

use super::*;
use crate::test_support::{
    Seen, check_page_limits, clock, date, dec, invalid_fields, investment, investment_from, now,
    refusal, today,
};

fn service(investments: MockInvestmentRepository) -> InvestmentService {
    InvestmentService::new(Arc::new(investments), Arc::new(clock()))
}

/// A service over a store that expects no call at all (the mock fails any call it does not
/// expect), for input refused before the store is asked.
fn store_untouched() -> InvestmentService {
    service(MockInvestmentRepository::new())
}

fn input() -> InvestmentInput {
    InvestmentInput {
        symbol: "acme".into(),
        name: "Acme Corp".into(),
        investment_type: "stock".into(),
        ..Default::default()
    }
}

fn empty_page() -> InvestmentPage {
    InvestmentPage {
        items: vec![],
        next: None,
    }
}

#[tokio::test]
async fn adding_a_security_reports_every_invalid_field_at_once_and_stores_nothing() {
    let err = store_untouched()
        .create(
            Uuid::now_v7(),
            InvestmentInput {
                symbol: "not a symbol".into(),
                name: " ".into(),
                investment_type: "share".into(),
                exchange: Some("e".repeat(65)),
                market_cap: Some(dec("-1")),
                pe_ratio: Some(dec("1.00001")),
                dividend_yield: Some(dec("101")),
                expense_ratio: Some(dec("-0.1")),
                sector: Some("s".repeat(129)),
                industry: Some("i".repeat(129)),
                country: Some("c".repeat(65)),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        invalid_fields(err),
        [
            "country",
            "dividend_yield",
            "exchange",
            "expense_ratio",
            "industry",
            "market_cap",
            "name",
            "pe_ratio",
            "sector",
            "symbol",
            "type"
        ]
    );
}

#[tokio::test]
async fn an_added_security_is_private_to_its_user_with_an_upper_case_symbol_and_trimmed_text() {
    let mut repo = MockInvestmentRepository::new();
    let user = Uuid::now_v7();
    let seen = Seen::new();
    repo.expect_create()
        .times(1)
        .returning(seen.storing(investment_from));
    let created = service(repo)
        .create(
            user,
            InvestmentInput {
                symbol: " brk.b ".into(),
                name: "  Berkshire Hathaway  ".into(),
                investment_type: "stock".into(),
                exchange: Some("  ".into()),
                market_cap: Some(dec("0")),
                dividend_yield: Some(dec("1.25")),
                sector: Some(" Financials ".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (new, at) = seen.take();
    assert_eq!(at, now());
    assert_eq!(new.owner, Some(user));
    assert!(!new.id.is_nil());
    assert_eq!(new.symbol, "BRK.B");
    assert_eq!(new.name, "Berkshire Hathaway");
    assert_eq!(new.investment_type, InvestmentType::Stock);
    assert_eq!(new.exchange, None);
    assert_eq!(new.market_cap.map(Money::value), Some(Decimal::ZERO));
    assert_eq!(new.dividend_yield.map(Percentage::value), Some(dec("1.25")));
    assert_eq!(new.sector.as_deref(), Some("Financials"));
    assert_eq!(created.owner, Some(user));
}

#[tokio::test]
async fn a_store_failure_while_adding_a_security_is_passed_on() {
    let mut repo = MockInvestmentRepository::new();
    repo.expect_create()
        .returning(|_, _| Err(RepoError::Conflict(Conflict::Unique)));
    let err = service(repo)
        .create(Uuid::now_v7(), input())
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), ("conflict", "conflict"));
}

#[tokio::test]
async fn a_shared_security_is_visible_to_any_user() {
    let mut repo = MockInvestmentRepository::new();
    let security = investment();
    let id = security.id;
    let user = Uuid::now_v7();
    repo.expect_get()
        .with(eq(user), eq(id))
        .returning(move |_, _| Ok(security.clone()));
    let got = service(repo).get(user, id).await.unwrap();
    assert_eq!(got.owner, None);
}

#[tokio::test]
async fn listing_asks_for_fifty_by_default_with_the_symbol_upper_cased() {
    let mut repo = MockInvestmentRepository::new();
    let user = Uuid::now_v7();
    let cursor = ("AAPL".to_owned(), Uuid::now_v7());
    let next = ("MSFT".to_owned(), Uuid::now_v7());
    let expected = InvestmentFilter {
        symbol: Some("VTI".into()),
        q: Some("vanguard".into()),
        after: Some(cursor.clone()),
        limit: 50,
    };
    let returned = InvestmentPage {
        items: vec![investment()],
        next: Some(next.clone()),
    };
    repo.expect_list()
        .with(eq(user), eq(expected))
        .times(1)
        .returning(move |_, _| Ok(returned.clone()));
    let page = service(repo)
        .list(
            user,
            Some("vti".into()),
            Some("vanguard".into()),
            None,
            Some(cursor),
        )
        .await
        .unwrap();
    // The store reads one row more than the page and says where the next starts.
    assert_eq!(page.next, Some(next));
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn a_security_page_limit_must_be_between_1_and_500() {
    check_page_limits(async |limit, ok| {
        let mut repo = MockInvestmentRepository::new();
        repo.expect_list()
            .withf(move |_, f| i64::from(f.limit) == limit)
            .times(usize::from(ok))
            .returning(|_, _| Ok(empty_page()));
        service(repo)
            .list(Uuid::now_v7(), None, None, Some(limit), None)
            .await
            .map(drop)
    })
    .await;
}

#[tokio::test]
async fn listing_reports_a_bad_symbol_search_and_limit_together() {
    let err = store_untouched()
        .list(
            Uuid::now_v7(),
            Some("$$$".into()),
            Some("a\nb".into()),
            Some(0),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(err), ["limit", "q", "symbol"]);
}

#[tokio::test]
async fn a_security_search_may_be_255_characters_but_not_256() {
    for (length, ok) in [(255, true), (256, false)] {
        let mut repo = MockInvestmentRepository::new();
        repo.expect_list()
            .times(usize::from(ok))
            .returning(|_, _| Ok(empty_page()));
        let result = service(repo)
            .list(Uuid::now_v7(), None, Some("é".repeat(length)), None, None)
            .await;
        assert_eq!(result.is_ok(), ok, "a search of {length} characters");
    }
}

#[tokio::test]
async fn a_price_that_is_not_positive_on_an_unsupported_date_reports_both_and_stores_nothing() {
    let err = store_untouched()
        .put_price(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Decimal::ZERO,
            Some(date(10_000, 1, 1)),
        )
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(err), ["date", "price"]);
}

#[tokio::test]
async fn a_price_without_a_date_is_recorded_for_the_clocks_today() {
    let mut repo = MockInvestmentRepository::new();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    let point = PricePoint {
        date: today(),
        price: Price::new(dec("101.25")).unwrap(),
    };
    let priced = Investment {
        current_price: Some(point.price),
        price_date: Some(point.date),
        ..investment()
    };
    repo.expect_put_price()
        .with(eq(user), eq(id), eq(point), eq(now()))
        .times(1)
        .returning(move |_, _, _, _| Ok(priced.clone()));
    let got = service(repo)
        .put_price(user, id, dec("101.25"), None)
        .await
        .unwrap();
    assert_eq!(got.price_date, Some(today()));
}

#[tokio::test]
async fn a_security_the_user_cannot_see_is_not_found_naming_the_investment() {
    let mut repo = MockInvestmentRepository::new();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    let from = Some(date(2026, 1, 1));
    repo.expect_get().returning(|_, _| Err(RepoError::NotFound));
    repo.expect_put_price()
        .withf(|_, _, p, _| p.date == date(2026, 1, 2))
        .times(1)
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    // Price history is read for the range asked.
    repo.expect_prices()
        .with(eq(user), eq(id), eq(from), eq(None))
        .times(1)
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    let service = service(repo);
    for (case, result) in [
        ("getting it", service.get(user, id).await.map(drop)),
        (
            "pricing a shared or another user's security",
            service
                .put_price(user, id, dec("1"), Some(date(2026, 1, 2)))
                .await
                .map(drop),
        ),
        (
            "reading its price history",
            service.prices(user, id, from, None).await.map(drop),
        ),
    ] {
        assert!(
            matches!(result, Err(AppError::NotFound("investment"))),
            "{case}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_price_history_ending_before_it_starts_is_refused_naming_to_without_asking_the_store() {
    let err = store_untouched()
        .prices(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Some(date(2026, 2, 1)),
            Some(date(2026, 1, 31)),
        )
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(err), ["to"]);
}
