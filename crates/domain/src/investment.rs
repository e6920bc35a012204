//! Securities: their types.

use crate::enumeration::string_enum;

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
    fn stocks_and_etfs_trade_in_whole_units_and_crypto_and_funds_do_not() {
        assert!(InvestmentType::Stock.trades_in_whole_units());
        assert!(InvestmentType::Etf.trades_in_whole_units());
        assert!(!InvestmentType::Crypto.trades_in_whole_units());
        assert!(!InvestmentType::MutualFund.trades_in_whole_units());
    }
}
