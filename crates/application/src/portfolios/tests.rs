#![allow(clippy::unwrap_used, clippy::expect_used)]

use mockall::predicate::eq;
use nestegg_domain::DomainError;
use nestegg_domain::portfolio::Holding;
use nestegg_ports::portfolio::MockPortfolioRepository;

use super::*;
use crate::test_support::{
    Seen, clock, date, dec, invalid_fields, money, now, pct, portfolio, portfolio_from, refusal,
    trade_from, validation,
};

fn service(portfolios: MockPortfolioRepository) -> PortfolioService {
    PortfolioService::new(Arc::new(portfolios), Arc::new(clock()))
}

fn the_default() -> Portfolio {
    Portfolio {
        is_default: true,
        ..portfolio()
    }
}

/// The store holds `current` under its id.
fn holding_portfolio(repo: &mut MockPortfolioRepository, current: Portfolio) {
    let id = current.id;
    repo.expect_get()
        .withf(move |_, i| *i == id)
        .returning(move |_, _| Ok(current.clone()));
}

fn item(portfolio_id: Uuid, investment_id: Uuid) -> PortfolioItem {
    PortfolioItem {
        id: Uuid::now_v7(),
        portfolio_id,
        investment_id,
        quantity: Quantity::new(dec("1")).unwrap(),
        average_cost: UnitCost::new(dec("1")).unwrap(),
        current_value: None,
        unrealized_gain_loss: None,
        unrealized_gain_loss_percent: None,
        target_allocation: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn item_input() -> ItemInput {
    ItemInput {
        investment_id: Uuid::now_v7(),
        quantity: dec("1"),
        average_cost: dec("1"),
        target_allocation: None,
    }
}

fn trade_on(day: NaiveDate) -> Trade {
    Trade {
        id: Uuid::now_v7(),
        investment_id: Uuid::now_v7(),
        side: Side::Buy,
        quantity: Quantity::new(dec("1")).unwrap(),
        price: Price::new(dec("10")).unwrap(),
        fee: Money::ZERO,
        date: day,
        realized_gain: None,
        item: None,
    }
}

fn targets_of(pairs: &[(&str, &str)]) -> BTreeMap<String, Decimal> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), dec(v)))
        .collect()
}

fn trade_input(side: &str) -> TradeInput {
    TradeInput {
        investment_id: Uuid::now_v7(),
        side: side.into(),
        quantity: dec("2"),
        price: dec("10.5"),
        fee: None,
        date: date(2026, 11, 20),
    }
}

#[allow(clippy::too_many_arguments)]
fn held(
    symbol: &str,
    investment_type: InvestmentType,
    sector: Option<&str>,
    quantity: &str,
    average_cost: &str,
    price: Option<&str>,
    target: Option<&str>,
) -> Holding {
    Holding {
        item_id: Uuid::now_v7(),
        investment_id: Uuid::now_v7(),
        symbol: symbol.into(),
        investment_type,
        sector: sector.map(str::to_owned),
        country: Some("US".into()),
        position: Position {
            quantity: Quantity::new(dec(quantity)).unwrap(),
            average_cost: UnitCost::new(dec(average_cost)).unwrap(),
        },
        price: price.map(|p| Price::new(dec(p)).unwrap()),
        target_percent: target.map(pct),
    }
}

fn holdings(targets: &[(InvestmentType, &str)], held: Vec<Holding>) -> PortfolioHoldings {
    PortfolioHoldings {
        portfolio: Portfolio {
            target_allocation: targets.iter().map(|(t, p)| (*t, pct(p))).collect(),
            ..the_default()
        },
        holdings: held
            .into_iter()
            .map(|h| {
                let name = format!("{} Inc.", h.symbol);
                (h, name)
            })
            .collect(),
        realized_gain_loss: money("12.5"),
    }
}

