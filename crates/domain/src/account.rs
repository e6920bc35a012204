//! Accounts: their types, the asset/liability class, and balance rules.

use crate::decimal::Money;
use crate::enumeration::string_enum;
use crate::error::DomainError;
use crate::text;

string_enum!(
    /// The kind of a financial account.
    AccountType, "account type", {
        /// A checking (current) account.
        Checking => "checking",
        /// A savings account.
        Savings => "savings",
        /// A credit card; a liability.
        CreditCard => "credit_card",
        /// A taxable brokerage account.
        Investment => "investment",
        /// A retirement account (401k, IRA, ...).
        Retirement => "retirement",
        /// A loan; a liability.
        Loan => "loan",
        /// A mortgage; a liability.
        Mortgage => "mortgage",
        /// Anything else; an asset.
        Other => "other",
    }
);

/// Whether an account holds what one owns or what one owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountClass {
    /// Money owned: a positive balance adds to net worth.
    Asset,
    /// Money owed: a positive balance subtracts from net worth.
    Liability,
}

impl AccountClass {
    /// The class's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AccountClass::Asset => "asset",
            AccountClass::Liability => "liability",
        }
    }
}

impl AccountType {
    /// Credit cards, loans and mortgages are liabilities; everything else is an asset.
    #[must_use]
    pub fn class(self) -> AccountClass {
        match self {
            AccountType::CreditCard | AccountType::Loan | AccountType::Mortgage => {
                AccountClass::Liability
            }
            _ => AccountClass::Asset,
        }
    }

    /// A credit card may show a negative balance (a credit owed to the holder), and so may a
    /// checking account (an overdraft). This relaxes the seed schema's rule on purpose: a bank
    /// reports overdrawn checking accounts, and a ledger must be able to follow them.
    #[must_use]
    pub fn allows_negative_balance(self) -> bool {
        matches!(self, AccountType::CreditCard | AccountType::Checking)
    }

    /// Checks a balance against this type's rule.
    ///
    /// # Errors
    /// [`DomainError::NegativeBalanceNotAllowed`] for a negative balance on any type but a card
    /// or a checking account.
    pub fn check_balance(self, balance: Money) -> Result<Money, DomainError> {
        if balance.is_negative() && !self.allows_negative_balance() {
            return Err(DomainError::NegativeBalanceNotAllowed { account_type: self });
        }
        Ok(balance)
    }

    /// How a transaction of `amount` moves this account's balance: an asset by `+amount`, a
    /// liability by `-amount` (spending on a card raises what is owed).
    #[must_use]
    pub fn balance_effect(self, amount: Money) -> Money {
        match self.class() {
            AccountClass::Asset => amount,
            AccountClass::Liability => amount.negated(),
        }
    }
}

/// An account's display name: 1 to 255 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountName(String);

impl AccountName {
    /// Most characters in an account name.
    pub const MAX: usize = 255;

    /// Checks a name.
    ///
    /// # Errors
    /// [`DomainError::EmptyText`] or [`DomainError::TextTooLong`].
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        text::required(name, "an account name", Self::MAX).map(Self)
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn money(s: &str) -> Money {
        Money::new(Decimal::from_str_exact(s).unwrap()).unwrap()
    }

    #[test]
    fn cards_loans_and_mortgages_are_liabilities_and_the_rest_assets() {
        let liabilities: Vec<_> = AccountType::ALL
            .iter()
            .filter(|t| t.class() == AccountClass::Liability)
            .map(|t| t.as_str())
            .collect();
        assert_eq!(liabilities, ["credit_card", "loan", "mortgage"]);
    }

    #[test]
    fn only_credit_cards_and_checking_accounts_may_have_a_negative_balance() {
        for t in AccountType::ALL {
            let result = t.check_balance(money("-0.01"));
            let may = matches!(t, AccountType::CreditCard | AccountType::Checking);
            assert_eq!(result.is_ok(), may, "{t}");
            assert!(t.check_balance(money("0")).is_ok());
        }
    }

    #[test]
    fn spending_raises_what_is_owed_on_a_card_and_lowers_an_asset() {
        assert_eq!(
            AccountType::CreditCard.balance_effect(money("-45.50")),
            money("45.50")
        );
        assert_eq!(
            AccountType::Checking.balance_effect(money("-45.50")),
            money("-45.50")
        );
    }

    #[test]
    fn unknown_account_types_are_refused_with_the_allowed_list() {
        let err = AccountType::parse("brokerage").unwrap_err();
        assert!(err.to_string().contains("credit_card"), "{err}");
    }
}
