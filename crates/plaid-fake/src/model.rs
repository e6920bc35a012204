//! The fake's data: items, their accounts, holdings and the ordered log of transaction
//! updates that `/transactions/sync` pages through, and the scripted failures.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

use crate::data::Rng;

/// An account's balances (`AccountBalance`). For credit and loan accounts `current` is what
/// is owed; a negative `current` on checking is an overdraft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Balances {
    /// `available`.
    #[serde(
        default,
        deserialize_with = "opt_decimal",
        serialize_with = "ser_opt_decimal"
    )]
    pub available: Option<Decimal>,
    /// `current`.
    #[serde(
        default,
        deserialize_with = "opt_decimal",
        serialize_with = "ser_opt_decimal"
    )]
    pub current: Option<Decimal>,
    /// `limit`.
    #[serde(
        default,
        deserialize_with = "opt_decimal",
        serialize_with = "ser_opt_decimal"
    )]
    pub limit: Option<Decimal>,
}

/// An account (`AccountBase`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Plaid's account id.
    pub account_id: String,
    /// `name`.
    pub name: String,
    /// `official_name`.
    pub official_name: Option<String>,
    /// `mask`.
    pub mask: Option<String>,
    /// `type`: `depository`, `credit`, `loan`, `investment`.
    #[serde(rename = "type")]
    pub account_type: String,
    /// `subtype`: `checking`, `savings`, `credit card`, `brokerage`, `401k`, `mortgage`, ...
    pub subtype: Option<String>,
    /// The balances.
    pub balances: Balances,
    /// `iso_currency_code`.
    pub currency: String,
}

/// A security (`Security`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// `security_id`.
    pub security_id: String,
    /// `name`.
    pub name: String,
    /// `ticker_symbol`.
    pub ticker_symbol: Option<String>,
    /// `type`: `equity`, `etf`, `mutual fund`, `cash`.
    pub security_type: String,
    /// `is_cash_equivalent`.
    pub is_cash_equivalent: bool,
    /// `close_price`.
    pub close_price: Decimal,
    /// `close_price_as_of`.
    pub close_price_as_of: NaiveDate,
}

/// A holding (`Holding`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// `account_id`.
    pub account_id: String,
    /// `security_id`.
    pub security_id: String,
    /// `quantity`.
    pub quantity: Decimal,
    /// `institution_price`.
    pub institution_price: Decimal,
    /// `institution_price_as_of`.
    pub institution_price_as_of: NaiveDate,
    /// `cost_basis`.
    pub cost_basis: Option<Decimal>,
}

/// A transaction as the fake keeps it (`Transaction`). `amount` is positive for money out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    /// `transaction_id`.
    pub transaction_id: String,
    /// `account_id`.
    pub account_id: String,
    /// `amount`: positive is money out of the account.
    #[serde(serialize_with = "ser_decimal")]
    pub amount: Decimal,
    /// `iso_currency_code`.
    pub currency: String,
    /// `date`: posted date (or the pending date).
    pub date: NaiveDate,
    /// `authorized_date`.
    pub authorized_date: Option<NaiveDate>,
    /// `name`.
    pub name: String,
    /// `merchant_name`.
    pub merchant_name: Option<String>,
    /// `pending`.
    pub pending: bool,
    /// `pending_transaction_id`.
    pub pending_transaction_id: Option<String>,
    /// `personal_finance_category.primary`.
    pub primary: String,
    /// `personal_finance_category.detailed`.
    pub detailed: String,
    /// `payment_channel`: `online`, `in store`, `other`.
    pub payment_channel: String,
}

/// A transaction to add by hand.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NewTransaction {
    /// The account.
    pub account_id: String,
    /// Positive is money out. JSON: a number (read exactly) or a string.
    #[serde(deserialize_with = "decimal")]
    pub amount: Decimal,
    /// The date.
    pub date: NaiveDate,
    /// The description.
    pub name: String,
    /// The merchant.
    #[serde(default)]
    pub merchant_name: Option<String>,
    /// Whether it is pending.
    #[serde(default)]
    pub pending: bool,
    /// `personal_finance_category.primary` (default `GENERAL_MERCHANDISE`).
    #[serde(default)]
    pub category: Option<String>,
    /// `personal_finance_category.detailed` (default `<primary>_OTHER...`).
    #[serde(default)]
    pub detailed: Option<String>,
    /// A chosen id (default: a new one).
    #[serde(default)]
    pub transaction_id: Option<String>,
}

