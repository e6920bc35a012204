//! How transactions, the opening balance and adjustments make an account's balance, on every
//! date.
//!
//! An account's balance on date D is its opening balance (an entry on its opening date) plus
//! the effects of its posted transactions dated on or before D plus its balance adjustments
//! dated on or before D. Every write is a list of [`Step`]s: a signed change that counts from
//! its date on. Stores keep a balance point per date and shift every later point by a step, so
//! a back-dated write moves the whole history at once.

use chrono::NaiveDate;

use crate::account::AccountType;
use crate::decimal::Money;
use crate::error::DomainError;

/// A transaction as far as the balance is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// Signed amount: positive is money in.
    pub amount: Money,
    /// Pending transactions do not move the balance yet.
    pub is_pending: bool,
}

impl Posting {
    /// What this posting adds to an account of `account_type`: nothing while pending, else the
    /// amount for an asset and its negation for a liability.
    #[must_use]
    pub fn effect(self, account_type: AccountType) -> Money {
        if self.is_pending {
            Money::ZERO
        } else {
            account_type.balance_effect(self.amount)
        }
    }
}

/// The balance after `before` is replaced by `after`: a create has no `before`, a delete no
/// `after`, an update both.
///
/// # Errors
/// [`DomainError::NegativeBalanceNotAllowed`] when the result would be negative on any type but
/// a credit card; [`DomainError::OutOfRange`] when it leaves the range of money.
pub fn rebalance(
    account_type: AccountType,
    balance: Money,
    before: Option<Posting>,
    after: Option<Posting>,
) -> Result<Money, DomainError> {
    let undo = before.map_or(Money::ZERO, |p| p.effect(account_type));
    let apply = after.map_or(Money::ZERO, |p| p.effect(account_type));
    let next = balance.checked_sub(undo)?.checked_add(apply)?;
    account_type.check_balance(next)
}

/// A change to an account's balance history: `delta` counts on `date` and on every later day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The first day it counts.
    pub date: NaiveDate,
    /// What it adds to the balance (already signed for the account's class).
    pub delta: Money,
}

impl Step {
    /// A posting's step on `date` for an account of `account_type`; `None` while it is
    /// pending (it does not count) or when it has no effect.
    #[must_use]
    pub fn of(posting: Posting, date: NaiveDate, account_type: AccountType) -> Option<Step> {
        let delta = posting.effect(account_type);
        (!delta.is_zero()).then_some(Step { date, delta })
    }
}

/// The steps that replace the entry `before` with `after` in a history: the old one undone on
/// its date and the new one applied on its date, as one step when the dates agree, and none
/// when nothing changes. Ordered by date.
///
/// # Errors
/// [`DomainError::OutOfRange`] when a difference leaves the range of money.
pub fn replace(before: Option<Step>, after: Option<Step>) -> Result<Vec<Step>, DomainError> {
    let mut steps = Vec::with_capacity(2);
    match (before, after) {
        (Some(b), Some(a)) if b.date == a.date => steps.push(Step {
            date: a.date,
            delta: a.delta.checked_sub(b.delta)?,
        }),
        (b, a) => {
            steps.extend(b.map(|b| Step {
                date: b.date,
                delta: b.delta.negated(),
            }));
            steps.extend(a);
        }
    }
    steps.retain(|s| !s.delta.is_zero());
    steps.sort_by_key(|s| s.date);
    Ok(steps)
}

/// The balance after `steps`, unchecked: for accounts whose balance is the institution's
/// figure, whatever its sign.
///
/// # Errors
/// [`DomainError::OutOfRange`] when it leaves the range of money.
pub fn sum(balance: Money, steps: &[Step]) -> Result<Money, DomainError> {
    steps
        .iter()
        .try_fold(balance, |acc, s| acc.checked_add(s.delta))
}

/// The current balance (the balance on the latest date) after `steps`, checked against the
/// account type's rule.
///
/// # Errors
/// [`DomainError::NegativeBalanceNotAllowed`] when the result would be negative on any type but
/// a credit card; [`DomainError::OutOfRange`] when it leaves the range of money.
pub fn apply(
    account_type: AccountType,
    balance: Money,
    steps: &[Step],
) -> Result<Money, DomainError> {
    account_type.check_balance(sum(balance, steps)?)
}

/// The balance on `date`: the sum of the steps dated on or before it (0 before the first).
///
/// # Errors
/// [`DomainError::OutOfRange`] when the sum leaves the range of money.
pub fn balance_on(steps: &[Step], date: NaiveDate) -> Result<Money, DomainError> {
    steps
        .iter()
        .filter(|s| s.date <= date)
        .try_fold(Money::ZERO, |acc, s| acc.checked_add(s.delta))
}

