use super::*;
use proptest::prelude::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

#[test]
fn money_keeps_exact_values_and_shows_them_without_trailing_zeros() {
    for text in ["0.1", "1234567890.1234", "-0.0001", "99999999999999.9999"] {
        let money = Money::new(d(text)).unwrap();
        assert_eq!(to_text(money.value()), text);
    }
    assert_eq!(to_text(Money::new(d("2500.00")).unwrap().value()), "2500");
}

#[test]
fn money_refuses_more_than_four_decimal_places_instead_of_rounding() {
    assert_eq!(
        Money::new(d("0.00001")),
        Err(DomainError::TooPrecise {
            kind: "an amount of money",
            max_scale: 4
        })
    );
    // Trailing zeros are not extra precision.
    assert!(Money::new(d("1.230000")).is_ok());
}

#[test]
fn the_compile_time_limits_are_the_powers_of_ten_they_claim() {
    assert_eq!(Money::limit(), d(Money::LIMIT_TEXT));
    assert_eq!(Quantity::limit(), d(Quantity::LIMIT_TEXT));
    assert_eq!(Price::limit(), d(Price::LIMIT_TEXT));
    assert_eq!(Rate::limit(), d(Rate::LIMIT_TEXT));
    assert_eq!(Percentage::limit(), d(Percentage::LIMIT_TEXT));
}

#[test]
fn money_refuses_values_that_a_backend_could_not_store() {
    assert!(matches!(
        Money::new(d("100000000000000")),
        Err(DomainError::OutOfRange { .. })
    ));
    assert!(matches!(
        Money::new(d("-100000000000000")),
        Err(DomainError::OutOfRange { .. })
    ));
}

#[test]
fn computed_money_rounds_half_to_even() {
    assert_eq!(
        Money::from_computed(d("0.00005")).unwrap().value(),
        d("0.0000")
    );
    assert_eq!(
        Money::from_computed(d("0.00015")).unwrap().value(),
        d("0.0002")
    );
    assert_eq!(
        Money::from_computed(d("-2.50025")).unwrap().value(),
        d("-2.5002")
    );
}

#[test]
fn quantities_and_prices_must_be_positive() {
    assert_eq!(
        Quantity::new(Decimal::ZERO),
        Err(DomainError::NotPositive { kind: "a quantity" })
    );
    assert_eq!(
        Price::new(d("-1")),
        Err(DomainError::NotPositive { kind: "a price" })
    );
    assert!(Quantity::new(d("0.00000001")).is_ok());
    assert!(Quantity::new(d("0.000000001")).is_err());
}

#[test]
fn percentages_run_from_zero_to_one_hundred() {
    assert!(Percentage::new(d("0")).is_ok());
    assert!(Percentage::new(d("100")).is_ok());
    assert_eq!(
        Percentage::new(d("100.0001")),
        Err(DomainError::PercentageOutOfRange)
    );
    assert_eq!(
        Percentage::new(d("-0.5")),
        Err(DomainError::PercentageOutOfRange)
    );
    assert_eq!(
        Percentage::new(d("5000")),
        Err(DomainError::PercentageOutOfRange)
    );
}

#[test]
fn target_allocations_over_one_hundred_are_refused() {
    let p = |s| Percentage::new(d(s)).unwrap();
    assert_eq!(
        Percentage::check_allocation([p("60"), p("40")]),
        Ok(d("100"))
    );
    assert_eq!(
        Percentage::check_allocation([p("60"), p("40.5")]),
        Err(DomainError::AllocationOver100 {
            total: "100.5".into()
        })
    );
}

#[test]
fn parse_exact_accepts_plain_literals_only() {
    assert_eq!(parse_exact("-12.50").unwrap(), d("-12.50"));
    for bad in [
        "", "-", "1.", ".5", "+1", "1e3", "1_000", " 1", "NaN", "0x10", "1.2.3",
    ] {
        assert!(parse_exact(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn decimals_are_read_from_json_strings_exactly_and_never_from_floats() {
    #[derive(Deserialize)]
    struct Body {
        #[serde(with = "serde_exact")]
        amount: Decimal,
    }
    let body: Body = serde_json::from_str(r#"{"amount": "0.1"}"#).unwrap();
    assert_eq!(body.amount, d("0.1"));
    let body: Body = serde_json::from_str(r#"{"amount": "1234567890.1234"}"#).unwrap();
    assert_eq!(body.amount, d("1234567890.1234"));
    let body: Body = serde_json::from_str(r#"{"amount": "-7"}"#).unwrap();
    assert_eq!(body.amount, d("-7"));
    // A JSON number may already have lost its text (0.1 as a binary float): refused, the
    // same with or without serde_json's arbitrary_precision.
    for bad in [
        r#"{"amount": 0.1}"#,
        r#"{"amount": 7}"#,
        r#"{"amount": true}"#,
        r#"{"amount": "ten"}"#,
    ] {
        assert!(serde_json::from_str::<Body>(bad).is_err(), "{bad}");
    }
}

#[test]
fn sums_display_like_their_json_without_trailing_zeros() {
    let half = Money::new(d("0.5")).unwrap();
    let sum = half.checked_add(half).unwrap();
    assert_eq!(sum.to_string(), "1");
    assert_eq!(serde_json::to_string(&sum).unwrap(), r#""1""#);
    assert_eq!(half.checked_sub(half).unwrap().to_string(), "0");
}

#[test]
fn money_serializes_as_a_string() {
    let json = serde_json::to_string(&Money::new(d("-45.50")).unwrap()).unwrap();
    assert_eq!(json, r#""-45.5""#);
}

fn money_strategy() -> impl Strategy<Value = Money> {
    (-999_999_999_999_999_999i64..=999_999_999_999_999_999i64)
        .prop_map(|units| Money::new(Decimal::new(units, 4)).unwrap())
}

proptest! {
    #[test]
    fn any_money_round_trips_through_its_text(m in money_strategy()) {
        let text = to_text(m.value());
        prop_assert_eq!(Money::new(parse_exact(&text).unwrap()).unwrap(), m);
    }

    #[test]
    fn adding_then_subtracting_money_gives_back_the_original(
        a in money_strategy(), b in money_strategy()
    ) {
        if let Ok(sum) = a.checked_add(b) {
            prop_assert_eq!(sum.checked_sub(b).unwrap(), a);
        }
    }

    #[test]
    fn money_addition_is_exact_and_order_free(
        parts in proptest::collection::vec(-1_000_000_000i64..1_000_000_000i64, 0..200)
    ) {
        let monies: Vec<Money> = parts.iter().map(|u| Money::new(Decimal::new(*u, 4)).unwrap()).collect();
        let forward = monies.iter().try_fold(Money::ZERO, |acc, m| acc.checked_add(*m)).unwrap();
        let backward = monies.iter().rev().try_fold(Money::ZERO, |acc, m| acc.checked_add(*m)).unwrap();
        let units: i64 = parts.iter().sum();
        prop_assert_eq!(forward, backward);
        prop_assert_eq!(forward.value(), Decimal::new(units, 4));
    }

    #[test]
    fn computed_values_round_to_at_most_four_places(units in any::<i64>(), scale in 0u32..=12) {
        let value = Decimal::new(units, scale);
        if let Ok(m) = Money::from_computed(value) {
            prop_assert!(m.value().scale() <= 4);
            prop_assert!((m.value() - value).abs() <= Decimal::new(5, 5));
        }
    }
}