impl NewTransaction {
    /// A posted transaction of `amount` on `date`, categorised `GENERAL_MERCHANDISE`.
    #[must_use]
    pub fn new(
        account_id: impl Into<String>,
        amount: Decimal,
        date: NaiveDate,
        name: impl Into<String>,
    ) -> Self {
        Self {
            account_id: account_id.into(),
            amount,
            date,
            name: name.into(),
            merchant_name: None,
            pending: false,
            category: None,
            detailed: None,
            transaction_id: None,
        }
    }

    /// The same, pending.
    #[must_use]
    pub fn pending(mut self) -> Self {
        self.pending = true;
        self
    }

    /// The same, with a category (`primary`, e.g. `FOOD_AND_DRINK`).
    #[must_use]
    pub fn category(mut self, primary: impl Into<String>) -> Self {
        self.category = Some(primary.into());
        self
    }
}

/// Changes to a transaction; the fields given replace the old ones.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct TransactionChange {
    /// A new amount.
    #[serde(default, deserialize_with = "opt_decimal")]
    pub amount: Option<Decimal>,
    /// A new date.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// A new description.
    #[serde(default)]
    pub name: Option<String>,
    /// A new merchant.
    #[serde(default)]
    pub merchant_name: Option<String>,
    /// A new primary category.
    #[serde(default)]
    pub category: Option<String>,
}

/// One entry of an item's update log.
#[derive(Debug, Clone)]
pub enum Update {
    /// A transaction appeared (its state then).
    Added(Transaction),
    /// A transaction changed (its new state).
    Modified(Transaction),
    /// A transaction went away.
    Removed {
        /// Its id.
        transaction_id: String,
        /// Its account.
        account_id: String,
    },
}

/// What the fake answers instead of the real thing, for the next calls to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The HTTP status.
    pub status: u16,
    /// Plaid's `error_type`.
    pub error_type: String,
    /// Plaid's `error_code`.
    pub error_code: String,
    /// A `Retry-After` header, in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

impl Failure {
    /// Any Plaid error.
    #[must_use]
    pub fn new(status: u16, error_type: &str, error_code: &str) -> Self {
        Self {
            status,
            error_type: error_type.to_owned(),
            error_code: error_code.to_owned(),
            retry_after: None,
        }
    }

    /// HTTP 429 `RATE_LIMIT_EXCEEDED`/`RATE_LIMIT`, with `Retry-After` when given.
    #[must_use]
    pub fn rate_limited(retry_after: Option<u64>) -> Self {
        Self {
            retry_after,
            ..Self::new(429, "RATE_LIMIT_EXCEEDED", "RATE_LIMIT")
        }
    }

    /// HTTP 500 `API_ERROR`/`INTERNAL_SERVER_ERROR`.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(500, "API_ERROR", "INTERNAL_SERVER_ERROR")
    }

    /// HTTP 400 `ITEM_ERROR`/`ITEM_LOGIN_REQUIRED`.
    #[must_use]
    pub fn login_required() -> Self {
        Self::new(400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
    }

    /// HTTP 400 `INSTITUTION_ERROR`/`INSTITUTION_DOWN`.
    #[must_use]
    pub fn institution_down() -> Self {
        Self::new(400, "INSTITUTION_ERROR", "INSTITUTION_DOWN")
    }
}

/// A Plaid item in the fake.
#[derive(Debug)]
pub struct Item {
    pub item_id: String,
    pub institution_id: String,
    pub institution_name: String,
    pub webhook: Option<String>,
    pub products: Vec<String>,
    pub accounts: Vec<Account>,
    pub securities: Vec<Security>,
    pub holdings: Vec<Holding>,
    /// Each transaction's current state, by id.
    pub current: HashMap<String, Transaction>,
    /// The updates, oldest first; a cursor is a position in it.
    pub log: Vec<Update>,
    pub login_required: bool,
    pub rng: Rng,
    pub next_txn: u64,
    /// The cursor that continues the pagination in progress, and its page number.
    pub pagination: Option<(String, u32)>,
}

/// A sync page, before rendering.
#[derive(Debug)]
pub struct SyncResult<'a> {
    pub updates: &'a [Update],
    pub next_cursor: String,
    pub has_more: bool,
}

