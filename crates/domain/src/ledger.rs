//! How transactions move a manual account's balance.

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
    fn an_asset_may_not_be_overdrawn_but_a_card_may_go_into_credit() {
        let err = rebalance(
            AccountType::Checking,
            m("10"),
            None,
            Some(posting("-10.01")),
        );
        assert_eq!(
            err,
            Err(DomainError::NegativeBalanceNotAllowed {
                account_type: AccountType::Checking
            })
        );
        let credit = rebalance(AccountType::CreditCard, m("10"), None, Some(posting("20")));
        assert_eq!(credit.unwrap(), m("-10"));
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
