//! The fake's data in Plaid's documented shapes: every required field present, `null` where
//! the spec allows it, amounts as exact JSON numbers.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::model::{Account, Holding, Item, Security, Transaction, number, opt_number};

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `AccountBase` (`InvestmentAccount` adds `balances.margin_loan_amount`).
pub fn account(a: &Account) -> Value {
    let mut balances = json!({
        "available": opt_number(a.balances.available),
        "current": opt_number(a.balances.current),
        "limit": opt_number(a.balances.limit),
        "iso_currency_code": a.currency,
        "unofficial_currency_code": null,
    });
    if a.account_type == "investment"
        && let Some(b) = balances.as_object_mut()
    {
        b.insert("margin_loan_amount".into(), Value::Null);
    }
    json!({
        "account_id": a.account_id,
        "balances": balances,
        "mask": a.mask,
        "name": a.name,
        "official_name": a.official_name,
        "type": a.account_type,
        "subtype": a.subtype,
        "holder_category": "personal",
    })
}

/// `Transaction`.
pub fn transaction(t: &Transaction) -> Value {
    json!({
        "account_id": t.account_id,
        "amount": number(t.amount),
        "iso_currency_code": t.currency,
        "unofficial_currency_code": null,
        "check_number": null,
        "date": date(t.date),
        "location": {
            "address": null, "city": null, "region": null, "postal_code": null,
            "country": null, "lat": null, "lon": null, "store_number": null,
        },
        "name": t.name,
        "merchant_name": t.merchant_name,
        "original_description": null,
        "payment_meta": {
            "reference_number": null, "ppd_id": null, "payee": null, "by_order_of": null,
            "payer": null, "payment_method": null, "payment_processor": null, "reason": null,
        },
        "pending": t.pending,
        "pending_transaction_id": t.pending_transaction_id,
        "account_owner": null,
        "transaction_id": t.transaction_id,
        "logo_url": null,
        "website": null,
        "authorized_date": t.authorized_date.map(date),
        "authorized_datetime": null,
        "datetime": null,
        "payment_channel": t.payment_channel,
        "personal_finance_category": {
            "primary": t.primary,
            "detailed": t.detailed,
            "confidence_level": "VERY_HIGH",
        },
        "transaction_code": null,
        "counterparties": [],
        "merchant_entity_id": null,
    })
}

/// `Item`.
pub fn item(i: &Item) -> Value {
    let error = if i.login_required {
        login_required_error()
    } else {
        Value::Null
    };
    json!({
        "item_id": i.item_id,
        "institution_id": i.institution_id,
        "institution_name": i.institution_name,
        "webhook": i.webhook,
        "auth_method": null,
        "error": error,
        "available_products": ["balance", "identity", "liabilities"],
        "billed_products": i.products,
        "products": i.products,
        "consented_products": i.products,
        "consent_expiration_time": null,
        "update_type": "background",
    })
}

/// The `ITEM_LOGIN_REQUIRED` error object.
pub fn login_required_error() -> Value {
    error_object(
        "ITEM_ERROR",
        "ITEM_LOGIN_REQUIRED",
        "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state",
    )
}

/// Plaid's error object (`PlaidError`).
pub fn error_object(error_type: &str, error_code: &str, message: &str) -> Value {
    json!({
        "error_type": error_type,
        "error_code": error_code,
        "error_code_reason": null,
        "error_message": message,
        "display_message": null,
        "request_id": crate::server::request_id(),
        "causes": [],
        "status": null,
        "documentation_url": format!("https://plaid.com/docs/errors/#{}", error_code.to_lowercase()),
        "suggested_action": null,
    })
}

/// `Security`.
pub fn security(s: &Security) -> Value {
    json!({
        "security_id": s.security_id,
        "isin": null,
        "cusip": null,
        "sedol": null,
        "institution_security_id": null,
        "institution_id": null,
        "proxy_security_id": null,
        "name": s.name,
        "ticker_symbol": s.ticker_symbol,
        "is_cash_equivalent": s.is_cash_equivalent,
        "type": s.security_type,
        "close_price": number(s.close_price),
        "close_price_as_of": date(s.close_price_as_of),
        "update_datetime": null,
        "iso_currency_code": "USD",
        "unofficial_currency_code": null,
        "market_identifier_code": null,
        "sector": null,
        "industry": null,
        "cfi_code": null,
        "option_contract": null,
        "fixed_income": null,
    })
}

/// `Holding`.
pub fn holding(h: &Holding) -> Value {
    json!({
        "account_id": h.account_id,
        "security_id": h.security_id,
        "institution_price": number(h.institution_price),
        "institution_price_as_of": date(h.institution_price_as_of),
        "institution_price_datetime": null,
        "institution_value": number((h.quantity * h.institution_price).round_dp(2)),
        "cost_basis": opt_number(h.cost_basis),
        "quantity": number(h.quantity),
        "iso_currency_code": "USD",
        "unofficial_currency_code": null,
        "vested_quantity": null,
        "vested_value": null,
    })
}
