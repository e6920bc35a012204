//! The demo's fixed data: its accounts, securities and a deterministic random generator.

use chrono::{Datelike, NaiveDate};
use nestegg_domain::{AccountType, InvestmentType, TransactionCategory};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The demo portfolio's securities: symbol, name, type, sector, price a year ago, yearly drift
/// in percent.
pub(super) const SECURITIES: &[(&str, &str, InvestmentType, &str, i64, i64)] = &[
    (
        "AAPL",
        "Apple Inc.",
        InvestmentType::Stock,
        "Technology",
        180,
        18,
    ),
    (
        "JNJ",
        "Johnson & Johnson",
        InvestmentType::Stock,
        "Healthcare",
        155,
        4,
    ),
    (
        "VTI",
        "Vanguard Total Stock Market ETF",
        InvestmentType::Etf,
        "Broad market",
        230,
        14,
    ),
    (
        "VXUS",
        "Vanguard Total International Stock ETF",
        InvestmentType::Etf,
        "Broad market",
        58,
        8,
    ),
    (
        "VBTLX",
        "Vanguard Total Bond Market Index Fund",
        InvestmentType::MutualFund,
        "Bonds",
        10,
        2,
    ),
    (
        "BTC",
        "Bitcoin",
        InvestmentType::Crypto,
        "Crypto",
        42_000,
        35,
    ),
];

/// A small deterministic generator (xorshift64*): the same demo every time, no dependency.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Whole cents between `lo` and `hi` dollars, as money.
    pub(super) fn dollars(&mut self, lo: i64, hi: i64) -> Decimal {
        let span = u64::try_from((hi - lo) * 100).unwrap_or(1).max(1);
        let cents = lo * 100 + i64::try_from(self.next() % span).unwrap_or(0);
        Decimal::new(cents, 2)
    }

    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let n = u64::try_from(items.len()).unwrap_or(1).max(1);
        items[usize::try_from(self.next() % n).unwrap_or(0)]
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub(super) struct Spec {
    pub(super) name: &'static str,
    pub(super) account_type: AccountType,
    pub(super) institution: Option<&'static str>,
    pub(super) opening: i64,
}

pub(super) const SPECS: &[Spec] = &[
    Spec {
        name: "Chase Total Checking",
        account_type: AccountType::Checking,
        institution: Some("Chase"),
        opening: 3_200,
    },
    Spec {
        name: "Chase Sapphire",
        account_type: AccountType::CreditCard,
        institution: Some("Chase"),
        opening: 0,
    },
    Spec {
        name: "Ally Online Savings",
        account_type: AccountType::Savings,
        institution: Some("Ally"),
        opening: 12_000,
    },
    Spec {
        name: "Vanguard Brokerage",
        account_type: AccountType::Investment,
        institution: Some("Vanguard"),
        opening: 25_000,
    },
    Spec {
        name: "Fidelity 401(k)",
        account_type: AccountType::Retirement,
        institution: Some("Fidelity"),
        opening: 48_000,
    },
    Spec {
        name: "Toyota Auto Loan",
        account_type: AccountType::Loan,
        institution: Some("Toyota Financial"),
        opening: 18_500,
    },
    Spec {
        name: "Wells Fargo Mortgage",
        account_type: AccountType::Mortgage,
        institution: Some("Wells Fargo"),
        opening: 310_000,
    },
    Spec {
        name: "Cash",
        account_type: AccountType::Other,
        institution: None,
        opening: 200,
    },
    Spec {
        name: "Home (estimated value)",
        account_type: AccountType::Other,
        institution: None,
        opening: 425_000,
    },
];

pub(super) const CHECKING: usize = 0;
pub(super) const CARD: usize = 1;
pub(super) const SAVINGS: usize = 2;
pub(super) const BROKERAGE: usize = 3;
pub(super) const RETIREMENT: usize = 4;
pub(super) const LOAN: usize = 5;
pub(super) const MORTGAGE: usize = 6;
pub(super) const CASH: usize = 7;
pub(super) const HOME: usize = 8;

/// One transaction the demo will write.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    pub(super) account: Uuid,
    pub(super) amount: Decimal,
    pub(super) description: &'static str,
    pub(super) merchant: Option<&'static str>,
    pub(super) category: TransactionCategory,
    pub(super) recurring: bool,
}

impl Planned {
    pub(super) fn new(
        account: Uuid,
        amount: Decimal,
        description: &'static str,
        merchant: Option<&'static str>,
        category: TransactionCategory,
        recurring: bool,
    ) -> Self {
        Self {
            account,
            amount,
            description,
            merchant,
            category,
            recurring,
        }
    }
}

