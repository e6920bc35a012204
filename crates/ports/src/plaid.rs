//! Plaid, as the sync use case needs it: linking an item, reading its accounts, transaction
//! updates and holdings, removing it, and the keys that sign its webhooks.
//!
//! The shapes follow Plaid's published OpenAPI description (`2020-09-14.yml`) but are
//! Nestegg's own: amounts are exact decimals in Plaid's sign (positive is money out of the
//! account), dates are dates, and nothing of the HTTP client shows through.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// An item's access token, in the clear. Never printed: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token.
    #[must_use]
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token, for the one place that sends it to Plaid or encrypts it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

/// Why a Plaid call failed, in the terms the use case acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaidError {
    /// `ITEM_LOGIN_REQUIRED`: the user must sign in at the bank again; the data stays as it is.
    #[error("the institution needs the user to sign in again")]
    LoginRequired,
    /// `RATE_LIMIT_EXCEEDED` (or HTTP 429) after the client's own retries.
    #[error("rate limited by Plaid")]
    RateLimited {
        /// How long Plaid asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// `TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION`: restart from the last saved cursor.
    #[error("transactions changed during pagination")]
    MutationDuringPagination,
    /// The access token (or the client's credentials) was refused.
    #[error("invalid Plaid access token or credentials")]
    InvalidToken,
    /// Plaid or the institution cannot answer now (timeouts, 5xx after retries).
    #[error("Plaid is unavailable: {0}")]
    Unavailable(String),
    /// Any other Plaid error.
    #[error("Plaid error {code}")]
    Other {
        /// Plaid's `error_code`.
        code: String,
        /// Plaid's `request_id`, for support.
        request_id: Option<String>,
    },
}

/// A link token for Plaid Link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken {
    /// The token Link is opened with.
    pub link_token: String,
    /// When it stops working.
    pub expiration: DateTime<Utc>,
}

/// What exchanging a public token gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangedItem {
    /// The item's access token (secret).
    pub access_token: AccessToken,
    /// Plaid's item id.
    pub item_id: String,
}

/// An item's description (`/item/get`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaidItem {
    /// Plaid's item id.
    pub item_id: String,
    /// The institution's Plaid id.
    pub institution_id: Option<String>,
    /// The institution's name, when Plaid gives it.
    pub institution_name: Option<String>,
}

/// An account at the institution, with its balances (`AccountBase`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaidAccount {
    /// Plaid's account id.
    pub account_id: String,
    /// The account's name.
    pub name: String,
    /// The institution's official name.
    pub official_name: Option<String>,
    /// The last digits of the account number.
    pub mask: Option<String>,
    /// Plaid's `type` (`depository`, `credit`, `loan`, `investment`, ...).
    pub account_type: String,
    /// Plaid's `subtype` (`checking`, `401k`, `mortgage`, ...).
    pub subtype: Option<String>,
    /// `balances.current`: for credit and loan accounts, what is owed.
    pub current: Option<Decimal>,
    /// `balances.available`.
    pub available: Option<Decimal>,
    /// `balances.iso_currency_code`.
    pub currency: Option<String>,
}

/// A transaction (`Transaction`). `amount` is Plaid's: positive is money out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaidTransaction {
    /// Plaid's transaction id.
    pub transaction_id: String,
    /// Plaid's account id.
    pub account_id: String,
    /// Positive for money out of the account.
    pub amount: Decimal,
    /// `iso_currency_code`.
    pub currency: Option<String>,
    /// The posted date (or the pending one).
    pub date: NaiveDate,
    /// `name`: the description.
    pub name: Option<String>,
    /// `merchant_name`.
    pub merchant_name: Option<String>,
    /// Whether it is still pending.
    pub pending: bool,
    /// For a posted transaction, the pending one it replaces.
    pub pending_transaction_id: Option<String>,
    /// `personal_finance_category.primary`, e.g. `FOOD_AND_DRINK`.
    pub category: Option<String>,
}

/// A transaction Plaid removed (`RemovedTransaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedTransaction {
    /// Plaid's transaction id.
    pub transaction_id: String,
    /// Plaid's account id.
    pub account_id: String,
}

/// One page of `/transactions/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncPage {
    /// New transactions.
    pub added: Vec<PlaidTransaction>,
    /// Changed transactions.
    pub modified: Vec<PlaidTransaction>,
    /// Removed transactions.
    pub removed: Vec<RemovedTransaction>,
    /// The cursor to ask from next time.
    pub next_cursor: String,
    /// Whether more pages follow now.
    pub has_more: bool,
}