/// Why an item operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FakeError {
    /// No such item.
    #[error("no item {0}")]
    NoItem(String),
    /// No such account on the item.
    #[error("no account {0}")]
    NoAccount(String),
    /// No such (current) transaction on the item.
    #[error("no transaction {0}")]
    NoTransaction(String),
    /// The transaction id is taken.
    #[error("transaction {0} exists")]
    Duplicate(String),
    /// The transaction is not pending.
    #[error("transaction {0} is not pending")]
    NotPending(String),
    /// The cursor is not one of this item's.
    #[error("invalid cursor")]
    BadCursor,
    /// No webhook URL is configured for the item or the fake.
    #[error("no webhook URL configured")]
    NoWebhookUrl,
    /// Sending the webhook failed.
    #[error("webhook delivery failed: {0}")]
    Delivery(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl Item {
    /// A new transaction id on this item.
    pub fn new_txn_id(&mut self) -> String {
        self.next_txn += 1;
        let short = self.item_id.get(..8).unwrap_or(&self.item_id);
        format!("txn-{short}-{:09}", self.next_txn)
    }

    /// Does the item have this account?
    pub fn account(&self, account_id: &str) -> Result<&Account, FakeError> {
        self.accounts
            .iter()
            .find(|a| a.account_id == account_id)
            .ok_or_else(|| FakeError::NoAccount(account_id.to_owned()))
    }

    /// Appends an added transaction.
    pub fn push_added(&mut self, t: Transaction) {
        self.current.insert(t.transaction_id.clone(), t.clone());
        self.log.push(Update::Added(t));
    }

    /// Adds a transaction described by hand; its id.
    pub fn add(&mut self, new: NewTransaction) -> Result<String, FakeError> {
        let currency = self.account(&new.account_id)?.currency.clone();
        let id = match new.transaction_id {
            Some(id) if self.current.contains_key(&id) => return Err(FakeError::Duplicate(id)),
            Some(id) => id,
            None => self.new_txn_id(),
        };
        let primary = new
            .category
            .unwrap_or_else(|| "GENERAL_MERCHANDISE".to_owned());
        let detailed = new
            .detailed
            .unwrap_or_else(|| format!("{primary}_OTHER_{primary}"));
        self.push_added(Transaction {
            transaction_id: id.clone(),
            account_id: new.account_id,
            amount: new.amount,
            currency,
            date: new.date,
            authorized_date: Some(new.date),
            name: new.name,
            merchant_name: new.merchant_name,
            pending: new.pending,
            pending_transaction_id: None,
            primary,
            detailed,
            payment_channel: "other".to_owned(),
        });
        Ok(id)
    }

    /// Changes a transaction and logs it as modified.
    pub fn modify(&mut self, id: &str, change: TransactionChange) -> Result<(), FakeError> {
        let t = self
            .current
            .get_mut(id)
            .ok_or_else(|| FakeError::NoTransaction(id.to_owned()))?;
        if let Some(amount) = change.amount {
            t.amount = amount;
        }
        if let Some(date) = change.date {
            t.date = date;
        }
        if let Some(name) = change.name {
            t.name = name;
        }
        if change.merchant_name.is_some() {
            t.merchant_name = change.merchant_name;
        }
        if let Some(primary) = change.category {
            t.detailed = format!("{primary}_OTHER_{primary}");
            t.primary = primary;
        }
        let t = t.clone();
        self.log.push(Update::Modified(t));
        Ok(())
    }

    /// Removes a transaction and logs it.
    pub fn remove(&mut self, id: &str) -> Result<(), FakeError> {
        let t = self
            .current
            .remove(id)
            .ok_or_else(|| FakeError::NoTransaction(id.to_owned()))?;
        self.log.push(Update::Removed {
            transaction_id: t.transaction_id,
            account_id: t.account_id,
        });
        Ok(())
    }

    /// Posts a pending transaction as Plaid does: the pending one is removed and a new posted
    /// one, pointing at it through `pending_transaction_id`, is added. Its id.
    pub fn post_pending(
        &mut self,
        pending_id: &str,
        amount: Option<Decimal>,
        posted_on: NaiveDate,
    ) -> Result<String, FakeError> {
        let pending = self
            .current
            .get(pending_id)
            .cloned()
            .ok_or_else(|| FakeError::NoTransaction(pending_id.to_owned()))?;
        if !pending.pending {
            return Err(FakeError::NotPending(pending_id.to_owned()));
        }
        let id = self.new_txn_id();
        self.remove(pending_id)?;
        self.push_added(Transaction {
            transaction_id: id.clone(),
            amount: amount.unwrap_or(pending.amount),
            date: posted_on.max(pending.date),
            authorized_date: Some(pending.date),
            pending: false,
            pending_transaction_id: Some(pending.transaction_id.clone()),
            ..pending
        });
        Ok(id)
    }

    /// Sets an account's balances.
    pub fn set_balances(&mut self, account_id: &str, balances: Balances) -> Result<(), FakeError> {
        let account = self
            .accounts
            .iter_mut()
            .find(|a| a.account_id == account_id)
            .ok_or_else(|| FakeError::NoAccount(account_id.to_owned()))?;
        account.balances = balances;
        Ok(())
    }

    /// The cursor for a log position.
    pub fn cursor(&self, position: usize) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{position}", self.item_id))
    }

    /// The log position a cursor stands for (`None` or empty: the beginning; `now`: the end).
    pub fn position(&self, cursor: Option<&str>) -> Result<usize, FakeError> {
        match cursor {
            None | Some("") => Ok(0),
            Some("now") => Ok(self.log.len()),
            Some(c) => {
                let raw = URL_SAFE_NO_PAD
                    .decode(c)
                    .map_err(|_| FakeError::BadCursor)?;
                let text = String::from_utf8(raw).map_err(|_| FakeError::BadCursor)?;
                let (item, pos) = text.rsplit_once(':').ok_or(FakeError::BadCursor)?;
                let pos: usize = pos.parse().map_err(|_| FakeError::BadCursor)?;
                if item != self.item_id || pos > self.log.len() {
                    return Err(FakeError::BadCursor);
                }
                Ok(pos)
            }
        }
    }

    /// The page of at most `count` updates after `cursor`.
    pub fn sync(&self, cursor: Option<&str>, count: usize) -> Result<SyncResult<'_>, FakeError> {
        let start = self.position(cursor)?;
        let end = start.saturating_add(count).min(self.log.len());
        Ok(SyncResult {
            updates: self.log.get(start..end).unwrap_or_default(),
            next_cursor: self.cursor(end),
            has_more: end < self.log.len(),
        })
    }

    /// Which page of the pagination in progress a request with `cursor` is (1: a new one).
    pub fn page_number(&self, cursor: Option<&str>) -> u32 {
        match (&self.pagination, cursor) {
            (Some((expected, page)), Some(c)) if expected == c => page + 1,
            _ => 1,
        }
    }
}

