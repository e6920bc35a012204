//! Where a user stands: net worth now and over time, and where the money went, in the user's
//! base currency.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, Months, NaiveDate};
use uuid::Uuid;

use crate::account::{AccountClass, AccountType};
use crate::currency::CurrencyCode;
use crate::decimal::{Money, Rate};
use crate::error::DomainError;

/// The user's exchange rates into their base currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    base: CurrencyCode,
    rates: HashMap<CurrencyCode, Rate>,
}

impl Rates {
    /// Rates into `base`; a rate for `base` itself is ignored (it is always 1).
    #[must_use]
    pub fn new(base: CurrencyCode, rates: HashMap<CurrencyCode, Rate>) -> Self {
        Self { base, rates }
    }

    /// The base currency.
    #[must_use]
    pub fn base(&self) -> CurrencyCode {
        self.base
    }

    /// `amount` in the base currency, or `None` when there is no rate for `currency`.
    ///
    /// # Errors
    /// [`DomainError::OutOfRange`] when the converted amount leaves the range of money.
    pub fn to_base(
        &self,
        amount: Money,
        currency: CurrencyCode,
    ) -> Result<Option<Money>, DomainError> {
        if currency == self.base {
            return Ok(Some(amount));
        }
        self.rates
            .get(&currency)
            .map(|r| amount.convert(*r))
            .transpose()
    }
}

/// An account's balance as reports need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    /// The account.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its type, which decides its class.
    pub account_type: AccountType,
    /// Its institution, if known.
    pub institution_name: Option<String>,
    /// The balance in the account's currency.
    pub balance: Money,
    /// The account's currency.
    pub currency: CurrencyCode,
}

/// Totals of one account type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeTotal {
    /// The type.
    pub account_type: AccountType,
    /// Its class.
    pub class: AccountClass,
    /// Sum of converted balances.
    pub total: Money,
    /// Accounts of this type, converted or not.
    pub count: usize,
}

/// Totals of one institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionTotal {
    /// The institution; `None` for accounts without one.
    pub institution_name: Option<String>,
    /// Sum of converted asset balances.
    pub total_assets: Money,
    /// Sum of converted liability balances.
    pub total_liabilities: Money,
    /// Accounts at this institution, converted or not.
    pub count: usize,
}

/// One account in the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLine {
    /// The account and its balance.
    pub account: AccountBalance,
    /// Its class.
    pub class: AccountClass,
    /// The balance in the base currency; `None` when no rate converts it.
    pub balance_in_base: Option<Money>,
}

/// Net worth now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// The currency of every total.
    pub base_currency: CurrencyCode,
    /// `total_assets - total_liabilities`.
    pub net_worth: Money,
    /// Sum of converted asset balances.
    pub total_assets: Money,
    /// Sum of converted liability balances (what is owed).
    pub total_liabilities: Money,
    /// Per account type present, in the types' declared order.
    pub by_type: Vec<TypeTotal>,
    /// Per institution, by name, accounts without one last.
    pub by_institution: Vec<InstitutionTotal>,
    /// Every account, in the order given.
    pub accounts: Vec<AccountLine>,
    /// Accounts left out of the totals because no rate converts their currency.
    pub unconverted: Vec<Uuid>,
}

/// Adds `amount` to the asset or liability side.
fn add(
    assets: &mut Money,
    liabilities: &mut Money,
    class: AccountClass,
    amount: Money,
) -> Result<(), DomainError> {
    match class {
        AccountClass::Asset => *assets = assets.checked_add(amount)?,
        AccountClass::Liability => *liabilities = liabilities.checked_add(amount)?,
    }
    Ok(())
}

