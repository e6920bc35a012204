//! Plaid's request and response bodies, as the OpenAPI description (`2020-09-14.yml`) names
//! them, and their translation into the port's types. Money arrives as JSON numbers and is
//! read from the number's text, never through `f64`.

use chrono::{DateTime, NaiveDate, Utc};
use nestegg_ports::plaid::{
    Holdings, LinkToken, PlaidAccount, PlaidHolding, PlaidItem, PlaidSecurity, PlaidTransaction,
    RemovedTransaction, SyncPage, WebhookKey,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Number;

/// A JSON number that is not a decimal we can hold exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the number {0} is not an exact decimal")]
pub struct BadNumber(pub String);

/// Reads a JSON number exactly, from its text (`arbitrary_precision` keeps it).
///
/// # Errors
/// When the text is no decimal within `Decimal`'s range and precision.
pub fn decimal(n: &Number) -> Result<Decimal, BadNumber> {
    let text = n.as_str();
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| BadNumber(text.to_owned()))
}

fn opt_decimal(n: Option<&Number>) -> Result<Option<Decimal>, BadNumber> {
    n.map(decimal).transpose()
}

// ----- requests -----

#[derive(Debug, Serialize)]
pub struct LinkTokenCreateRequest<'a> {
    pub client_name: &'a str,
    pub language: &'a str,
    pub country_codes: Vec<&'a str>,
    pub user: LinkTokenCreateRequestUser<'a>,
    pub products: Vec<&'a str>,
    pub optional_products: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct LinkTokenCreateRequestUser<'a> {
    pub client_user_id: &'a str,
}

#[derive(Serialize)]
pub struct PublicTokenRequest<'a> {
    pub public_token: &'a str,
}

#[derive(Serialize)]
pub struct AccessTokenRequest<'a> {
    pub access_token: &'a str,
}

#[derive(Serialize)]
pub struct TransactionsSyncRequest<'a> {
    pub access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<&'a str>,
    pub count: u32,
    pub options: TransactionsSyncRequestOptions,
}

#[derive(Serialize)]
pub struct TransactionsSyncRequestOptions {
    pub include_personal_finance_category: bool,
}

#[derive(Debug, Serialize)]
pub struct WebhookVerificationKeyGetRequest<'a> {
    pub key_id: &'a str,
}

#[derive(Debug, Serialize)]
pub struct SandboxPublicTokenCreateRequest<'a> {
    pub institution_id: &'a str,
    pub initial_products: &'a [String],
}

// ----- responses -----

