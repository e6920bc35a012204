use proptest::prelude::*;

use super::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}
fn q(s: &str) -> Quantity {
    Quantity::new(d(s)).unwrap()
}
fn p(s: &str) -> Price {
    Price::new(d(s)).unwrap()
}
fn m(s: &str) -> Money {
    Money::new(d(s)).unwrap()
}
fn pct(s: &str) -> Percentage {
    Percentage::new(d(s)).unwrap()
}

fn holding(
    symbol: &str,
    t: InvestmentType,
    quantity: &str,
    cost: &str,
    price: Option<&str>,
) -> Holding {
    Holding {
        item_id: Uuid::now_v7(),
        investment_id: Uuid::now_v7(),
        symbol: symbol.into(),
        investment_type: t,
        sector: None,
        country: Some("US".into()),
        position: Position {
            quantity: q(quantity),
            average_cost: UnitCost::new(d(cost)).unwrap(),
        },
        price: price.map(p),
        target_percent: None,
    }
}

#[test]
fn the_aapl_example_worked_out_by_hand() {
    // Buy 10 at 150 (no fee): average 150. Buy 5 at 170 with a 1.00 fee:
    // (10 × 150 + 5 × 170 + 1) / 15 = 2351 / 15 = 156.7333… (156.73333333 kept).
    let first = buy(None, q("10"), p("150"), Money::ZERO).unwrap();
    assert_eq!(first.average_cost.value(), d("150"));
    let second = buy(Some(first), q("5"), p("170"), m("1.00")).unwrap();
    assert_eq!(second.quantity.value(), d("15"));
    assert_eq!(round(second.average_cost.value(), 4), d("156.7333"));
    // At 180: value 15 × 180 = 2700.00; cost 15 × 156.73333333 = 2350.99999995;
    // unrealized 349.00000005, shown 349.0000.
    let mut aapl = holding("AAPL", InvestmentType::Stock, "15", "150", Some("180"));
    aapl.position = second;
    let s = summarize(&[aapl], &BTreeMap::new()).unwrap();
    assert_eq!(s.total_value, m("2700.00"));
    assert_eq!(s.items[0].unrealized_gain_loss, Some(m("349.00")));
    // Sell 5 at 190, no fee: 5 × 190 − 5 × 156.73333333 = 950 − 783.66666665 = 166.33333335.
    let sale = sell(second, q("5"), p("190"), Money::ZERO).unwrap();
    assert_eq!(sale.realized_gain, m("166.3333"));
    assert_eq!(sale.remaining.unwrap().quantity, q("10"));
    assert_eq!(sale.remaining.unwrap().average_cost, second.average_cost);
}

#[test]
fn selling_more_than_is_held_is_refused_and_selling_all_empties_the_position() {
    let held = buy(None, q("3"), p("10"), Money::ZERO).unwrap();
    assert!(matches!(
        sell(held, q("3.00000001"), p("10"), Money::ZERO),
        Err(DomainError::InsufficientQuantity { .. })
    ));
    let sale = sell(held, q("3"), p("12"), m("0.5")).unwrap();
    assert_eq!(sale.remaining, None);
    assert_eq!(sale.realized_gain, m("5.5"));
}

#[test]
fn an_unpriced_security_is_reported_not_valued_at_zero() {
    let priced = holding("VTI", InvestmentType::Etf, "10", "200", Some("250"));
    let unpriced = holding("PRIV", InvestmentType::Other, "5", "100", None);
    let s = summarize(&[priced, unpriced.clone()], &BTreeMap::new()).unwrap();
    assert_eq!(s.total_value, m("2500"));
    assert_eq!(s.total_cost, m("2000"));
    assert_eq!(s.unpriced, [unpriced.item_id]);
    assert_eq!(s.items[1].current_value, None);
    assert_eq!(s.items[1].weight_percent, None);
    assert_eq!(s.items[1].cost_basis, m("500"));
}