/// Net worth, by type, by institution and per account, in the base currency. Accounts whose
/// currency has no rate are listed in `unconverted` and left out of every total, never counted
/// at 1:1 or at 0.
///
/// # Errors
/// [`DomainError::OutOfRange`] when a total leaves the range of money.
pub fn overview(accounts: &[AccountBalance], rates: &Rates) -> Result<Overview, DomainError> {
    let (mut assets, mut liabilities) = (Money::ZERO, Money::ZERO);
    let mut by_type: BTreeMap<AccountType, TypeTotal> = BTreeMap::new();
    let mut by_institution: BTreeMap<(bool, String), InstitutionTotal> = BTreeMap::new();
    let mut lines = Vec::with_capacity(accounts.len());
    let mut unconverted = Vec::new();
    for account in accounts {
        let class = account.account_type.class();
        let converted = rates.to_base(account.balance, account.currency)?;
        let t = by_type.entry(account.account_type).or_insert(TypeTotal {
            account_type: account.account_type,
            class,
            total: Money::ZERO,
            count: 0,
        });
        t.count += 1;
        let key = (
            account.institution_name.is_none(),
            account.institution_name.clone().unwrap_or_default(),
        );
        let i = by_institution.entry(key).or_insert(InstitutionTotal {
            institution_name: account.institution_name.clone(),
            total_assets: Money::ZERO,
            total_liabilities: Money::ZERO,
            count: 0,
        });
        i.count += 1;
        match converted {
            Some(amount) => {
                t.total = t.total.checked_add(amount)?;
                add(&mut i.total_assets, &mut i.total_liabilities, class, amount)?;
                add(&mut assets, &mut liabilities, class, amount)?;
            }
            None => unconverted.push(account.id),
        }
        lines.push(AccountLine {
            account: account.clone(),
            class,
            balance_in_base: converted,
        });
    }
    Ok(Overview {
        base_currency: rates.base(),
        net_worth: assets.checked_sub(liabilities)?,
        total_assets: assets,
        total_liabilities: liabilities,
        by_type: by_type.into_values().collect(),
        by_institution: by_institution.into_values().collect(),
        accounts: lines,
        unconverted,
    })
}

/// The spacing of points in a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// Every day.
    Day,
    /// Every seven days from the start.
    Week,
    /// The same day of each month from the start (clamped to the month's last day).
    Month,
}

/// The earliest date accepted anywhere (dates are stored as text on SQLite, so they must keep
/// four-digit years to sort correctly).
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// The latest date accepted anywhere.
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// Checks that a date has a four-digit year (0001-01-01 to 9999-12-31).
///
/// # Errors
/// [`DomainError::InvalidRange`] for any other date.
pub fn check_date(date: NaiveDate) -> Result<NaiveDate, DomainError> {
    if (MIN_DATE..=MAX_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(DomainError::InvalidRange {
            reason: "dates run from 0001-01-01 to 9999-12-31".into(),
        })
    }
}

/// The most points one history may have (ten years of days).
pub const MAX_HISTORY_POINTS: usize = 3660;

fn too_many_points() -> DomainError {
    DomainError::InvalidRange {
        reason: format!("at most {MAX_HISTORY_POINTS} points; use a longer interval"),
    }
}

/// The dates of a history from `from` to `to`: `from`, each step after it, and `to` itself.
///
/// # Errors
/// [`DomainError::InvalidRange`] when `to` is before `from` or there would be more than
/// [`MAX_HISTORY_POINTS`] points.
pub fn history_dates(
    from: NaiveDate,
    to: NaiveDate,
    interval: Interval,
) -> Result<Vec<NaiveDate>, DomainError> {
    if to < from {
        return Err(DomainError::InvalidRange {
            reason: "`to` is before `from`".into(),
        });
    }
    let mut dates = Vec::new();
    for k in 0u32.. {
        let next = match interval {
            Interval::Day => from.checked_add_days(Days::new(u64::from(k))),
            Interval::Week => from.checked_add_days(Days::new(7 * u64::from(k))),
            Interval::Month => from.checked_add_months(Months::new(k)),
        };
        match next {
            Some(d) if d <= to => dates.push(d),
            _ => break,
        }
        // Stop as soon as the limit is passed, so a huge range costs nothing more.
        if dates.len() > MAX_HISTORY_POINTS {
            return Err(too_many_points());
        }
    }
    if dates.last() != Some(&to) {
        dates.push(to);
    }
    if dates.len() > MAX_HISTORY_POINTS {
        return Err(too_many_points());
    }
    Ok(dates)
}

/// A balance snapshot as history needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPoint {
    /// The account.
    pub account_id: Uuid,
    /// Its type.
    pub account_type: AccountType,
    /// Its currency.
    pub currency: CurrencyCode,
    /// The snapshot's date.
    pub date: NaiveDate,
    /// The balance that day.
    pub balance: Money,
}

/// Net worth on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPoint {
    /// The date.
    pub date: NaiveDate,
    /// Converted asset balances.
    pub total_assets: Money,
    /// Converted liability balances.
    pub total_liabilities: Money,
    /// Their difference.
    pub net_worth: Money,
}

