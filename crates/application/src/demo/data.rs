//! The demo's fixed data: its accounts, securities and a deterministic random generator.

use chrono::{Datelike, NaiveDate};
use nestegg_domain::{AccountType, InvestmentType, TransactionCategory};
use rust_decimal::Decimal;
use uuid::Uuid;

use Amount::{Cents, Dollars, Earned, Spent};
use TransactionCategory as C;
use When::{Chance, Weekday};

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

    /// One of `items`; a single one is no choice and draws nothing.
    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        if let [only] = items {
            return only;
        }
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

/// How much a scheduled entry moves: a fixed amount in dollars or in cents, or a random one
/// in whole cents between two dollar bounds, earned or spent.
#[derive(Debug, Clone, Copy)]
enum Amount {
    Dollars(i64),
    Cents(i64),
    Earned(i64, i64),
    Spent(i64, i64),
}

impl Amount {
    fn draw(self, rng: &mut Rng) -> Decimal {
        match self {
            Self::Dollars(d) => Decimal::from(d),
            Self::Cents(c) => Decimal::new(c, 2),
            Self::Earned(lo, hi) => rng.dollars(lo, hi),
            Self::Spent(lo, hi) => -rng.dollars(lo, hi),
        }
    }
}

/// When an everyday purchase is made: on a weekday (0 is Monday), or by chance (in percent).
#[derive(Debug, Clone, Copy)]
enum When {
    Weekday(u32),
    Chance(u64),
}

/// Pay, a bill or a transfer on fixed days of the month.
struct Monthly {
    days: &'static [u32],
    account: usize,
    amount: Amount,
    description: &'static str,
    merchant: Option<&'static str>,
    category: TransactionCategory,
    recurring: bool,
}

/// The monthly entries; a day's are written in this order.
const MONTHLY: &[Monthly] = &[
    Monthly {
        days: &[1, 15],
        account: CHECKING,
        amount: Cents(340_000),
        description: "Payroll",
        merchant: Some("Acme Corp"),
        category: C::Income,
        recurring: true,
    },
    Monthly {
        days: &[2],
        account: CHECKING,
        amount: Dollars(-2_150),
        description: "Mortgage payment",
        merchant: Some("Wells Fargo"),
        category: C::Transfer,
        recurring: true,
    },
    Monthly {
        days: &[2],
        account: MORTGAGE,
        amount: Dollars(2_150),
        description: "Payment received",
        merchant: None,
        category: C::Transfer,
        recurring: true,
    },
    Monthly {
        days: &[2],
        account: CHECKING,
        amount: Dollars(-420),
        description: "Auto loan payment",
        merchant: Some("Toyota Financial"),
        category: C::Transfer,
        recurring: true,
    },
    Monthly {
        days: &[2],
        account: LOAN,
        amount: Dollars(420),
        description: "Payment received",
        merchant: None,
        category: C::Transfer,
        recurring: true,
    },
    Monthly {
        days: &[3],
        account: CHECKING,
        amount: Dollars(-1_500),
        description: "Transfer to savings",
        merchant: None,
        category: C::Transfer,
        recurring: true,
    },
    Monthly {
        days: &[3],
        account: SAVINGS,
        amount: Dollars(1_500),
        description: "Transfer from checking",
        merchant: None,
        category: C::Transfer,
        recurring: true,
    },
    Monthly {
        days: &[5],
        account: CHECKING,
        amount: Spent(80, 160),
        description: "Electric bill",
        merchant: Some("PG&E"),
        category: C::Payment,
        recurring: true,
    },
    Monthly {
        days: &[5],
        account: CHECKING,
        amount: Cents(-7_000),
        description: "Internet",
        merchant: Some("Comcast"),
        category: C::Payment,
        recurring: true,
    },
    Monthly {
        days: &[5],
        account: CARD,
        amount: Cents(-1_549),
        description: "Netflix",
        merchant: Some("Netflix"),
        category: C::Entertainment,
        recurring: true,
    },
    Monthly {
        days: &[5],
        account: CARD,
        amount: Cents(-1_099),
        description: "Spotify",
        merchant: Some("Spotify"),
        category: C::Entertainment,
        recurring: true,
    },
    Monthly {
        days: &[5],
        account: CARD,
        amount: Dollars(-45),
        description: "Gym membership",
        merchant: Some("Equinox"),
        category: C::HealthAndFitness,
        recurring: true,
    },
    Monthly {
        days: &[28],
        account: SAVINGS,
        amount: Earned(20, 45),
        description: "Interest",
        merchant: Some("Ally"),
        category: C::Income,
        recurring: false,
    },
    Monthly {
        days: &[10],
        account: CHECKING,
        amount: Dollars(-100),
        description: "ATM withdrawal",
        merchant: None,
        category: C::Transfer,
        recurring: false,
    },
    Monthly {
        days: &[10],
        account: CASH,
        amount: Dollars(100),
        description: "ATM withdrawal",
        merchant: None,
        category: C::Transfer,
        recurring: false,
    },
];

