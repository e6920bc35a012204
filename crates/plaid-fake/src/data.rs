//! The sandbox item's default data: six accounts, a few holdings, and two years of dated,
//! realistic transactions, generated from a seed so that runs repeat.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;

use crate::model::{Account, Balances, Holding, Item, Security, Transaction};

/// A small, fast, seeded generator (splitmix64); plenty for fake data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi.saturating_sub(lo))
            .unwrap_or(0)
            .saturating_add(1);
        lo + i64::try_from(self.next_u64() % span).unwrap_or(0)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let len = u64::try_from(items.len()).ok()?;
        if len == 0 {
            return None;
        }
        items.get(usize::try_from(self.next_u64() % len).ok()?)
    }

    /// A hex id of 32 characters.
    pub fn id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

/// Which default account a template posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum On {
    Checking,
    Savings,
    Card,
}

/// A kind of everyday spending: what it looks like and what it costs (in cents).
#[derive(Debug, Clone, Copy)]
struct Template {
    on: On,
    names: &'static [&'static str],
    primary: &'static str,
    detailed: &'static str,
    lo: i64,
    hi: i64,
    channel: &'static str,
}

const fn t(
    on: On,
    names: &'static [&'static str],
    primary: &'static str,
    detailed: &'static str,
    lo: i64,
    hi: i64,
    channel: &'static str,
) -> Template {
    Template {
        on,
        names,
        primary,
        detailed,
        lo,
        hi,
        channel,
    }
}

/// Spending that happens on random days.
const EVERYDAY: &[Template] = &[
    t(
        On::Card,
        &["Whole Foods", "Trader Joe's", "Safeway", "Costco"],
        "FOOD_AND_DRINK",
        "FOOD_AND_DRINK_GROCERIES",
        2_450,
        18_900,
        "in store",
    ),
    t(
        On::Card,
        &["Starbucks", "Blue Bottle Coffee", "Peet's Coffee"],
        "FOOD_AND_DRINK",
        "FOOD_AND_DRINK_COFFEE",
        345,
        980,
        "in store",
    ),
    t(
        On::Card,
        &["Chipotle", "Sweetgreen", "Olive Garden", "Panda Express"],
        "FOOD_AND_DRINK",
        "FOOD_AND_DRINK_RESTAURANT",
        1_150,
        8_600,
        "in store",
    ),
    t(
        On::Card,
        &["Amazon", "Target", "Walmart", "Best Buy"],
        "GENERAL_MERCHANDISE",
        "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
        899,
        24_999,
        "online",
    ),
    t(
        On::Card,
        &["Shell", "Chevron", "Exxon"],
        "TRANSPORTATION",
        "TRANSPORTATION_GAS",
        3_200,
        7_400,
        "in store",
    ),
    t(
        On::Card,
        &["Uber", "Lyft"],
        "TRANSPORTATION",
        "TRANSPORTATION_TAXIS_AND_RIDE_SHARES",
        890,
        4_650,
        "online",
    ),
    t(
        On::Card,
        &["AMC Theatres", "Ticketmaster", "Steam"],
        "ENTERTAINMENT",
        "ENTERTAINMENT_TV_AND_MOVIES",
        1_299,
        9_800,
        "online",
    ),
    t(
        On::Card,
        &["CVS Pharmacy", "Walgreens"],
        "MEDICAL",
        "MEDICAL_PHARMACIES_AND_SUPPLEMENTS",
        599,
        6_420,
        "in store",
    ),
    t(
        On::Card,
        &["Supercuts", "Great Clips"],
        "PERSONAL_CARE",
        "PERSONAL_CARE_HAIR_AND_BEAUTY",
        2_500,
        6_500,
        "in store",
    ),
    t(
        On::Card,
        &["Home Depot", "Lowe's"],
        "HOME_IMPROVEMENT",
        "HOME_IMPROVEMENT_HARDWARE",
        1_299,
        32_000,
        "in store",
    ),
    t(
        On::Checking,
        &["ATM Fee"],
        "BANK_FEES",
        "BANK_FEES_ATM_FEES",
        300,
        350,
        "other",
    ),
    t(
        On::Card,
        &["American Red Cross", "Doctors Without Borders"],
        "GOVERNMENT_AND_NON_PROFIT",
        "GOVERNMENT_AND_NON_PROFIT_DONATIONS",
        2_500,
        10_000,
        "online",
    ),
];

/// Rare, large spending.
const TRAVEL: &[Template] = &[
    t(
        On::Card,
        &["United Airlines", "Delta Air Lines", "Southwest Airlines"],
        "TRAVEL",
        "TRAVEL_FLIGHTS",
        18_900,
        68_000,
        "online",
    ),
    t(
        On::Card,
        &["Marriott", "Hilton", "Airbnb"],
        "TRAVEL",
        "TRAVEL_LODGING",
        24_000,
        95_000,
        "online",
    ),
];