/// Checks a new opening date: not after today, nor after the account's first dated entry.
///
/// # Errors
/// [`DomainError::InFuture`]; [`DomainError::OpenedAfterFirstEntry`].
pub fn check_opening(
    opened_on: NaiveDate,
    first_entry: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<NaiveDate, DomainError> {
    if opened_on > today {
        return Err(DomainError::InFuture {
            what: "the opening date",
            today,
        });
    }
    match first_entry {
        Some(first) if first < opened_on => Err(DomainError::OpenedAfterFirstEntry { first }),
        _ => Ok(opened_on),
    }
}

/// Checks the day of a reconciliation: on or after the opening date, not after today.
///
/// # Errors
/// [`DomainError::BeforeOpening`]; [`DomainError::InFuture`].
pub fn check_as_of(
    as_of: NaiveDate,
    opened_on: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, DomainError> {
    if as_of > today {
        return Err(DomainError::InFuture {
            what: "as_of",
            today,
        });
    }
    if as_of < opened_on {
        return Err(DomainError::BeforeOpening { opened_on });
    }
    Ok(as_of)
}

/// The adjustment that makes the balance on a date read `stated` when the ledger says
/// `ledger`: a reconciliation ("the bank says 1234.56 today").
///
/// # Errors
/// [`DomainError::OutOfRange`] when the difference leaves the range of money.
pub fn adjustment(ledger: Money, stated: Money) -> Result<Money, DomainError> {
    stated.checked_sub(ledger)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn m(s: &str) -> Money {
        Money::new(Decimal::from_str_exact(s).unwrap()).unwrap()
    }

    fn posting(amount: &str) -> Posting {
        Posting {
            amount: m(amount),
            is_pending: false,
        }
    }

    #[test]
    fn a_card_purchase_raises_what_is_owed() {
        let after = rebalance(
            AccountType::CreditCard,
            m("300.25"),
            None,
            Some(posting("-45.50")),
        );
        assert_eq!(after.unwrap(), m("345.75"));
    }

    #[test]
    fn a_pending_transaction_does_not_move_the_balance_until_it_posts() {
        let pending = Posting {
            amount: m("-20"),
            is_pending: true,
        };
        let b = rebalance(AccountType::Checking, m("100"), None, Some(pending)).unwrap();
        assert_eq!(b, m("100"));
        let posted = rebalance(
            AccountType::Checking,
            b,
            Some(pending),
            Some(posting("-20")),
        );
        assert_eq!(posted.unwrap(), m("80"));
    }

    #[test]
    fn changing_and_deleting_undo_the_old_effect() {
        let b = rebalance(
            AccountType::Savings,
            m("100"),
            Some(posting("10")),
            Some(posting("25")),
        );
        assert_eq!(b.unwrap(), m("115"));
        let b = rebalance(AccountType::Loan, m("1000"), Some(posting("200")), None);
        assert_eq!(b.unwrap(), m("1200"));
    }

    #[test]
    fn savings_may_not_be_overdrawn_but_checking_may_and_a_card_may_go_into_credit() {
        let err = rebalance(AccountType::Savings, m("10"), None, Some(posting("-10.01")));
        assert_eq!(
            err,
            Err(DomainError::NegativeBalanceNotAllowed {
                account_type: AccountType::Savings
            })
        );
        let overdraft = rebalance(
            AccountType::Checking,
            m("10"),
            None,
            Some(posting("-10.01")),
        );
        assert_eq!(overdraft.unwrap(), m("-0.01"));
        let credit = rebalance(AccountType::CreditCard, m("10"), None, Some(posting("20")));
        assert_eq!(credit.unwrap(), m("-10"));
    }

    /// `n` days from 2026-11-25 (negative: before).
    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap() + chrono::TimeDelta::days(n)
    }

    #[test]
    fn three_back_dated_transactions_read_day_by_day_from_the_moved_opening() {
        // Checking opened with 1000 today; -100, +500 and -50 dated 40, 20 and 5 days ago. The
        // opening moves back to the earliest transaction's date.
        let t = AccountType::Checking;
        let mut steps = vec![step(-40, "1000")];
        for (amount, d) in [("-100", -40), ("500", -20), ("-50", -5)] {
            steps.extend(Step::of(posting(amount), day(d), t));
        }
        for (d, expected) in [
            (-45, "0"),
            (-41, "0"),
            (-40, "900"),
            (-21, "900"),
            (-20, "1400"),
            (-6, "1400"),
            (-5, "1350"),
            (0, "1350"),
        ] {
            assert_eq!(balance_on(&steps, day(d)).unwrap(), m(expected), "day {d}");
        }
        assert_eq!(apply(t, m("1000"), &steps[1..]).unwrap(), m("1350"));
    }

    #[test]
    fn a_pending_posting_has_no_step_and_a_liability_steps_the_other_way() {
        let pending = Posting {
            amount: m("-20"),
            is_pending: true,
        };
        assert_eq!(Step::of(pending, day(0), AccountType::Checking), None);
        let spent = Step::of(posting("-45.50"), day(-1), AccountType::CreditCard).unwrap();
        assert_eq!(spent.delta, m("45.50"));
    }

    /// A step of `delta` on `day(d)`.
    fn step(d: i64, delta: &str) -> Step {
        Step {
            date: day(d),
            delta: m(delta),
        }
    }

    #[test]
    fn moving_an_entry_to_another_date_undoes_it_there_and_applies_it_here() {
        let before = step(-10, "30");
        assert_eq!(
            replace(Some(before), Some(step(-3, "50"))).unwrap(),
            vec![step(-10, "-30"), step(-3, "50")]
        );
        assert_eq!(
            replace(Some(before), Some(step(-20, "50"))).unwrap(),
            vec![step(-20, "50"), step(-10, "-30")]
        );
        assert_eq!(
            replace(Some(before), Some(step(-10, "45"))).unwrap(),
            vec![step(-10, "15")]
        );
        assert!(replace(Some(before), Some(before)).unwrap().is_empty());
        assert!(replace(None, None).unwrap().is_empty());
    }

    #[test]
    fn a_reconciliation_is_the_difference_between_the_stated_and_the_ledger_balance() {
        assert_eq!(adjustment(m("1350"), m("1234.56")).unwrap(), m("-115.44"));
        assert_eq!(adjustment(m("0"), m("0")).unwrap(), m("0"));
    }

    proptest! {
        #[test]
        fn shifting_later_points_by_each_step_gives_the_sum_of_the_steps_on_every_date(
            writes in proptest::collection::vec((-30i64..=0, -30i64..=0, -50_000i64..50_000, -50_000i64..50_000), 1..40),
        ) {
            // A store keeps one point per date and shifts every later point by each step; that
            // must equal summing the entries themselves, whatever the order of the writes.
            let mut points: std::collections::BTreeMap<NaiveDate, Money> = Default::default();
            let mut entries: Vec<Step> = Vec::new();
            for (d1, d2, a1, a2) in writes {
                let before = Step { date: day(d1), delta: Money::new(Decimal::new(a1, 2)).unwrap() };
                let after = Step { date: day(d2), delta: Money::new(Decimal::new(a2, 2)).unwrap() };
                entries.push(after);
                for s in replace(None, Some(before)).unwrap().into_iter().chain(replace(Some(before), Some(after)).unwrap()) {
                    let carried = points.range(..s.date).next_back().map_or(Money::ZERO, |(_, b)| *b);
                    points.entry(s.date).or_insert(carried);
                    for (_, b) in points.range_mut(s.date..) {
                        *b = b.checked_add(s.delta).unwrap();
                    }
                }
            }
            for d in -31..=1 {
                let read = points.range(..=day(d)).next_back().map_or(Money::ZERO, |(_, b)| *b);
                prop_assert_eq!(read, balance_on(&entries, day(d)).unwrap(), "day {}", d);
            }
        }
    }

    fn writes() -> impl Strategy<Value = Vec<(i64, bool, u8)>> {
        // (amount in cents, pending, op: 0 create, 1 update the last, 2 delete the last)
        proptest::collection::vec((-100_000i64..100_000, any::<bool>(), 0u8..3), 1..60)
    }

    proptest! {
        #[test]
        fn the_balance_is_the_opening_balance_plus_the_effect_of_the_posted_transactions(
            ops in writes(),
            card in any::<bool>(),
        ) {
            let account_type = if card { AccountType::CreditCard } else { AccountType::Savings };
            let opening = m("1000000");
            let mut balance = opening;
            let mut live: Vec<Posting> = Vec::new();
            for (cents, is_pending, op) in ops {
                let cents = if cents == 0 { 1 } else { cents };
                let p = Posting { amount: Money::new(Decimal::new(cents, 2)).unwrap(), is_pending };
                let result = match (op, live.last().copied()) {
                    (1, Some(old)) => rebalance(account_type, balance, Some(old), Some(p)).map(|b| (b, Some(p), true)),
                    (2, Some(old)) => rebalance(account_type, balance, Some(old), None).map(|b| (b, None, true)),
                    _ => rebalance(account_type, balance, None, Some(p)).map(|b| (b, Some(p), false)),
                };
                // A refused write changes nothing, as the use case guarantees.
                if let Ok((b, kept, replaces_last)) = result {
                    balance = b;
                    if replaces_last { live.pop(); }
                    if let Some(k) = kept { live.push(k); }
                }
            }
            let expected = live.iter().try_fold(opening, |acc, p| acc.checked_add(p.effect(account_type))).unwrap();
            prop_assert_eq!(balance, expected);
            if !card { prop_assert!(!balance.is_negative()); }
        }
    }
}