#[test]
fn allocation_shows_weight_target_and_drift_by_type() {
    let stock = holding("AAPL", InvestmentType::Stock, "10", "100", Some("150")); // 1500
    let bond = holding("BND", InvestmentType::Bond, "5", "100", Some("100")); // 500
    let targets = BTreeMap::from([
        (InvestmentType::Stock, pct("60")),
        (InvestmentType::Bond, pct("30")),
        (InvestmentType::Crypto, pct("10")),
    ]);
    let s = summarize(&[stock, bond], &targets).unwrap();
    let types: Vec<(&str, Decimal, Option<Decimal>)> = s
        .by_type
        .iter()
        .map(|x| (x.key.as_str(), x.weight_percent, x.drift_percent))
        .collect();
    assert_eq!(
        types,
        [
            ("bond", d("25"), Some(d("-5"))),
            ("crypto", d("0"), Some(d("-10"))),
            ("stock", d("75"), Some(d("15")))
        ]
    );
    assert_eq!(s.max_drift_percent, Some(d("15")));
    assert_eq!(s.unrealized_gain_loss_percent, Some(d("33.3333")));
}

#[test]
fn rebalancing_buys_whole_shares_and_fractional_crypto_within_the_cash() {
    let stock = holding("AAPL", InvestmentType::Stock, "10", "100", Some("100")); // 1000
    let btc = holding(
        "BTC",
        InvestmentType::Crypto,
        "0.01",
        "30000",
        Some("30000"),
    ); // 300
    let targets = BTreeMap::from([
        (InvestmentType::Stock, pct("50")),
        (InvestmentType::Crypto, pct("50")),
    ]);
    let r = rebalance(&[stock, btc], &targets, m("700"), false).unwrap();
    // Total 2000: each type wants 1000. Crypto is 700 short: buy 700 / 30000 BTC.
    assert_eq!(r.trades.len(), 1);
    assert_eq!(r.trades[0].symbol, "BTC");
    assert_eq!(r.trades[0].side, Side::Buy);
    assert_eq!(r.trades[0].quantity.value(), d("0.02333333"));
    assert_eq!(r.trades[0].amount, m("699.9999"));
    assert!(r.cash_left.value() >= Decimal::ZERO);
    let sells = rebalance(
        &[
            holding("AAPL", InvestmentType::Stock, "10", "100", Some("100")),
            holding("BND", InvestmentType::Bond, "1", "100", Some("100")),
        ],
        &BTreeMap::from([
            (InvestmentType::Stock, pct("50")),
            (InvestmentType::Bond, pct("50")),
        ]),
        Money::ZERO,
        true,
    )
    .unwrap();
    // 1100 in all: stocks want 550, hold 1000: sell 4 whole shares (400), buy 4 BND.
    let summary: Vec<(Side, &str, Decimal)> = sells
        .trades
        .iter()
        .map(|t| (t.side, t.symbol.as_str(), t.quantity.value()))
        .collect();
    assert_eq!(
        summary,
        [(Side::Sell, "AAPL", d("4")), (Side::Buy, "BND", d("4"))]
    );
}

#[test]
fn rebalancing_never_sells_when_sells_are_not_allowed() {
    let stock = holding("AAPL", InvestmentType::Stock, "100", "100", Some("100"));
    let bond = holding("BND", InvestmentType::Bond, "1", "100", Some("100"));
    let targets = BTreeMap::from([
        (InvestmentType::Stock, pct("50")),
        (InvestmentType::Bond, pct("50")),
    ]);
    let r = rebalance(&[stock, bond], &targets, m("150"), false).unwrap();
    assert!(r.trades.iter().all(|t| t.side == Side::Buy));
    // Bonds trade in fractions: all 150 of the cash buys 1.5 units.
    assert_eq!(r.trades[0].quantity.value(), d("1.5"));
    assert_eq!(r.cash_left, m("0"));
    // A stock target is met in whole shares only: 150 buys one share at 100.
    let short = holding("AAPL", InvestmentType::Stock, "1", "100", Some("100"));
    let rich = holding("BND", InvestmentType::Bond, "100", "100", Some("100"));
    let r = rebalance(&[short, rich], &targets, m("150"), false).unwrap();
    assert_eq!(
        (r.trades[0].symbol.as_str(), r.trades[0].quantity.value()),
        ("AAPL", d("1"))
    );
    assert_eq!(r.cash_left, m("50"));
}