/// Builds a transaction from its parts.
struct Builder<'a> {
    item: &'a mut Item,
    ids: HashMap<On, String>,
}

impl Builder<'_> {
    #[expect(
        clippy::too_many_arguments,
        reason = "one row of a transaction table reads best flat"
    )]
    fn push(
        &mut self,
        on: On,
        date: NaiveDate,
        amount: Decimal,
        name: &str,
        merchant: Option<&str>,
        category: (&str, &str),
        channel: &str,
        pending: bool,
    ) -> String {
        let account_id = self.ids.get(&on).cloned().unwrap_or_default();
        let id = self.item.new_txn_id();
        self.item.push_added(Transaction {
            transaction_id: id.clone(),
            account_id,
            amount,
            currency: "USD".to_owned(),
            date,
            authorized_date: date.checked_sub_days(Days::new(1)),
            name: name.to_owned(),
            merchant_name: merchant.map(str::to_owned),
            pending,
            pending_transaction_id: None,
            primary: category.0.to_owned(),
            detailed: category.1.to_owned(),
            payment_channel: channel.to_owned(),
        });
        id
    }

    fn template(&mut self, tpl: &Template, date: NaiveDate, pending: bool) {
        let rng = &mut self.item.rng;
        let merchant = rng.pick(tpl.names).copied().unwrap_or("Merchant");
        let amount = cents(rng.range(tpl.lo, tpl.hi));
        let name = if tpl.on == On::Checking {
            merchant.to_uppercase()
        } else {
            format!("{} #{}", merchant.to_uppercase(), rng.range(100, 9999))
        };
        self.push(
            tpl.on,
            date,
            amount,
            &name,
            (tpl.on != On::Checking).then_some(merchant),
            (tpl.primary, tpl.detailed),
            tpl.channel,
            pending,
        );
    }
}

/// A new item for `institution_id` with the default accounts, holdings and about two years
/// of transactions up to `today`, two of them pending.
#[must_use]
pub fn default_item(
    seed: u64,
    institution_id: &str,
    products: Vec<String>,
    webhook: Option<String>,
    today: NaiveDate,
) -> Item {
    let mut rng = Rng::new(seed);
    let item_id = rng.id();
    let mut account =
        |name: &str, official: &str, mask: &str, ty: &str, sub: &str, b: Balances| Account {
            account_id: rng.id(),
            name: name.to_owned(),
            official_name: Some(official.to_owned()),
            mask: Some(mask.to_owned()),
            account_type: ty.to_owned(),
            subtype: Some(sub.to_owned()),
            balances: b,
            currency: "USD".to_owned(),
        };
    let checking = account(
        "Everyday Checking",
        "Fake Bank Everyday Checking",
        "0000",
        "depository",
        "checking",
        Balances {
            available: Some(cents(318_245)),
            current: Some(cents(323_245)),
            limit: None,
        },
    );
    let savings = account(
        "High-Yield Savings",
        "Fake Bank High-Yield Savings",
        "1111",
        "depository",
        "savings",
        Balances {
            available: Some(cents(1_521_045)),
            current: Some(cents(1_521_045)),
            limit: None,
        },
    );
    let card = account(
        "Rewards Card",
        "Fake Bank Cash Rewards Visa",
        "3333",
        "credit",
        "credit card",
        Balances {
            available: Some(cents(458_973)),
            current: Some(cents(41_027)),
            limit: Some(cents(500_000)),
        },
    );
    let brokerage = account(
        "Brokerage",
        "Fake Invest Individual Brokerage",
        "5555",
        "investment",
        "brokerage",
        Balances::default(),
    );
    let retirement = account(
        "401(k)",
        "Fake Invest 401(k) Plan",
        "6666",
        "investment",
        "401k",
        Balances::default(),
    );
    let mortgage = account(
        "Mortgage",
        "Fake Bank 30-Year Fixed Mortgage",
        "8888",
        "loan",
        "mortgage",
        Balances {
            available: None,
            current: Some(cents(25_603_472)),
            limit: None,
        },
    );
    let as_of = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let securities = vec![
        security(
            &mut rng,
            "Vanguard Total Stock Market ETF",
            Some("VTI"),
            "etf",
            "268.12",
            as_of,
        ),
        security(
            &mut rng,
            "Apple Inc.",
            Some("AAPL"),
            "equity",
            "227.48",
            as_of,
        ),
        security(&mut rng, "U S Dollar", Some("CUR:USD"), "cash", "1", as_of),
        security(
            &mut rng,
            "Vanguard Target Retirement 2050 Fund",
            Some("VFIFX"),
            "mutual fund",
            "52.31",
            as_of,
        ),
        security(
            &mut rng,
            "Stable Value Fund",
            None,
            "mutual fund",
            "10.0001",
            as_of,
        ),
    ];
    let holding =
        |account: &Account, security: &Security, quantity: &str, cost: Option<&str>| Holding {
            account_id: account.account_id.clone(),
            security_id: security.security_id.clone(),
            quantity: dec(quantity),
            institution_price: security.close_price,
            institution_price_as_of: security.close_price_as_of,
            cost_basis: cost.map(dec),
        };
    let holdings = match securities.as_slice() {
        [vti, aapl, usd, target, stable] => vec![
            holding(&brokerage, vti, "45.5", Some("9876.54")),
            holding(&brokerage, aapl, "20", Some("3012.40")),
            holding(&brokerage, usd, "1234.56", Some("1234.56")),
            holding(&retirement, target, "1234.567", Some("52000")),
            holding(&retirement, stable, "0.1", None),
        ],
        _ => Vec::new(),
    };
    let mut accounts = vec![checking, savings, card, brokerage, retirement, mortgage];
    for a in &mut accounts {
        if a.account_type == "investment" {
            let value: Decimal = holdings
                .iter()
                .filter(|h| h.account_id == a.account_id)
                .map(|h| (h.quantity * h.institution_price).round_dp(2))
                .sum();
            a.balances.current = Some(value);
        }
    }
    let ids = HashMap::from([
        (On::Checking, accounts[0].account_id.clone()),
        (On::Savings, accounts[1].account_id.clone()),
        (On::Card, accounts[2].account_id.clone()),
    ]);
    let mut item = Item {
        item_id,
        institution_id: institution_id.to_owned(),
        institution_name: institution_name(institution_id),
        webhook,
        products,
        accounts,
        securities,
        holdings,
        current: HashMap::new(),
        log: Vec::new(),
        login_required: false,
        rng,
        next_txn: 0,
        pagination: None,
    };
    history(
        &mut Builder {
            item: &mut item,
            ids,
        },
        today,
    );
    item
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap_or_default()
}

