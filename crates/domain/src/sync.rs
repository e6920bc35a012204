//! Bank sync rules: how an institution's account kinds, transaction categories and amount signs
//! become Nestegg's, and the states a linked connection can be in.
//!
//! The institution-side names are Plaid's (`type`/`subtype` of an account,
//! `personal_finance_category.primary` of a transaction), but nothing here talks to Plaid: these
//! are plain mappings, kept where the rest of the rules live and tested as such.

use rust_decimal::Decimal;

use crate::account::AccountType;
use crate::decimal::{Money, Quantity, UnitCost, round};
use crate::enumeration::string_enum;
use crate::error::DomainError;
use crate::investment::{InvestmentType, Symbol};
use crate::portfolio::Position;
use crate::transaction::TransactionCategory;

string_enum!(
    /// Where a linked connection's sync stands.
    SyncStatus, "sync status", {
        /// Linked, never synced yet.
        Pending => "pending",
        /// A sync is running.
        Syncing => "syncing",
        /// The last sync succeeded.
        Ok => "ok",
        /// The last sync failed; `error_message` says why.
        Error => "error",
        /// The institution needs the user to sign in again; nothing is synced until then.
        LoginRequired => "login_required",
    }
);

/// Our account type for an institution's account `kind` and `subtype`.
///
/// | kind | subtype | type |
/// | --- | --- | --- |
/// | `depository` | `checking`, `paypal`, `prepaid`, `cash management`, `ebt`, `payroll` | `checking` |
/// | `depository` | `savings`, `money market`, `cd`, `hsa` and any other | `savings` |
/// | `credit` | any | `credit_card` |
/// | `investment`, `brokerage` | a retirement plan (`401k`, `403B`, `457b`, `401a`, `ira`, `roth`, `roth 401k`, `sep ira`, `simple ira`, `keogh`, `pension`, `retirement`, `rrsp`, `tfsa`, `sipp`, ...) | `retirement` |
/// | `investment`, `brokerage` | any other | `investment` |
/// | `loan` | `mortgage`, `home equity` | `mortgage` |
/// | `loan` | any other | `loan` |
/// | anything else | | `other` |
#[must_use]
pub fn account_type_for(kind: &str, subtype: Option<&str>) -> AccountType {
    let subtype = subtype.unwrap_or_default().to_ascii_lowercase();
    match kind.to_ascii_lowercase().as_str() {
        "depository" => match subtype.as_str() {
            "checking" | "paypal" | "prepaid" | "cash management" | "ebt" | "payroll" => {
                AccountType::Checking
            }
            _ => AccountType::Savings,
        },
        "credit" => AccountType::CreditCard,
        "investment" | "brokerage" => {
            if is_retirement_plan(&subtype) {
                AccountType::Retirement
            } else {
                AccountType::Investment
            }
        }
        "loan" => match subtype.as_str() {
            "mortgage" | "home equity" => AccountType::Mortgage,
            _ => AccountType::Loan,
        },
        _ => AccountType::Other,
    }
}

/// Retirement plans among the investment subtypes (US, Canadian and UK plans alike).
fn is_retirement_plan(subtype: &str) -> bool {
    const PLANS: [&str; 27] = [
        "401a",
        "401k",
        "403b",
        "457b",
        "ira",
        "roth",
        "roth 401k",
        "roth 403b",
        "roth 457b",
        "sep ira",
        "simple ira",
        "sarsep",
        "keogh",
        "pension",
        "roth pension",
        "retirement",
        "profit sharing plan",
        "roth profit sharing plan",
        "thrift savings plan",
        "roth thrift savings plan",
        "rrsp",
        "rrif",
        "tfsa",
        "lira",
        "lif",
        "sipp",
        "isa",
    ];
    PLANS.contains(&subtype)
}