fn holdings() -> impl Strategy<Value = Vec<Holding>> {
    let types = [
        InvestmentType::Stock,
        InvestmentType::Etf,
        InvestmentType::Bond,
        InvestmentType::Crypto,
    ];
    proptest::collection::vec(
        (
            0usize..4,
            1i64..100_000_000,
            1i64..100_000_000,
            0i64..100_000_000,
            any::<bool>(),
        ),
        0..12,
    )
    .prop_map(move |rows| {
        rows.into_iter()
            .map(|(t, qty, price, cost, priced)| Holding {
                item_id: Uuid::now_v7(),
                investment_id: Uuid::now_v7(),
                symbol: "X".into(),
                investment_type: types[t],
                sector: None,
                country: None,
                position: Position {
                    quantity: Quantity::new(Decimal::new(qty, 4)).unwrap(),
                    average_cost: UnitCost::new(Decimal::new(cost, 2)).unwrap(),
                },
                price: priced.then(|| Price::new(Decimal::new(price, 2)).unwrap()),
                target_percent: None,
            })
            .collect()
    })
}

#[test]
fn a_position_is_valued_at_a_price_with_its_gain_and_percent() {
    let position = Position {
        quantity: q("15"),
        average_cost: UnitCost::new(d("156.73333333")).unwrap(),
    };
    let v = position.value_at(p("190")).unwrap();
    assert_eq!(v.current_value, m("2850"));
    // 2850 − 15 × 156.73333333 = 499.00000005, rounded half-even to money's 4 places.
    assert_eq!(v.unrealized_gain_loss, m("499.0000"));
    assert_eq!(v.unrealized_gain_loss_percent, Some(d("21.2250")));
}

#[test]
fn a_free_position_has_a_value_but_no_gain_percent() {
    let position = Position {
        quantity: q("3"),
        average_cost: UnitCost::new(Decimal::ZERO).unwrap(),
    };
    let v = position.value_at(p("10")).unwrap();
    assert_eq!(v.current_value, m("30"));
    assert_eq!(v.unrealized_gain_loss, m("30"));
    assert_eq!(v.unrealized_gain_loss_percent, None);
}

#[test]
fn a_gain_percent_beyond_the_range_of_money_is_left_out_of_the_valuation() {
    let position = Position {
        quantity: q("1"),
        average_cost: UnitCost::new(d("0.00000001")).unwrap(),
    };
    let v = position.value_at(p("9999999999")).unwrap();
    assert_eq!(v.current_value, m("9999999999"));
    assert_eq!(v.unrealized_gain_loss_percent, None);
}

#[test]
fn a_trade_buys_into_nothing_and_sells_out_with_the_realized_gain() {
    let bought = trade(None, Side::Buy, q("10"), p("150"), m("0")).unwrap();
    assert_eq!(bought.realized_gain, None);
    let held = bought.position.unwrap();
    assert_eq!(held.quantity, q("10"));
    let sold = trade(Some(held), Side::Sell, q("10"), p("160"), m("1")).unwrap();
    assert_eq!(sold.position, None);
    assert_eq!(sold.realized_gain, Some(m("99")));
}

#[test]
fn selling_what_is_not_held_is_refused_as_insufficient_quantity() {
    let err = trade(None, Side::Sell, q("1"), p("10"), m("0")).unwrap_err();
    assert!(matches!(
        err,
        DomainError::InsufficientQuantity { ref held, ref requested } if held == "0" && requested == "1"
    ));
}

#[test]
fn side_names_parse_and_print_and_others_are_refused() {
    assert_eq!(Side::parse("buy").unwrap(), Side::Buy);
    assert_eq!(Side::Sell.as_str(), "sell");
    assert!(Side::parse("short").is_err());
}