fn security(
    rng: &mut Rng,
    name: &str,
    ticker: Option<&str>,
    ty: &str,
    price: &str,
    as_of: NaiveDate,
) -> Security {
    Security {
        security_id: rng.id(),
        name: name.to_owned(),
        ticker_symbol: ticker.map(str::to_owned),
        security_type: ty.to_owned(),
        is_cash_equivalent: ty == "cash",
        close_price: dec(price),
        close_price_as_of: as_of,
    }
}

fn institution_name(institution_id: &str) -> String {
    match institution_id {
        "ins_109508" => "First Platypus Bank".to_owned(),
        "ins_109509" => "First Gingham Credit Union".to_owned(),
        "ins_109510" => "Tattersall Federal Credit Union".to_owned(),
        "ins_109511" => "Tartan Bank".to_owned(),
        "ins_109512" => "Houndstooth Bank".to_owned(),
        other => format!("Fake Institution {other}"),
    }
}

/// Two years of a household's money, day by day, oldest first.
fn history(b: &mut Builder<'_>, today: NaiveDate) {
    let start = today.checked_sub_days(Days::new(730)).unwrap_or(today);
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let mut day = start;
    while day < today {
        let d = day.day();
        if d == 1 || d == 15 {
            let pay = cents(b.item.rng.range(245_000, 246_000));
            b.push(
                On::Checking,
                day,
                -pay,
                "ACME CORP PAYROLL PPD",
                Some("Acme Corp"),
                ("INCOME", "INCOME_WAGES"),
                "other",
                false,
            );
        }
        if d == 1 {
            b.push(
                On::Checking,
                day,
                cents(185_000),
                "MORTGAGE PAYMENT FAKE BANK",
                None,
                ("LOAN_PAYMENTS", "LOAN_PAYMENTS_MORTGAGE_PAYMENT"),
                "other",
                false,
            );
        }
        if d == 5 {
            let amount = cents(b.item.rng.range(6_000, 16_000));
            b.push(
                On::Checking,
                day,
                amount,
                "PG&E WEB ONLINE",
                Some("PG&E"),
                (
                    "RENT_AND_UTILITIES",
                    "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY",
                ),
                "online",
                false,
            );
        }
        if d == 8 {
            b.push(
                On::Card,
                day,
                cents(1_549),
                "NETFLIX.COM",
                Some("Netflix"),
                ("ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES"),
                "online",
                false,
            );
            b.push(
                On::Card,
                day,
                cents(4_500),
                "PLANET FITNESS",
                Some("Planet Fitness"),
                ("PERSONAL_CARE", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS"),
                "in store",
                false,
            );
        }
        if d == 12 {
            b.push(
                On::Checking,
                day,
                cents(7_999),
                "COMCAST CABLE",
                Some("Comcast"),
                (
                    "RENT_AND_UTILITIES",
                    "RENT_AND_UTILITIES_INTERNET_AND_CABLE",
                ),
                "online",
                false,
            );
            b.push(
                On::Checking,
                day,
                cents(11_240),
                "GEICO AUTO INSURANCE",
                Some("GEICO"),
                ("GENERAL_SERVICES", "GENERAL_SERVICES_INSURANCE"),
                "online",
                false,
            );
        }
        if d == 16 {
            b.push(
                On::Checking,
                day,
                cents(50_000),
                "TRANSFER TO SAVINGS",
                None,
                ("TRANSFER_OUT", "TRANSFER_OUT_ACCOUNT_TRANSFER"),
                "other",
                false,
            );
            b.push(
                On::Savings,
                day,
                -cents(50_000),
                "TRANSFER FROM CHECKING",
                None,
                ("TRANSFER_IN", "TRANSFER_IN_ACCOUNT_TRANSFER"),
                "other",
                false,
            );
        }
        if d == 20 {
            let amount = cents(b.item.rng.range(60_000, 150_000));
            b.push(
                On::Checking,
                day,
                amount,
                "FAKE BANK CARD PAYMENT",
                None,
                ("LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"),
                "other",
                false,
            );
            b.push(
                On::Card,
                day,
                -amount,
                "PAYMENT THANK YOU",
                None,
                ("LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"),
                "other",
                false,
            );
        }
        if day.checked_add_days(Days::new(1)).map(|n| n.month()) != Some(day.month()) {
            let amount = cents(b.item.rng.range(2_100, 4_800));
            b.push(
                On::Savings,
                day,
                -amount,
                "INTEREST PAYMENT",
                None,
                ("INCOME", "INCOME_INTEREST_EARNED"),
                "other",
                false,
            );
        }
        let everyday = b.item.rng.range(0, 3);
        for _ in 0..everyday {
            if let Some(tpl) = b.item.rng.pick(EVERYDAY).copied() {
                b.template(&tpl, day, false);
            }
        }
        if b.item.rng.chance(1)
            && let Some(tpl) = b.item.rng.pick(TRAVEL).copied()
        {
            b.template(&tpl, day, false);
        }
        if b.item.rng.chance(2) {
            let refund = cents(b.item.rng.range(1_000, 8_000));
            b.push(
                On::Card,
                day,
                -refund,
                "AMAZON REFUND",
                Some("Amazon"),
                (
                    "GENERAL_MERCHANDISE",
                    "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
                ),
                "online",
                false,
            );
        }
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    b.push(
        On::Card,
        yesterday,
        cents(645),
        "STARBUCKS #4821",
        Some("Starbucks"),
        ("FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE"),
        "in store",
        true,
    );
    b.push(
        On::Card,
        today,
        cents(8_997),
        "AMAZON MKTPL",
        Some("Amazon"),
        (
            "GENERAL_MERCHANDISE",
            "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
        ),
        "online",
        true,
    );
}

/// Adds `n` random everyday transactions dated within the two years before `today`, spread
/// over checking and the card; cheap enough for hundreds of thousands.
pub fn generate(item: &mut Item, n: usize, today: NaiveDate) -> Result<usize, crate::FakeError> {
    let deposit = item
        .accounts
        .iter()
        .find(|a| a.subtype.as_deref() == Some("checking") || a.account_type == "depository")
        .or_else(|| item.accounts.first())
        .map(|a| a.account_id.clone())
        .ok_or_else(|| crate::FakeError::NoAccount("(any)".into()))?;
    let card = item
        .accounts
        .iter()
        .find(|a| a.account_type == "credit")
        .map_or_else(|| deposit.clone(), |a| a.account_id.clone());
    let savings = item
        .accounts
        .iter()
        .find(|a| a.subtype.as_deref() == Some("savings"))
        .map_or_else(|| deposit.clone(), |a| a.account_id.clone());
    let ids = HashMap::from([
        (On::Checking, deposit),
        (On::Card, card),
        (On::Savings, savings),
    ]);
    item.log.reserve(n);
    item.current.reserve(n);
    let mut b = Builder { item, ids };
    for _ in 0..n {
        let back = b.item.rng.range(0, 729);
        let date = today
            .checked_sub_days(Days::new(u64::try_from(back).unwrap_or(0)))
            .unwrap_or(today);
        if let Some(tpl) = b.item.rng.pick(EVERYDAY).copied() {
            b.template(&tpl, date, false);
        }
    }
    Ok(n)
}