/// Our category for a transaction's `personal_finance_category.primary`.
///
/// | primary | category |
/// | --- | --- |
/// | `INCOME` | `income` |
/// | `TRANSFER_IN`, `TRANSFER_OUT` | `transfer` |
/// | `LOAN_PAYMENTS`, `LOAN_DISBURSEMENTS`, `RENT_AND_UTILITIES` | `payment` |
/// | `BANK_FEES`, `GOVERNMENT_AND_NON_PROFIT` | `government_services` |
/// | `ENTERTAINMENT` | `entertainment` |
/// | `FOOD_AND_DRINK` | `food_and_drink` |
/// | `GENERAL_MERCHANDISE` | `shopping` |
/// | `HOME_IMPROVEMENT` | `home_improvement` |
/// | `MEDICAL` | `health_and_fitness` |
/// | `PERSONAL_CARE` | `personal_care` |
/// | `GENERAL_SERVICES` | `business_services` |
/// | `TRANSPORTATION` | `transportation` |
/// | `TRAVEL` | `travel` |
/// | anything else, or none | `other` |
#[must_use]
pub fn category_for(primary: Option<&str>) -> TransactionCategory {
    match primary.unwrap_or_default().to_ascii_uppercase().as_str() {
        "INCOME" => TransactionCategory::Income,
        "TRANSFER_IN" | "TRANSFER_OUT" => TransactionCategory::Transfer,
        "LOAN_PAYMENTS" | "LOAN_DISBURSEMENTS" | "RENT_AND_UTILITIES" => {
            TransactionCategory::Payment
        }
        "BANK_FEES" | "GOVERNMENT_AND_NON_PROFIT" => TransactionCategory::GovernmentServices,
        "ENTERTAINMENT" => TransactionCategory::Entertainment,
        "FOOD_AND_DRINK" => TransactionCategory::FoodAndDrink,
        "GENERAL_MERCHANDISE" => TransactionCategory::Shopping,
        "HOME_IMPROVEMENT" => TransactionCategory::HomeImprovement,
        "MEDICAL" => TransactionCategory::HealthAndFitness,
        "PERSONAL_CARE" => TransactionCategory::PersonalCare,
        "GENERAL_SERVICES" => TransactionCategory::BusinessServices,
        "TRANSPORTATION" => TransactionCategory::Transportation,
        "TRAVEL" => TransactionCategory::Travel,
        _ => TransactionCategory::Other,
    }
}

/// Our amount for an institution's: Plaid counts money out as positive, we count money in.
///
/// # Errors
/// [`DomainError`] when the amount is not a valid money value (too many places, out of range)
/// or is zero (a transaction must move money).
pub fn transaction_amount(institution_amount: rust_decimal::Decimal) -> Result<Money, DomainError> {
    let money = Money::new(-institution_amount)?;
    if money.is_zero() {
        return Err(DomainError::ZeroAmount);
    }
    Ok(money)
}

/// Our security type for an institution's security `type`.
///
/// | type | ours |
/// | --- | --- |
/// | `equity` | `stock` |
/// | `etf` | `etf` |
/// | `mutual fund` | `mutual_fund` |
/// | `fixed income` | `bond` |
/// | `cryptocurrency` | `crypto` |
/// | `derivative` | `option` |
/// | `cash`, `loan`, `other`, none | `other` |
#[must_use]
pub fn investment_type_for(kind: Option<&str>) -> InvestmentType {
    match kind.unwrap_or_default().to_ascii_lowercase().as_str() {
        "equity" => InvestmentType::Stock,
        "etf" => InvestmentType::Etf,
        "mutual fund" => InvestmentType::MutualFund,
        "fixed income" => InvestmentType::Bond,
        "cryptocurrency" => InvestmentType::Crypto,
        "derivative" => InvestmentType::Option,
        _ => InvestmentType::Other,
    }
}

/// The symbol a synced security is stored under: its ticker when it is a valid symbol, else
/// one made of the letters and digits of its name (matching later goes by the institution's
/// security id, so this only has to be readable).
///
/// # Errors
/// None in practice: the last resort, `SECURITY`, is a valid symbol.
pub fn symbol_for(ticker: Option<&str>, name: &str) -> Result<Symbol, DomainError> {
    if let Some(symbol) = ticker.and_then(|t| Symbol::parse(t).ok()) {
        return Ok(symbol);
    }
    let made: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    Symbol::parse(&made).or_else(|_| Symbol::parse("SECURITY"))
}