/// Scripted behaviour and counters shared by all endpoints.
#[derive(Debug, Default)]
pub struct Script {
    /// Failures to answer next, per endpoint path.
    pub failures: HashMap<String, VecDeque<Failure>>,
    /// `/transactions/sync` fails with a mutation error at this page of the next pagination.
    pub sync_mutation_at_page: Option<u32>,
    /// Delays per endpoint path (`*`: every endpoint).
    pub delays: HashMap<String, Duration>,
    /// Calls per endpoint path.
    pub calls: BTreeMap<String, u64>,
}

impl Script {
    /// The delay for `path`.
    pub fn delay(&self, path: &str) -> Option<Duration> {
        self.delays
            .get(path)
            .or_else(|| self.delays.get("*"))
            .copied()
    }
}

fn decimal_from(v: serde_json::Value) -> Result<Decimal, String> {
    let text = match &v {
        serde_json::Value::Number(n) => n.as_str().to_owned(),
        serde_json::Value::String(s) => s.trim().to_owned(),
        other => return Err(format!("expected a number, got {other}")),
    };
    Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| format!("{text} is not a decimal: {e}"))
}

fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    decimal_from(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

pub(crate) fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        v => decimal_from(v).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A decimal as an exact JSON number (its text).
pub fn number(d: Decimal) -> serde_json::Value {
    d.to_string()
        .parse::<serde_json::Number>()
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// An optional decimal as an exact JSON number or `null`.
pub fn opt_number(d: Option<Decimal>) -> serde_json::Value {
    d.map_or(serde_json::Value::Null, number)
}

fn ser_decimal<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    number(*d).serialize(s)
}

fn ser_opt_decimal<S: serde::Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    opt_number(*d).serialize(s)
}