/// The demo person's fixed schedule for one day: pay, bills, transfers, shopping and fuel
/// (the card payment, which depends on what is owed, is the demo logic's).
pub(super) fn schedule(rng: &mut Rng, day: NaiveDate, ids: &[Uuid]) -> Vec<Planned> {
    use TransactionCategory as C;
    let mut out = Vec::new();
    let d = day.day();
    if d == 1 || d == 15 {
        out.push(Planned::new(
            ids[CHECKING],
            Decimal::new(340_000, 2),
            "Payroll",
            Some("Acme Corp"),
            C::Income,
            true,
        ));
    }
    if d == 2 {
        out.push(Planned::new(
            ids[CHECKING],
            Decimal::from(-2_150),
            "Mortgage payment",
            Some("Wells Fargo"),
            C::Transfer,
            true,
        ));
        out.push(Planned::new(
            ids[MORTGAGE],
            Decimal::from(2_150),
            "Payment received",
            None,
            C::Transfer,
            true,
        ));
        out.push(Planned::new(
            ids[CHECKING],
            Decimal::from(-420),
            "Auto loan payment",
            Some("Toyota Financial"),
            C::Transfer,
            true,
        ));
        out.push(Planned::new(
            ids[LOAN],
            Decimal::from(420),
            "Payment received",
            None,
            C::Transfer,
            true,
        ));
    }
    if d == 3 {
        out.push(Planned::new(
            ids[CHECKING],
            Decimal::from(-1_500),
            "Transfer to savings",
            None,
            C::Transfer,
            true,
        ));
        out.push(Planned::new(
            ids[SAVINGS],
            Decimal::from(1_500),
            "Transfer from checking",
            None,
            C::Transfer,
            true,
        ));
    }
    if d == 5 {
        out.push(Planned::new(
            ids[CHECKING],
            -rng.dollars(80, 160),
            "Electric bill",
            Some("PG&E"),
            C::Payment,
            true,
        ));
        out.push(Planned::new(
            ids[CHECKING],
            Decimal::new(-7_000, 2),
            "Internet",
            Some("Comcast"),
            C::Payment,
            true,
        ));
        out.push(Planned::new(
            ids[CARD],
            Decimal::new(-1_549, 2),
            "Netflix",
            Some("Netflix"),
            C::Entertainment,
            true,
        ));
        out.push(Planned::new(
            ids[CARD],
            Decimal::new(-1_099, 2),
            "Spotify",
            Some("Spotify"),
            C::Entertainment,
            true,
        ));
        out.push(Planned::new(
            ids[CARD],
            Decimal::from(-45),
            "Gym membership",
            Some("Equinox"),
            C::HealthAndFitness,
            true,
        ));
    }
    if d == 28 {
        out.push(Planned::new(
            ids[SAVINGS],
            rng.dollars(20, 45),
            "Interest",
            Some("Ally"),
            C::Income,
            false,
        ));
    }
    if d == 10 {
        out.push(Planned::new(
            ids[CHECKING],
            Decimal::from(-100),
            "ATM withdrawal",
            None,
            C::Transfer,
            false,
        ));
        out.push(Planned::new(
            ids[CASH],
            Decimal::from(100),
            "ATM withdrawal",
            None,
            C::Transfer,
            false,
        ));
    }
    if rng.chance(40) {
        out.push(Planned::new(
            ids[CASH],
            -rng.dollars(3, 12),
            "Coffee and snacks",
            Some("Corner Cafe"),
            C::FoodAndDrink,
            false,
        ));
    }
    if day.weekday().num_days_from_monday() == 5 {
        let store = rng.pick(&["Whole Foods", "Trader Joe's", "Safeway"]);
        out.push(Planned::new(
            ids[CARD],
            -rng.dollars(65, 190),
            "Groceries",
            Some(store),
            C::FoodAndDrink,
            false,
        ));
    }
    if rng.chance(35) {
        let place = rng.pick(&[
            "Chipotle",
            "Luigi's Trattoria",
            "Blue Bottle",
            "Sushi Ko",
            "Taco Bell",
        ]);
        out.push(Planned::new(
            ids[CARD],
            -rng.dollars(12, 85),
            "Dining out",
            Some(place),
            C::FoodAndDrink,
            false,
        ));
    }
    if day.weekday().num_days_from_monday() == 2 {
        let station = rng.pick(&["Shell", "Chevron"]);
        out.push(Planned::new(
            ids[CARD],
            -rng.dollars(35, 70),
            "Fuel",
            Some(station),
            C::Transportation,
            false,
        ));
    }
    if rng.chance(10) {
        let shop = rng.pick(&["Amazon", "Target", "REI", "IKEA"]);
        out.push(Planned::new(
            ids[CARD],
            -rng.dollars(20, 250),
            "Shopping",
            Some(shop),
            C::Shopping,
            false,
        ));
    }
    if rng.chance(1) {
        out.push(Planned::new(
            ids[CARD],
            -rng.dollars(300, 1_200),
            "Flights",
            Some("United Airlines"),
            C::Travel,
            false,
        ));
    }
    out
}