proptest! {
    #[test]
    fn a_valuation_is_the_exact_value_less_the_exact_cost_basis(
        qty in 1i64..1_000_000_000_000, cost in 0i64..1_000_000_000, price in 0i64..1_000_000_000,
    ) {
        let position = Position {
            quantity: Quantity::new(Decimal::new(qty, 4)).unwrap(),
            average_cost: UnitCost::new(Decimal::new(cost, 4)).unwrap(),
        };
        let price = Price::new(Decimal::new(price, 4)).unwrap();
        if let Ok(v) = position.value_at(price) {
            let value = position.quantity.value() * price.value();
            prop_assert_eq!(v.current_value, Money::from_computed(value).unwrap());
            prop_assert_eq!(
                v.unrealized_gain_loss,
                Money::from_computed(value - position.cost_basis()).unwrap()
            );
        }
    }

    #[test]
    fn buying_then_selling_the_same_quantity_at_the_same_price_realizes_nothing(
        qty in 1i64..10_000_000_000, price in 1i64..1_000_000_000_000,
    ) {
        let quantity = Quantity::new(Decimal::new(qty, 8)).unwrap();
        let price = Price::new(Decimal::new(price, 8)).unwrap();
        let held = buy(None, quantity, price, Money::ZERO).unwrap();
        let sale = sell(held, quantity, price, Money::ZERO).unwrap();
        prop_assert_eq!(sale.realized_gain, Money::ZERO);
        prop_assert_eq!(sale.remaining, None);
    }

    #[test]
    fn weights_add_up_to_one_hundred_whenever_there_is_value(h in holdings()) {
        let s = summarize(&h, &BTreeMap::new()).unwrap();
        let priced = s.items.iter().filter(|i| i.weight_percent.is_some()).count();
        if s.total_value.value() > Decimal::ZERO {
            let sum: Decimal = s.items.iter().filter_map(|i| i.weight_percent).sum();
            // Each weight is rounded to 4 places: at most half a unit of the last place off.
            let slack = Decimal::new(5, 5) * Decimal::from(priced);
            prop_assert!((sum - Decimal::ONE_HUNDRED).abs() <= slack, "sum {}", sum);
            let by_type: Decimal = s.by_type.iter().map(|x| x.weight_percent).sum();
            prop_assert!((by_type - Decimal::ONE_HUNDRED).abs() <= Decimal::new(5, 5) * Decimal::from(s.by_type.len()));
        }
    }

    #[test]
    fn rebalancing_never_spends_more_than_the_cash_plus_the_sells(
        h in holdings(),
        cash in 0i64..10_000_000_000,
        stock in 0u32..=100,
        allow_sells in any::<bool>(),
    ) {
        let targets = BTreeMap::from([
            (InvestmentType::Stock, Percentage::new(Decimal::from(stock)).unwrap()),
            (InvestmentType::Crypto, Percentage::new(Decimal::from(100 - stock)).unwrap()),
        ]);
        let cash = Money::new(Decimal::new(cash, 2)).unwrap();
        let r = rebalance(&h, &targets, cash, allow_sells).unwrap();
        let bought: Decimal = r.trades.iter().filter(|t| t.side == Side::Buy).map(|t| t.amount.value()).sum();
        let sold: Decimal = r.trades.iter().filter(|t| t.side == Side::Sell).map(|t| t.amount.value()).sum();
        // Exactly, as reported: buys are counted rounded up and sells rounded down.
        prop_assert!(bought <= cash.value() + sold, "bought {} > cash {} + sold {}", bought, cash.value(), sold);
        prop_assert!(!r.cash_left.is_negative());
        if !allow_sells {
            prop_assert!(sold.is_zero());
        }
        for t in &r.trades {
            if t.side == Side::Sell {
                let held = h.iter().find(|x| x.investment_id == t.investment_id).unwrap();
                prop_assert!(t.quantity <= held.position.quantity);
            }
        }
    }
}