/// An everyday purchase, never recurring: on the card or in cash, at one of its merchants.
struct Everyday {
    when: When,
    account: usize,
    /// The range of its amount, in dollars.
    dollars: (i64, i64),
    description: &'static str,
    merchants: &'static [&'static str],
    category: TransactionCategory,
}

/// The everyday purchases, in the order they are considered each day.
const EVERYDAY: &[Everyday] = &[
    Everyday {
        when: Chance(40),
        account: CASH,
        dollars: (3, 12),
        description: "Coffee and snacks",
        merchants: &["Corner Cafe"],
        category: C::FoodAndDrink,
    },
    Everyday {
        when: Weekday(5),
        account: CARD,
        dollars: (65, 190),
        description: "Groceries",
        merchants: &["Whole Foods", "Trader Joe's", "Safeway"],
        category: C::FoodAndDrink,
    },
    Everyday {
        when: Chance(35),
        account: CARD,
        dollars: (12, 85),
        description: "Dining out",
        merchants: &[
            "Chipotle",
            "Luigi's Trattoria",
            "Blue Bottle",
            "Sushi Ko",
            "Taco Bell",
        ],
        category: C::FoodAndDrink,
    },
    Everyday {
        when: Weekday(2),
        account: CARD,
        dollars: (35, 70),
        description: "Fuel",
        merchants: &["Shell", "Chevron"],
        category: C::Transportation,
    },
    Everyday {
        when: Chance(10),
        account: CARD,
        dollars: (20, 250),
        description: "Shopping",
        merchants: &["Amazon", "Target", "REI", "IKEA"],
        category: C::Shopping,
    },
    Everyday {
        when: Chance(1),
        account: CARD,
        dollars: (300, 1_200),
        description: "Flights",
        merchants: &["United Airlines"],
        category: C::Travel,
    },
];

/// The demo person's fixed schedule for one day: pay, bills, transfers, shopping and fuel
/// (the card payment, which depends on what is owed, is the demo logic's). The generator is
/// drawn in table order, so that every demo is the same.
pub(super) fn schedule(rng: &mut Rng, day: NaiveDate, ids: &[Uuid]) -> Vec<Planned> {
    let mut out = Vec::new();
    for m in MONTHLY.iter().filter(|m| m.days.contains(&day.day())) {
        let amount = m.amount.draw(rng);
        out.push(Planned::new(
            ids[m.account],
            amount,
            m.description,
            m.merchant,
            m.category,
            m.recurring,
        ));
    }
    let weekday = day.weekday().num_days_from_monday();
    for e in EVERYDAY {
        let made = match e.when {
            Weekday(w) => w == weekday,
            Chance(percent) => rng.chance(percent),
        };
        if made {
            let merchant = rng.pick(e.merchants);
            let (lo, hi) = e.dollars;
            out.push(Planned::new(
                ids[e.account],
                -rng.dollars(lo, hi),
                e.description,
                Some(merchant),
                e.category,
                false,
            ));
        }
    }
    out
}