/// For each date, each account's latest snapshot on or before it, converted at today's rates
/// (accounts without a rate are left out, as in the overview).
///
/// # Errors
/// [`DomainError::OutOfRange`] when a total leaves the range of money.
pub fn history(
    dates: &[NaiveDate],
    snapshots: &[SnapshotPoint],
    rates: &Rates,
) -> Result<Vec<HistoryPoint>, DomainError> {
    let mut per_account: BTreeMap<Uuid, Vec<&SnapshotPoint>> = BTreeMap::new();
    for s in snapshots {
        per_account.entry(s.account_id).or_default().push(s);
    }
    let mut totals = vec![(Money::ZERO, Money::ZERO); dates.len()];
    for points in per_account.values_mut() {
        points.sort_by_key(|p| p.date);
        let mut next = 0;
        let mut current: Option<&SnapshotPoint> = None;
        for (i, date) in dates.iter().enumerate() {
            while next < points.len() && points[next].date <= *date {
                current = Some(points[next]);
                next += 1;
            }
            if let Some(p) = current
                && let Some(amount) = rates.to_base(p.balance, p.currency)?
            {
                let (a, l) = &mut totals[i];
                add(a, l, p.account_type.class(), amount)?;
            }
        }
    }
    dates
        .iter()
        .zip(totals)
        .map(|(date, (a, l))| {
            Ok(HistoryPoint {
                date: *date,
                total_assets: a,
                total_liabilities: l,
                net_worth: a.checked_sub(l)?,
            })
        })
        .collect()
}

/// Income and expenses of one group in one currency, as summed by the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashflowPart {
    /// The group (category, month `YYYY-MM`, or merchant; `None` for no merchant).
    pub key: Option<String>,
    /// The accounts' currency.
    pub currency: CurrencyCode,
    /// Sum of positive amounts.
    pub income: Money,
    /// Sum of negative amounts, as a positive number.
    pub expenses: Money,
    /// Transactions counted.
    pub count: u64,
}

/// One group of a cash flow, in the base currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashflowGroup {
    /// The group's key.
    pub key: Option<String>,
    /// Money in.
    pub income: Money,
    /// Money out, positive.
    pub expenses: Money,
    /// `income - expenses`.
    pub net: Money,
    /// Transactions counted.
    pub count: u64,
}

/// Where the money went over a period, in the base currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cashflow {
    /// Money in.
    pub income: Money,
    /// Money out, positive.
    pub expenses: Money,
    /// `income - expenses`.
    pub net: Money,
    /// Per key, in the order of the parts given.
    pub groups: Vec<CashflowGroup>,
    /// Currencies of transactions left out for want of a rate.
    pub unconverted_currencies: Vec<CurrencyCode>,
}

/// Converts and merges per-currency sums into one cash flow.
///
/// # Errors
/// [`DomainError::OutOfRange`] when a total leaves the range of money.
pub fn cashflow(parts: &[CashflowPart], rates: &Rates) -> Result<Cashflow, DomainError> {
    let mut groups: Vec<CashflowGroup> = Vec::new();
    let mut index: HashMap<Option<String>, usize> = HashMap::new();
    let mut unconverted: Vec<CurrencyCode> = Vec::new();
    let (mut income, mut expenses) = (Money::ZERO, Money::ZERO);
    for part in parts {
        let (Some(i), Some(e)) = (
            rates.to_base(part.income, part.currency)?,
            rates.to_base(part.expenses, part.currency)?,
        ) else {
            if !unconverted.contains(&part.currency) {
                unconverted.push(part.currency);
            }
            continue;
        };
        let at = *index.entry(part.key.clone()).or_insert_with(|| {
            groups.push(CashflowGroup {
                key: part.key.clone(),
                income: Money::ZERO,
                expenses: Money::ZERO,
                net: Money::ZERO,
                count: 0,
            });
            groups.len() - 1
        });
        let g = &mut groups[at];
        g.income = g.income.checked_add(i)?;
        g.expenses = g.expenses.checked_add(e)?;
        g.net = g.income.checked_sub(g.expenses)?;
        g.count += part.count;
        income = income.checked_add(i)?;
        expenses = expenses.checked_add(e)?;
    }
    unconverted.sort();
    // One order on every backend: by key, the group without a key (no merchant) last.
    groups.sort_by(|a, b| (a.key.is_none(), &a.key).cmp(&(b.key.is_none(), &b.key)));
    Ok(Cashflow {
        income,
        expenses,
        net: income.checked_sub(expenses)?,
        groups,
        unconverted_currencies: unconverted,
    })
}

#[cfg(test)]
mod tests;