/// One position out of an institution's holdings of a security across accounts: the units
/// added up, and the average cost of their summed cost basis (a holding whose cost basis is
/// unknown counts at `price`). `None` when nothing is held.
///
/// # Errors
/// [`DomainError`] when a quantity or cost is out of range.
pub fn merge_holdings(
    lots: &[(Decimal, Option<Decimal>)],
    price: Decimal,
) -> Result<Option<Position>, DomainError> {
    let mut quantity = Decimal::ZERO;
    let mut basis = Decimal::ZERO;
    for (units, cost) in lots {
        quantity = quantity.checked_add(*units).ok_or(DomainError::Overflow)?;
        let cost = match cost {
            Some(c) => *c,
            None => units.checked_mul(price).ok_or(DomainError::Overflow)?,
        };
        basis = basis.checked_add(cost).ok_or(DomainError::Overflow)?;
    }
    if quantity <= Decimal::ZERO {
        return Ok(None);
    }
    let average = round(
        basis.checked_div(quantity).ok_or(DomainError::Overflow)?,
        UnitCost::SCALE,
    );
    Ok(Some(Position {
        quantity: Quantity::new(round(quantity, Quantity::SCALE))?,
        average_cost: UnitCost::new(average.max(Decimal::ZERO))?,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// Asserts the account type of each (Plaid type, subtype).
    fn assert_types(cases: &[(&str, Option<&str>, AccountType)]) {
        for &(kind, subtype, expected) in cases {
            assert_eq!(
                account_type_for(kind, subtype),
                expected,
                "{kind}/{subtype:?}"
            );
        }
    }

    #[test]
    fn depository_accounts_become_checking_or_savings_and_credit_and_loans_liabilities() {
        assert_types(&[
            ("depository", Some("checking"), AccountType::Checking),
            ("depository", Some("savings"), AccountType::Savings),
            ("depository", Some("money market"), AccountType::Savings),
            ("depository", None, AccountType::Savings),
            ("credit", Some("credit card"), AccountType::CreditCard),
            ("loan", Some("mortgage"), AccountType::Mortgage),
            ("loan", Some("student"), AccountType::Loan),
            ("loan", Some("auto"), AccountType::Loan),
        ]);
    }

    #[test]
    fn retirement_plans_are_told_apart_from_brokerage_accounts() {
        for plan in [
            "401k",
            "403B",
            "ira",
            "roth",
            "Roth 401k",
            "sep ira",
            "pension",
        ] {
            assert_eq!(
                account_type_for("investment", Some(plan)),
                AccountType::Retirement,
                "{plan}"
            );
        }
        assert_types(&[
            ("investment", Some("brokerage"), AccountType::Investment),
            ("brokerage", None, AccountType::Investment),
        ]);
    }

    #[test]
    fn unknown_kinds_become_other() {
        assert_types(&[
            ("other", None, AccountType::Other),
            ("", Some("x"), AccountType::Other),
        ]);
    }

    #[test]
    fn categories_follow_the_primary_personal_finance_category() {
        for (primary, expected) in [
            (Some("FOOD_AND_DRINK"), TransactionCategory::FoodAndDrink),
            (Some("TRANSFER_OUT"), TransactionCategory::Transfer),
            (Some("INCOME"), TransactionCategory::Income),
            (Some("GENERAL_MERCHANDISE"), TransactionCategory::Shopping),
            (Some("SOMETHING_NEW"), TransactionCategory::Other),
            (None, TransactionCategory::Other),
        ] {
            assert_eq!(category_for(primary), expected, "{primary:?}");
        }
    }

    #[test]
    fn money_out_at_the_institution_is_negative_here() {
        let spent = transaction_amount(Decimal::from_str_exact("12.34").unwrap()).unwrap();
        assert_eq!(spent.value(), Decimal::from_str_exact("-12.34").unwrap());
        let paid = transaction_amount(Decimal::from_str_exact("-2500").unwrap()).unwrap();
        assert_eq!(paid.value(), Decimal::from(2500));
    }

    #[test]
    fn a_zero_amount_is_refused() {
        assert!(transaction_amount(Decimal::ZERO).is_err());
    }

    #[test]
    fn securities_get_our_types_and_a_readable_symbol() {
        assert_eq!(investment_type_for(Some("equity")), InvestmentType::Stock);
        assert_eq!(
            investment_type_for(Some("mutual fund")),
            InvestmentType::MutualFund
        );
        assert_eq!(
            investment_type_for(Some("fixed income")),
            InvestmentType::Bond
        );
        assert_eq!(investment_type_for(None), InvestmentType::Other);
        assert_eq!(symbol_for(Some("vti"), "Vanguard").unwrap().as_str(), "VTI");
        assert_eq!(
            symbol_for(None, "US Treasury 4.5% 2030").unwrap().as_str(),
            "USTREASURY452030"
        );
        assert_eq!(
            symbol_for(Some("bad ticker!"), "").unwrap().as_str(),
            "SECURITY"
        );
    }

    #[test]
    fn holdings_of_one_security_merge_into_one_position_at_their_average_cost() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        let position = merge_holdings(&[(d("10"), Some(d("1000"))), (d("5"), None)], d("120"))
            .unwrap()
            .unwrap();
        assert_eq!(position.quantity.value(), d("15"));
        // (1000 + 5 × 120) / 15
        assert_eq!(position.average_cost.value(), d("106.66666667"));
        assert_eq!(merge_holdings(&[], d("1")).unwrap(), None);
        assert_eq!(merge_holdings(&[(d("0"), None)], d("1")).unwrap(), None);
    }

    proptest! {
        #[test]
        fn the_sign_flip_is_exact_for_every_cent_amount(cents in -10_000_000_000i64..10_000_000_000i64) {
            prop_assume!(cents != 0);
            let plaid = Decimal::new(cents, 2);
            let ours = transaction_amount(plaid).unwrap();
            prop_assert_eq!(ours.value(), -plaid);
            prop_assert_eq!(transaction_amount(-ours.value()).unwrap(), ours);
        }
    }
}