/// Plaid's error object (`PlaidError`), the fields the client acts on.
#[derive(Debug, Clone, Deserialize)]
pub struct PlaidErrorBody {
    pub error_type: String,
    pub error_code: String,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LinkTokenCreateResponse {
    pub link_token: String,
    pub expiration: DateTime<Utc>,
}

impl From<LinkTokenCreateResponse> for LinkToken {
    fn from(r: LinkTokenCreateResponse) -> Self {
        Self {
            link_token: r.link_token,
            expiration: r.expiration,
        }
    }
}

#[derive(Deserialize)]
pub struct ItemPublicTokenExchangeResponse {
    pub access_token: String,
    pub item_id: String,
}

#[derive(Debug, Deserialize)]
pub struct ItemGetResponse {
    pub item: Item,
}

#[derive(Debug, Deserialize)]
pub struct Item {
    pub item_id: String,
    #[serde(default)]
    pub institution_id: Option<String>,
    #[serde(default)]
    pub institution_name: Option<String>,
}

impl From<Item> for PlaidItem {
    fn from(i: Item) -> Self {
        Self {
            item_id: i.item_id,
            institution_id: i.institution_id,
            institution_name: i.institution_name,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AccountsGetResponse {
    pub accounts: Vec<AccountBase>,
}

#[derive(Debug, Deserialize)]
pub struct AccountBase {
    pub account_id: String,
    pub balances: AccountBalance,
    pub mask: Option<String>,
    pub name: String,
    pub official_name: Option<String>,
    #[serde(rename = "type")]
    pub account_type: String,
    pub subtype: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AccountBalance {
    pub available: Option<Number>,
    pub current: Option<Number>,
    pub iso_currency_code: Option<String>,
    #[serde(default)]
    pub unofficial_currency_code: Option<String>,
}

impl TryFrom<AccountBase> for PlaidAccount {
    type Error = BadNumber;

    fn try_from(a: AccountBase) -> Result<Self, BadNumber> {
        Ok(Self {
            account_id: a.account_id,
            name: a.name,
            official_name: a.official_name,
            mask: a.mask,
            account_type: a.account_type,
            subtype: a.subtype,
            current: opt_decimal(a.balances.current.as_ref())?,
            available: opt_decimal(a.balances.available.as_ref())?,
            currency: a
                .balances
                .iso_currency_code
                .or(a.balances.unofficial_currency_code),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct TransactionsSyncResponse {
    pub added: Vec<Transaction>,
    pub modified: Vec<Transaction>,
    pub removed: Vec<RemovedTransactionBody>,
    pub next_cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
pub struct Transaction {
    pub transaction_id: String,
    pub account_id: String,
    pub amount: Number,
    pub iso_currency_code: Option<String>,
    #[serde(default)]
    pub unofficial_currency_code: Option<String>,
    pub date: NaiveDate,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub merchant_name: Option<String>,
    pub pending: bool,
    #[serde(default)]
    pub pending_transaction_id: Option<String>,
    #[serde(default)]
    pub personal_finance_category: Option<PersonalFinanceCategory>,
}

#[derive(Debug, Deserialize)]
pub struct PersonalFinanceCategory {
    pub primary: String,
}

impl TryFrom<Transaction> for PlaidTransaction {
    type Error = BadNumber;

    fn try_from(t: Transaction) -> Result<Self, BadNumber> {
        Ok(Self {
            amount: decimal(&t.amount)?,
            transaction_id: t.transaction_id,
            account_id: t.account_id,
            currency: t.iso_currency_code.or(t.unofficial_currency_code),
            date: t.date,
            name: t.name,
            merchant_name: t.merchant_name,
            pending: t.pending,
            pending_transaction_id: t.pending_transaction_id,
            category: t.personal_finance_category.map(|c| c.primary),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct RemovedTransactionBody {
    pub transaction_id: String,
    pub account_id: String,
}

impl TryFrom<TransactionsSyncResponse> for SyncPage {
    type Error = BadNumber;

    fn try_from(r: TransactionsSyncResponse) -> Result<Self, BadNumber> {
        Ok(Self {
            added: r
                .added
                .into_iter()
                .map(PlaidTransaction::try_from)
                .collect::<Result<_, _>>()?,
            modified: r
                .modified
                .into_iter()
                .map(PlaidTransaction::try_from)
                .collect::<Result<_, _>>()?,
            removed: r
                .removed
                .into_iter()
                .map(|x| RemovedTransaction {
                    transaction_id: x.transaction_id,
                    account_id: x.account_id,
                })
                .collect(),
            next_cursor: r.next_cursor,
            has_more: r.has_more,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct InvestmentsHoldingsGetResponse {
    pub accounts: Vec<AccountBase>,
    pub holdings: Vec<Holding>,
    pub securities: Vec<Security>,
}

#[derive(Debug, Deserialize)]
pub struct Holding {
    pub account_id: String,
    pub security_id: String,
    pub institution_price: Number,
    #[serde(default)]
    pub institution_price_as_of: Option<NaiveDate>,
    pub cost_basis: Option<Number>,
    pub quantity: Number,
    pub iso_currency_code: Option<String>,
    #[serde(default)]
    pub unofficial_currency_code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Security {
    pub security_id: String,
    pub name: Option<String>,
    pub ticker_symbol: Option<String>,
    #[serde(rename = "type")]
    pub security_type: Option<String>,
    pub close_price: Option<Number>,
    pub close_price_as_of: Option<NaiveDate>,
    pub iso_currency_code: Option<String>,
    #[serde(default)]
    pub unofficial_currency_code: Option<String>,
}

impl TryFrom<InvestmentsHoldingsGetResponse> for Holdings {
    type Error = BadNumber;

    fn try_from(r: InvestmentsHoldingsGetResponse) -> Result<Self, BadNumber> {
        let accounts = r
            .accounts
            .into_iter()
            .map(PlaidAccount::try_from)
            .collect::<Result<_, _>>()?;
        let holdings = r
            .holdings
            .into_iter()
            .map(|h| {
                Ok(PlaidHolding {
                    institution_price: decimal(&h.institution_price)?,
                    quantity: decimal(&h.quantity)?,
                    cost_basis: opt_decimal(h.cost_basis.as_ref())?,
                    account_id: h.account_id,
                    security_id: h.security_id,
                    institution_price_as_of: h.institution_price_as_of,
                    currency: h.iso_currency_code.or(h.unofficial_currency_code),
                })
            })
            .collect::<Result<_, BadNumber>>()?;
        let securities = r
            .securities
            .into_iter()
            .map(|s| {
                Ok(PlaidSecurity {
                    close_price: opt_decimal(s.close_price.as_ref())?,
                    security_id: s.security_id,
                    name: s.name,
                    ticker_symbol: s.ticker_symbol,
                    security_type: s.security_type,
                    close_price_as_of: s.close_price_as_of,
                    currency: s.iso_currency_code.or(s.unofficial_currency_code),
                })
            })
            .collect::<Result<_, BadNumber>>()?;
        Ok(Self {
            accounts,
            holdings,
            securities,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct WebhookVerificationKeyGetResponse {
    pub key: JwkPublicKey,
}

#[derive(Debug, Deserialize)]
pub struct JwkPublicKey {
    pub alg: String,
    pub crv: String,
    pub kid: String,
    pub kty: String,
    pub x: String,
    pub y: String,
    pub expired_at: Option<i64>,
}

impl From<JwkPublicKey> for WebhookKey {
    fn from(k: JwkPublicKey) -> Self {
        Self {
            kid: k.kid,
            alg: k.alg,
            kty: k.kty,
            crv: k.crv,
            x: k.x,
            y: k.y,
            expired_at: k.expired_at,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SandboxPublicTokenCreateResponse {
    pub public_token: String,
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn number(text: &str) -> Number {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn amounts_are_read_from_the_json_text_exactly() {
        assert_eq!(decimal(&number("0.1")).unwrap().to_string(), "0.1");
        assert_eq!(decimal(&number("1234567.89")).unwrap(), dec("1234567.89"));
        assert_eq!(decimal(&number("-12.30")).unwrap().to_string(), "-12.30");
        assert_eq!(decimal(&number("1e-7")).unwrap(), dec("0.0000001"));
        assert_eq!(decimal(&number("42")).unwrap(), dec("42"));
    }

    #[test]
    fn a_transaction_body_becomes_the_ports_transaction() {
        let body = r#"{"transaction_id":"t1","account_id":"a1","amount":0.1,
            "iso_currency_code":"USD","unofficial_currency_code":null,"date":"2024-02-29",
            "name":"Coffee","merchant_name":null,"pending":false,"pending_transaction_id":null,
            "personal_finance_category":{"primary":"FOOD_AND_DRINK","detailed":"FOOD_AND_DRINK_COFFEE"},
            "authorized_date":null,"authorized_datetime":null,"datetime":null,
            "payment_channel":"in store","transaction_code":null}"#;
        let t: Transaction = serde_json::from_str(body).unwrap();
        let t = PlaidTransaction::try_from(t).unwrap();
        assert_eq!(t.amount.to_string(), "0.1");
        assert_eq!(t.category.as_deref(), Some("FOOD_AND_DRINK"));
        assert_eq!(t.date, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
    }
}
