//! Securities: their types.

use crate::enumeration::string_enum;
use crate::error::DomainError;

/// A ticker symbol: 1 to 20 of `A-Z 0-9 . - ^ = /`, stored upper case (`brk.b` is `BRK.B`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(String);

impl Symbol {
    /// Checks and upper-cases a symbol.
    ///
    /// # Errors
    /// [`DomainError::InvalidSymbol`].
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let symbol = text.trim().to_ascii_uppercase();
        let ok = (1..=20).contains(&symbol.len())
            && symbol
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b".-^=/".contains(&b));
        if ok {
            Ok(Self(symbol))
        } else {
            Err(DomainError::InvalidSymbol)
        }
    }

    /// The symbol.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_enum!(
    /// The kind of a security.
    InvestmentType, "investment type", {
        /// A company's shares.
        Stock => "stock",
        /// A bond.
        Bond => "bond",
        /// An exchange-traded fund.
        Etf => "etf",
        /// A mutual fund.
        MutualFund => "mutual_fund",
        /// An option contract.
        Option => "option",
        /// A futures contract.
        Future => "future",
        /// A cryptocurrency.
        Crypto => "crypto",
        /// A commodity.
        Commodity => "commodity",
        /// Real estate.
        RealEstate => "real_estate",
        /// Anything else.
        Other => "other",
    }
);

impl InvestmentType {
    /// Whether the security trades in whole units (stocks, ETFs, options, futures) rather than
    /// fractions (funds, crypto, ...). Rebalancing proposes whole units for these.
    #[must_use]
    pub fn trades_in_whole_units(self) -> bool {
        matches!(
            self,
            InvestmentType::Stock
                | InvestmentType::Etf
                | InvestmentType::Option
                | InvestmentType::Future
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_upper_cased_and_limited_to_ticker_characters() {
        assert_eq!(Symbol::parse(" brk.b ").unwrap().as_str(), "BRK.B");
        assert_eq!(Symbol::parse("BTC-USD").unwrap().as_str(), "BTC-USD");
        for bad in ["", "A B", "AAPL;", &"X".repeat(21), "ÄPL"] {
            assert_eq!(
                Symbol::parse(bad),
                Err(DomainError::InvalidSymbol),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn stocks_and_etfs_trade_in_whole_units_and_crypto_and_funds_do_not() {
        assert!(InvestmentType::Stock.trades_in_whole_units());
        assert!(InvestmentType::Etf.trades_in_whole_units());
        assert!(!InvestmentType::Crypto.trades_in_whole_units());
        assert!(!InvestmentType::MutualFund.trades_in_whole_units());
    }
}