#[tokio::test]
async fn targets_adding_up_to_more_than_100_are_refused() {
    // The mock fails any call it does not expect: the store is never asked.
    let err = service(MockPortfolioRepository::new())
        .create(
            Uuid::now_v7(),
            PortfolioInput {
                name: "Mine".into(),
                target_allocation: Some(targets_of(&[("stock", "60"), ("bond", "40.0001")])),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let fields = validation(err);
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["target_allocation"]);
    assert!(fields["target_allocation"].contains("100.0001"));
}

#[tokio::test]
async fn a_new_portfolio_is_in_usd_not_default_and_trimmed_unless_asked_otherwise() {
    let mut repo = MockPortfolioRepository::new();
    let user = Uuid::now_v7();
    let seen = Seen::new();
    repo.expect_create()
        .times(1)
        .returning(seen.storing(portfolio_from));
    service(repo)
        .create(
            user,
            PortfolioInput {
                name: "  Retirement ".into(),
                description: Some("   ".into()),
                target_allocation: Some(targets_of(&[("stock", "60"), ("bond", "40")])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (new, at) = seen.take();
    assert_eq!(at, now());
    assert_eq!(new.user_id, user);
    assert!(!new.id.is_nil());
    assert_eq!(new.name, "Retirement");
    assert_eq!(new.description, None);
    assert_eq!(new.currency, CurrencyCode::USD);
    assert!(!new.is_default);
    assert_eq!(
        new.target_allocation,
        TypeTargets::from([
            (InvestmentType::Stock, pct("60")),
            (InvestmentType::Bond, pct("40"))
        ])
    );
}

#[tokio::test]
async fn a_new_portfolio_keeps_the_currency_and_default_flag_asked_for() {
    let mut repo = MockPortfolioRepository::new();
    repo.expect_create()
        .withf(|new, _| new.is_default && new.currency.as_str() == "EUR")
        .times(1)
        .returning(|new, _| Ok(portfolio_from(&new)));
    let created = service(repo)
        .create(
            Uuid::now_v7(),
            PortfolioInput {
                name: "Euro".into(),
                currency: Some("EUR".into()),
                is_default: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(created.is_default);
}

#[tokio::test]
async fn asking_a_portfolio_that_is_not_the_default_not_to_be_one_changes_nothing() {
    let mut repo = MockPortfolioRepository::new();
    let current = portfolio();
    let id = current.id;
    holding_portfolio(&mut repo, current.clone());
    repo.expect_update()
        .with(
            mockall::predicate::always(),
            eq(id),
            eq(PortfolioUpdate::default()),
            eq(now()),
        )
        .times(1)
        .returning(move |_, _, _, _| Ok(current.clone()));
    let updated = service(repo)
        .update(
            Uuid::now_v7(),
            id,
            PortfolioPatch {
                is_default: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!updated.is_default);
}

#[tokio::test]
async fn an_update_hands_the_store_the_trimmed_name_cleared_description_new_targets_and_default() {
    let mut repo = MockPortfolioRepository::new();
    let user = Uuid::now_v7();
    let current = portfolio();
    let id = current.id;
    holding_portfolio(&mut repo, current.clone());
    let expected = PortfolioUpdate {
        name: Some("Renamed".into()),
        description: Some(None),
        make_default: true,
        target_allocation: Some(TypeTargets::from([(InvestmentType::Etf, pct("100"))])),
    };
    repo.expect_update()
        .with(eq(user), eq(id), eq(expected), eq(now()))
        .times(1)
        .returning(move |_, _, _, _| Ok(current.clone()));
    service(repo)
        .update(
            user,
            id,
            PortfolioPatch {
                name: Some(" Renamed ".into()),
                description: Some(None),
                is_default: Some(true),
                target_allocation: Some(targets_of(&[("etf", "100")])),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_added_item_is_handed_to_the_store_with_its_position_and_target() {
    let mut repo = MockPortfolioRepository::new();
    let (user, id, security) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    repo.expect_add_item()
        .withf(move |u, i, new, at| {
            *u == user
                && *i == id
                && new.investment_id == security
                && !new.id.is_nil()
                && new.position.quantity.value() == dec("3.5")
                && new.position.average_cost == UnitCost::ZERO
                && new.target_allocation == Some(pct("25"))
                && *at == now()
        })
        .times(1)
        .returning(move |_, _, _, _| Ok(item(id, security)));
    let added = service(repo)
        .add_item(
            user,
            id,
            ItemInput {
                investment_id: security,
                quantity: dec("3.5"),
                average_cost: Decimal::ZERO,
                target_allocation: Some(dec("25")),
            },
        )
        .await
        .unwrap();
    assert_eq!(added.investment_id, security);
}

#[tokio::test]
async fn adding_a_security_already_held_is_a_duplicate_item_conflict_naming_the_field() {
    let mut repo = MockPortfolioRepository::new();
    repo.expect_add_item()
        .returning(|_, _, _, _| Err(RepoError::Conflict(Conflict::PortfolioItem)));
    let err = service(repo)
        .add_item(Uuid::now_v7(), Uuid::now_v7(), item_input())
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), ("conflict", "duplicate_item"));
    assert!(matches!(
        err,
        AppError::Conflict {
            field: Some("investment_id"),
            ..
        }
    ));
}

#[tokio::test]
async fn a_trade_is_recorded_with_its_parsed_side_and_no_fee_when_none_is_given() {
    for (side, parsed) in [("buy", Side::Buy), ("sell", Side::Sell)] {
        let mut repo = MockPortfolioRepository::new();
        let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
        let input = trade_input(side);
        let security = input.investment_id;
        let seen = Seen::new();
        let captured = seen.handle();
        repo.expect_trade()
            .withf(move |u, i, _, at| *u == user && *i == id && *at == now())
            .times(1)
            .returning(move |_, _, new, _| {
                let t = trade_from(&new);
                captured.keep(new);
                Ok(t)
            });
        service(repo).trade(user, id, input).await.unwrap();
        let new = seen.take();
        assert_eq!(new.side, parsed);
        assert_eq!(new.investment_id, security);
        assert_eq!(new.quantity.value(), dec("2"));
        assert_eq!(new.price.value(), dec("10.5"));
        assert_eq!(new.fee, Money::ZERO);
        assert_eq!(new.date, date(2026, 11, 20));
    }
}

#[tokio::test]
async fn selling_more_than_is_held_is_an_insufficient_quantity_rule_error() {
    let mut repo = MockPortfolioRepository::new();
    repo.expect_trade().returning(|_, _, _, _| {
        Err(RepoError::Rule(DomainError::InsufficientQuantity {
            held: "1".into(),
            requested: "2".into(),
        }))
    });
    let err = service(repo)
        .trade(Uuid::now_v7(), Uuid::now_v7(), trade_input("sell"))
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), ("rule", "insufficient_quantity"));
}

#[tokio::test]
async fn a_full_trade_page_is_cut_to_the_limit_and_continues_after_the_last_kept_trade() {
    let mut repo = MockPortfolioRepository::new();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    let after = Some((date(2026, 12, 31), Uuid::now_v7()));
    // The store reads one more than the limit to tell that a next page exists.
    let rows: Vec<Trade> = (0..4).map(|d| trade_on(date(2026, 11, 20 - d))).collect();
    let last_kept = (rows[2].date, rows[2].id);
    let kept: Vec<Uuid> = rows[..3].iter().map(|t| t.id).collect();
    repo.expect_trades()
        .with(eq(user), eq(id), eq(after), eq(3))
        .times(1)
        .returning(move |_, _, _, _| Ok(rows.clone()));
    let (trades, next) = service(repo)
        .trades(user, id, after, Some(3))
        .await
        .unwrap();
    assert_eq!(trades.iter().map(|t| t.id).collect::<Vec<_>>(), kept);
    assert_eq!(next, Some(last_kept));
}

#[tokio::test]
async fn the_last_trade_page_has_no_next_cursor_and_the_default_limit_is_fifty() {
    let mut repo = MockPortfolioRepository::new();
    let rows: Vec<Trade> = (0..50)
        .map(|d| trade_on(date(2026, 1, 1) + chrono::Days::new(d)))
        .collect();
    repo.expect_trades()
        .withf(|_, _, after, limit| after.is_none() && *limit == 50)
        .times(1)
        .returning(move |_, _, _, _| Ok(rows.clone()));
    let (trades, next) = service(repo)
        .trades(Uuid::now_v7(), Uuid::now_v7(), None, None)
        .await
        .unwrap();
    assert_eq!(trades.len(), 50);
    assert_eq!(next, None);
}

#[tokio::test]
async fn the_summary_values_the_holdings_the_store_returns_against_the_portfolios_targets() {
    let mut repo = MockPortfolioRepository::new();
    let aapl = held(
        "AAPL",
        InvestmentType::Stock,
        Some("Technology"),
        "10",
        "100",
        Some("150"),
        Some("50"),
    );
    let bnd = held(
        "BND",
        InvestmentType::Bond,
        Some("Bonds"),
        "20",
        "50",
        Some("45"),
        None,
    );
    let btc = held(
        "BTC",
        InvestmentType::Crypto,
        None,
        "1",
        "30000",
        None,
        None,
    );
    let unpriced = btc.item_id;
    let data = holdings(
        &[(InvestmentType::Stock, "60"), (InvestmentType::Bond, "40")],
        vec![aapl, bnd, btc],
    );
    let returned = data.clone();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    repo.expect_holdings()
        .with(eq(user), eq(id))
        .times(1)
        .returning(move |_, _| Ok(returned.clone()));
    let PortfolioSummary { held, summary } = service(repo).summary(user, id).await.unwrap();
    assert_eq!(held, data);
    assert_eq!(summary.total_value, money("2400"));
    assert_eq!(summary.total_cost, money("2000"));
    assert_eq!(summary.unrealized_gain_loss, money("400"));
    assert_eq!(summary.unrealized_gain_loss_percent, Some(dec("20")));
    assert_eq!(summary.unpriced, [unpriced]);
    // AAPL is 62.5% against its own 50% target: the largest drift.
    assert_eq!(summary.max_drift_percent, Some(dec("12.5")));
    let items: Vec<_> = summary
        .items
        .iter()
        .map(|i| {
            (
                i.cost_basis,
                i.current_value,
                i.unrealized_gain_loss_percent,
                i.weight_percent,
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            (
                money("1000"),
                Some(money("1500")),
                Some(dec("50")),
                Some(dec("62.5"))
            ),
            (
                money("1000"),
                Some(money("900")),
                Some(dec("-10")),
                Some(dec("37.5"))
            ),
            (money("30000"), None, None, None),
        ]
    );
    let by_type: Vec<_> = summary
        .by_type
        .iter()
        .map(|s| (s.key.as_str(), s.value, s.weight_percent, s.drift_percent))
        .collect();
    assert_eq!(
        by_type,
        [
            ("bond", money("900"), dec("37.5"), Some(dec("-2.5"))),
            ("stock", money("1500"), dec("62.5"), Some(dec("2.5"))),
        ]
    );
}

fn overweight_in_stocks() -> PortfolioHoldings {
    holdings(
        &[(InvestmentType::Stock, "50"), (InvestmentType::Bond, "50")],
        vec![
            held(
                "AAPL",
                InvestmentType::Stock,
                None,
                "15",
                "80",
                Some("100"),
                None,
            ),
            held(
                "BND",
                InvestmentType::Bond,
                None,
                "5",
                "90",
                Some("100"),
                None,
            ),
        ],
    )
}

#[tokio::test]
async fn rebalancing_sells_the_overweight_type_to_buy_the_underweight_one_by_default() {
    let mut repo = MockPortfolioRepository::new();
    let data = overweight_in_stocks();
    repo.expect_holdings()
        .times(1)
        .returning(move |_, _| Ok(data.clone()));
    let plan = service(repo)
        .rebalance(Uuid::now_v7(), Uuid::now_v7(), None, None)
        .await
        .unwrap();
    let trades: Vec<_> = plan
        .trades
        .iter()
        .map(|t| (t.symbol.as_str(), t.side, t.quantity.value(), t.amount))
        .collect();
    assert_eq!(
        trades,
        [
            ("AAPL", Side::Sell, dec("5"), money("500")),
            ("BND", Side::Buy, dec("5"), money("500")),
        ]
    );
    assert_eq!(plan.cash_left, Money::ZERO);
}

#[tokio::test]
async fn rebalancing_without_sells_and_without_cash_proposes_nothing() {
    let mut repo = MockPortfolioRepository::new();
    let data = overweight_in_stocks();
    repo.expect_holdings()
        .returning(move |_, _| Ok(data.clone()));
    let plan = service(repo)
        .rebalance(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Some(Decimal::ZERO),
            Some(false),
        )
        .await
        .unwrap();
    assert!(plan.trades.is_empty());
    let after: Vec<_> = plan
        .after
        .iter()
        .map(|w| (w.key.as_str(), w.weight_percent))
        .collect();
    assert_eq!(after, [("stock", dec("75")), ("bond", dec("25"))]);
}

#[tokio::test]
async fn a_missing_portfolio_item_or_unseen_security_is_not_found_naming_what_is_missing() {
    let mut repo = MockPortfolioRepository::new();
    let (user, id) = (Uuid::now_v7(), Uuid::now_v7());
    repo.expect_get().returning(|_, _| Err(RepoError::NotFound));
    repo.expect_update().never();
    repo.expect_delete()
        .with(eq(user), eq(id), eq(now()))
        .times(1)
        .returning(|_, _, _| Err(RepoError::NotFound));
    repo.expect_add_item()
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    // An item update can clear the target.
    let cleared = ItemUpdate {
        quantity: Some(Quantity::new(dec("4")).unwrap()),
        average_cost: None,
        target_allocation: Some(None),
    };
    repo.expect_update_item()
        .withf(move |_, _, _, update, at| *update == cleared && *at == now())
        .times(1)
        .returning(|_, _, _, _, _| Err(RepoError::NotFound));
    repo.expect_delete_item()
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    repo.expect_trade()
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    repo.expect_holdings()
        .returning(|_, _| Err(RepoError::NotFound));
    repo.expect_trades()
        .withf(|_, _, _, limit| *limit == 500)
        .returning(|_, _, _, _| Err(RepoError::NotFound));
    let service = service(repo);
    let item = Uuid::now_v7();
    let clear_target = ItemPatch {
        quantity: Some(dec("4")),
        average_cost: None,
        target_allocation: Some(None),
    };
    for (case, result, what) in [
        (
            "updating a missing portfolio",
            service
                .update(user, id, PortfolioPatch::default())
                .await
                .map(drop),
            "portfolio",
        ),
        (
            "deleting a missing portfolio",
            service.delete(user, id).await,
            "portfolio",
        ),
        (
            "adding to a missing portfolio or an unseen security",
            service.add_item(user, id, item_input()).await.map(drop),
            "portfolio or investment",
        ),
        (
            "updating a missing item",
            service
                .update_item(user, id, item, clear_target)
                .await
                .map(drop),
            "portfolio item",
        ),
        (
            "removing a missing item",
            service.delete_item(user, id, item).await,
            "portfolio item",
        ),
        (
            "trading in a missing portfolio or an unseen security",
            service.trade(user, id, trade_input("buy")).await.map(drop),
            "portfolio or investment",
        ),
        (
            "listing the trades of a missing portfolio, 500 at most",
            service.trades(user, id, None, Some(500)).await.map(drop),
            "portfolio",
        ),
        (
            "summing up a missing portfolio",
            service.summary(user, id).await.map(drop),
            "portfolio",
        ),
    ] {
        assert!(
            matches!(result, Err(AppError::NotFound(named)) if named == what),
            "{case}: {result:?}"
        );
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_written_or_read() {
    let mut repo = MockPortfolioRepository::new();
    let current = the_default();
    let id = current.id;
    holding_portfolio(&mut repo, current);
    repo.expect_create().never();
    repo.expect_update().never();
    repo.expect_add_item().never();
    repo.expect_update_item().never();
    repo.expect_trade().never();
    repo.expect_trades().never();
    repo.expect_holdings().never();
    let service = service(repo);
    let user = Uuid::now_v7();
    let bad_item = ItemInput {
        investment_id: Uuid::now_v7(),
        quantity: Decimal::ZERO,
        average_cost: dec("-1"),
        target_allocation: Some(dec("101")),
    };
    let bad_item_patch = ItemPatch {
        quantity: Some(dec("-1")),
        average_cost: Some(dec("0.000000001")),
        target_allocation: Some(Some(dec("100.5"))),
    };
    let bad_trade = TradeInput {
        side: "BUY".into(),
        quantity: Decimal::ZERO,
        price: dec("-1"),
        fee: Some(dec("-0.01")),
        date: date(10_000, 1, 1),
        ..trade_input("buy")
    };
    for (case, result, fields) in [
        (
            "creating, with an unknown type among the targets",
            service
                .create(
                    user,
                    PortfolioInput {
                        name: " ".into(),
                        description: Some("d".repeat(2001)),
                        currency: Some("DOLLARS".into()),
                        is_default: None,
                        target_allocation: Some(targets_of(&[
                            ("stock", "150"),
                            ("crypto_coin", "10"),
                        ])),
                    },
                )
                .await
                .map(drop),
            vec![
                "currency",
                "description",
                "name",
                "target_allocation.crypto_coin",
                "target_allocation.stock",
            ],
        ),
        (
            "making the default portfolio not the default",
            service
                .update(
                    user,
                    id,
                    PortfolioPatch {
                        is_default: Some(false),
                        ..Default::default()
                    },
                )
                .await
                .map(drop),
            vec!["is_default"],
        ),
        (
            "updating",
            service
                .update(
                    user,
                    id,
                    PortfolioPatch {
                        name: Some(String::new()),
                        description: Some(Some("d".repeat(2001))),
                        is_default: Some(false),
                        target_allocation: Some(targets_of(&[("stock", "-1")])),
                    },
                )
                .await
                .map(drop),
            vec![
                "description",
                "is_default",
                "name",
                "target_allocation.stock",
            ],
        ),
        (
            "adding an item",
            service.add_item(user, id, bad_item).await.map(drop),
            vec!["average_cost", "quantity", "target_allocation"],
        ),
        (
            "updating an item",
            service
                .update_item(user, id, Uuid::now_v7(), bad_item_patch)
                .await
                .map(drop),
            vec!["average_cost", "quantity", "target_allocation"],
        ),
        (
            "trading",
            service.trade(user, id, bad_trade).await.map(drop),
            vec!["date", "fee", "price", "quantity", "side"],
        ),
        (
            "a trade page of 0",
            service.trades(user, id, None, Some(0)).await.map(drop),
            vec!["limit"],
        ),
        (
            "a trade page of 501",
            service.trades(user, id, None, Some(501)).await.map(drop),
            vec!["limit"],
        ),
        (
            "a trade page of -1",
            service.trades(user, id, None, Some(-1)).await.map(drop),
            vec!["limit"],
        ),
        (
            "rebalancing with negative cash",
            service
                .rebalance(user, id, Some(dec("-0.01")), None)
                .await
                .map(drop),
            vec!["cash"],
        ),
    ] {
        assert_eq!(invalid_fields(result.expect_err(case)), fields, "{case}");
    }
}