/// A security (`Security`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaidSecurity {
    /// Plaid's security id.
    pub security_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its ticker.
    pub ticker_symbol: Option<String>,
    /// Plaid's `type` (`equity`, `etf`, `mutual fund`, `cash`, ...).
    pub security_type: Option<String>,
    /// The last close price.
    pub close_price: Option<Decimal>,
    /// The day of `close_price`.
    pub close_price_as_of: Option<NaiveDate>,
    /// `iso_currency_code`.
    pub currency: Option<String>,
}

/// A holding (`Holding`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaidHolding {
    /// Plaid's account id.
    pub account_id: String,
    /// Plaid's security id.
    pub security_id: String,
    /// The price the institution reports.
    pub institution_price: Decimal,
    /// The day of that price.
    pub institution_price_as_of: Option<NaiveDate>,
    /// How many units are held.
    pub quantity: Decimal,
    /// What they cost in all, when known.
    pub cost_basis: Option<Decimal>,
    /// `iso_currency_code`.
    pub currency: Option<String>,
}

/// `/investments/holdings/get`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holdings {
    /// The investment accounts.
    pub accounts: Vec<PlaidAccount>,
    /// The holdings.
    pub holdings: Vec<PlaidHolding>,
    /// The securities they refer to.
    pub securities: Vec<PlaidSecurity>,
}

/// A public key that signs webhooks (`JWKPublicKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookKey {
    /// Key id (the JWT's `kid`).
    pub kid: String,
    /// Algorithm (`ES256`).
    pub alg: String,
    /// Key type (`EC`).
    pub kty: String,
    /// Curve (`P-256`).
    pub crv: String,
    /// The x coordinate, base64url.
    pub x: String,
    /// The y coordinate, base64url.
    pub y: String,
    /// When it was retired (seconds since the epoch), if it was.
    pub expired_at: Option<i64>,
}

/// Plaid's API. Implementations time out every call and retry only what is safe to retry.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Plaid: Send + Sync {
    /// `/link/token/create` for one of our users (`client_user_id`).
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn create_link_token(&self, client_user_id: &str) -> Result<LinkToken, PlaidError>;

    /// `/item/public_token/exchange`.
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn exchange_public_token(&self, public_token: &str) -> Result<ExchangedItem, PlaidError>;

    /// `/item/get`.
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn item(&self, token: &AccessToken) -> Result<PlaidItem, PlaidError>;

    /// `/accounts/get`.
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn accounts(&self, token: &AccessToken) -> Result<Vec<PlaidAccount>, PlaidError>;

    /// One page of `/transactions/sync` after `cursor` (`None`: from the beginning), at most
    /// `count` updates (1 to 500).
    ///
    /// # Errors
    /// [`PlaidError`]; [`PlaidError::MutationDuringPagination`] means: start again from the
    /// cursor saved before the first page.
    async fn transactions_sync(
        &self,
        token: &AccessToken,
        cursor: Option<String>,
        count: u32,
    ) -> Result<SyncPage, PlaidError>;

    /// `/investments/holdings/get`.
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn holdings(&self, token: &AccessToken) -> Result<Holdings, PlaidError>;

    /// `/item/remove`.
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn remove_item(&self, token: &AccessToken) -> Result<(), PlaidError>;

    /// `/webhook_verification_key/get`.
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn webhook_verification_key(&self, key_id: &str) -> Result<WebhookKey, PlaidError>;

    /// `/sandbox/public_token/create` (sandbox and the fake only): a public token for a test
    /// institution, as Link would give.
    ///
    /// # Errors
    /// [`PlaidError`].
    async fn sandbox_public_token(
        &self,
        institution_id: &str,
        products: Vec<String>,
    ) -> Result<String, PlaidError>;
}

/// Checks that a webhook came from Plaid: the `Plaid-Verification` JWT is signed by one of
/// Plaid's published keys, recent, and names the exact body received.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WebhookVerifier: Send + Sync {
    /// Whether `body` arrived with a genuine `jwt` at `now`.
    ///
    /// # Errors
    /// [`crate::SecurityError::Invalid`] for anything but a genuine, fresh signature over this
    /// body; [`crate::SecurityError::Unexpected`] when Plaid's keys cannot be fetched.
    async fn verify(
        &self,
        jwt: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), crate::SecurityError>;
}
