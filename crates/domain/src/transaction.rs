//! Transactions: categories and non-zero amounts.

use crate::decimal::Money;
use crate::enumeration::string_enum;
use crate::error::DomainError;

string_enum!(
    /// What a transaction was for.
    TransactionCategory, "transaction category", {
        /// Restaurants, groceries, coffee.
        FoodAndDrink => "food_and_drink",
        /// Retail purchases.
        Shopping => "shopping",
        /// Fuel, transit, rides.
        Transportation => "transportation",
        /// Flights, hotels.
        Travel => "travel",
        /// Films, games, events.
        Entertainment => "entertainment",
        /// Gyms, pharmacies, doctors.
        HealthAndFitness => "health_and_fitness",
        /// Repairs and improvements at home.
        HomeImprovement => "home_improvement",
        /// Hair, beauty, care.
        PersonalCare => "personal_care",
        /// Tuition, books, courses.
        Education => "education",
        /// Services bought for a business.
        BusinessServices => "business_services",
        /// Taxes, fees, public services.
        GovernmentServices => "government_services",
        /// Money moved between one's own accounts; left out of cash flow.
        Transfer => "transfer",
        /// Bill and loan payments.
        Payment => "payment",
        /// Salary and other income.
        Income => "income",
        /// Money moved into or out of investments.
        Investment => "investment",
        /// Anything else.
        Other => "other",
    }
);

impl Default for TransactionCategory {
    fn default() -> Self {
        Self::Other
    }
}

/// A transaction amount: money that is not zero. Positive is money in, negative money out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionAmount(Money);

impl TransactionAmount {
    /// Checks an amount.
    ///
    /// # Errors
    /// [`DomainError::ZeroAmount`].
    pub fn new(amount: Money) -> Result<Self, DomainError> {
        if amount.is_zero() {
            return Err(DomainError::ZeroAmount);
        }
        Ok(Self(amount))
    }

    /// The amount as money.
    #[must_use]
    pub fn money(self) -> Money {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn a_zero_amount_is_refused_and_any_other_kept() {
        assert_eq!(
            TransactionAmount::new(Money::ZERO),
            Err(DomainError::ZeroAmount)
        );
        let out = Money::new(Decimal::new(-4550, 2)).unwrap();
        assert_eq!(TransactionAmount::new(out).unwrap().money(), out);
    }

    #[test]
    fn every_category_parses_from_its_own_name() {
        assert_eq!(TransactionCategory::ALL.len(), 16);
        for c in TransactionCategory::ALL {
            assert_eq!(TransactionCategory::parse(c.as_str()), Ok(*c));
        }
        assert_eq!(TransactionCategory::default(), TransactionCategory::Other);
    }
}
