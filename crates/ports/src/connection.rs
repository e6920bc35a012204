//! Linked bank connections (Plaid items), what a sync writes, and their repository.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use nestegg_domain::portfolio::Position;
use nestegg_domain::{
    AccountType, CurrencyCode, InvestmentType, Money, Price, Symbol, SyncStatus,
    TransactionCategory,
};
use uuid::Uuid;

use crate::account::WriteTime;
use crate::error::RepoError;
use crate::security::Sealed;

/// A stored connection. Its access token is never part of it: see
/// [`ConnectionRepository::secret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Opaque id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Plaid's item id.
    pub plaid_item_id: String,
    /// The institution's Plaid id.
    pub institution_id: Option<String>,
    /// The institution's name.
    pub institution_name: Option<String>,
    /// Linked (a removed item's row is deleted, so this stays true).
    pub is_active: bool,
    /// Where its sync stands.
    pub sync_status: SyncStatus,
    /// When it last synced successfully.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Why the last sync failed, or what it skipped.
    pub error_message: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A connection to store, its access token already encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    /// Id chosen by the caller (the token's associated data, so it is known before sealing).
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Plaid's item id.
    pub plaid_item_id: String,
    /// The sealed access token.
    pub access_token: Sealed,
    /// The institution's Plaid id.
    pub institution_id: Option<String>,
    /// The institution's name.
    pub institution_name: Option<String>,
}

/// What a sync needs of a connection beyond its public face: its sealed token and cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSecret {
    /// The sealed access token.
    pub access_token: Sealed,
    /// The `/transactions/sync` cursor saved by the last applied sync.
    pub cursor: Option<String>,
}

/// An account as the institution reports it, already in Nestegg's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedAccount {
    /// Plaid's account id.
    pub plaid_account_id: String,
    /// Name.
    pub name: String,
    /// Type (mapped from the institution's kind).
    pub account_type: AccountType,
    /// The institution's balance (for a liability, what is owed), whatever its sign.
    pub balance: Money,
    /// Available balance.
    pub available_balance: Option<Money>,
    /// Currency.
    pub currency: CurrencyCode,
}

/// A transaction as the institution reports it, already in Nestegg's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedTransaction {
    /// Plaid's transaction id.
    pub plaid_transaction_id: String,
    /// Plaid's account id.
    pub plaid_account_id: String,
    /// Positive is money in (Plaid's sign flipped); never zero.
    pub amount: Money,
    /// Its date.
    pub date: NaiveDate,
    /// Description.
    pub description: String,
    /// Merchant.
    pub merchant_name: Option<String>,
    /// Category (mapped).
    pub category: TransactionCategory,
    /// Not yet posted.
    pub is_pending: bool,
    /// For a posted transaction, the pending one it replaces: that row becomes this one,
    /// keeping the user's edits and its history.
    pub pending_transaction_id: Option<String>,
}

/// Everything one sync writes, applied in one database transaction with the new cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncBatch {
    /// The connection.
    pub connection_id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// The institution's name, for new accounts.
    pub institution_name: Option<String>,
    /// The saved cursor the pages were read from: the batch applies only while it is still
    /// the saved one, so a late, superseded sync cannot move the cursor back.
    pub from_cursor: Option<String>,
    /// The cursor to save: the next sync starts after it.
    pub cursor: String,
    /// Accounts to create or update (matched by Plaid account id).
    pub accounts: Vec<SyncedAccount>,
    /// New transactions.
    pub added: Vec<SyncedTransaction>,
    /// Changed transactions.
    pub modified: Vec<SyncedTransaction>,
    /// Plaid ids of removed transactions.
    pub removed: Vec<String>,
}

/// What applying a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncCounts {
    /// Accounts created or updated.
    pub accounts: usize,
    /// Transactions inserted (a pending one replaced by its posted one counts here too).
    pub added: usize,
    /// Transactions changed.
    pub modified: usize,
    /// Transactions deleted.
    pub removed: usize,
}

/// A security an institution reports, in Nestegg's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedSecurity {
    /// Plaid's security id: how it is found again.
    pub plaid_security_id: String,
    /// Ticker (or a symbol made from its name).
    pub symbol: Symbol,
    /// Name.
    pub name: String,
    /// Type (mapped).
    pub investment_type: InvestmentType,
}

/// One security held through the connection, merged across its accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedHolding {
    /// Plaid's security id.
    pub plaid_security_id: String,
    /// Units and average cost.
    pub position: Position,
    /// The institution's price.
    pub price: Price,
    /// The day of that price.
    pub price_date: NaiveDate,
}

/// An institution's holdings, written in one transaction into the user's "Plaid" portfolio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldingsBatch {
    /// The owner.
    pub user_id: Uuid,
    /// The securities the holdings refer to.
    pub securities: Vec<SyncedSecurity>,
    /// The holdings, one per security.
    pub holdings: Vec<SyncedHolding>,
}

/// Where connections are kept. Methods taking `user_id` are scoped to it: another user's
/// connection is [`RepoError::NotFound`].
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ConnectionRepository: Send + Sync {
    /// Stores a new connection (status `pending`).
    ///
    /// # Errors
    /// [`RepoError::Conflict`] ([`crate::Conflict::PlaidItem`]) when the item is linked already.
    async fn create(&self, new: NewConnection, now: DateTime<Utc>)
    -> Result<Connection, RepoError>;

    /// The user's connections, oldest first.
    ///
    /// # Errors
    /// Store failures.
    async fn list(&self, user_id: Uuid) -> Result<Vec<Connection>, RepoError>;

    /// One of the user's connections.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Connection, RepoError>;

    /// The connection of a Plaid item, whoever owns it (for webhooks).
    ///
    /// # Errors
    /// Store failures.
    async fn by_item(&self, plaid_item_id: &str) -> Result<Option<Connection>, RepoError>;

    /// The sealed token and saved cursor of a connection.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn secret(&self, id: Uuid) -> Result<ConnectionSecret, RepoError>;

    /// Takes the connection's sync lease for `holder` until `until`, unless another holder's
    /// lease runs past `now`, or (with `listed`, the `updated_at` it had when listed as due)
    /// the connection changed since it was listed: a sync that ran meanwhile (on another
    /// instance) changed it, and the connection is then no longer due. Whether it was taken.
    ///
    /// # Errors
    /// Store failures.
    async fn acquire(
        &self,
        id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        listed: Option<DateTime<Utc>>,
    ) -> Result<bool, RepoError>;

    /// Gives the lease back (a no-op unless `holder` holds it).
    ///
    /// # Errors
    /// Store failures.
    async fn release(&self, id: Uuid, holder: Uuid) -> Result<(), RepoError>;

    /// Records where the sync stands: the status, the message (cleared by `None`) and, after a
    /// successful sync, its time.
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn set_status(
        &self,
        id: Uuid,
        status: SyncStatus,
        error_message: Option<String>,
        synced_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError>;

    /// Asks for a sync of the connection soon (a webhook said there is news).
    ///
    /// # Errors
    /// Store failures.
    async fn request_sync(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError>;

    /// Connections due for a sync: asked for by a webhook, or not synced since `before`;
    /// never those waiting for the user to sign in again. At most `limit`, longest waiting
    /// first.
    ///
    /// # Errors
    /// Store failures.
    async fn due(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Connection>, RepoError>;

    /// Applies a sync in one database transaction: accounts upserted by Plaid id (a new one's
    /// opening balance derived so that its posted transactions lead to the institution's
    /// balance; a later difference recorded as an adjustment dated `at.today`), transactions
    /// added, changed and removed, and the cursor saved. A transaction stored already is
    /// matched by its Plaid id, never stored twice.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] ([`crate::Conflict::SyncSuperseded`]) when the saved cursor is
    /// no longer `from_cursor`; store failures. Nothing is written then.
    async fn apply(&self, batch: SyncBatch, at: WriteTime) -> Result<SyncCounts, RepoError>;

    /// Writes holdings in one transaction: securities matched by Plaid security id, else by
    /// ticker among shared securities, else created as shared ones; each holding's price added
    /// to its security's price history (revaluing every portfolio that holds it when it is the
    /// latest); one item per security in the user's "Plaid" portfolio (created when missing),
    /// and items of securities no longer held removed. How many items it holds.
    ///
    /// # Errors
    /// Store failures; nothing is written then.
    async fn apply_holdings(&self, batch: HoldingsBatch, at: WriteTime)
    -> Result<usize, RepoError>;

    /// Removes the connection in one transaction; its accounts and their history stay as
    /// manual accounts (their transactions lose their Plaid ids and become editable).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), RepoError>;

    /// Every connection's sealed token, for re-encryption under a new key.
    ///
    /// # Errors
    /// Store failures.
    async fn tokens(&self) -> Result<Vec<(Uuid, Sealed)>, RepoError>;

    /// Replaces a connection's sealed token if it is still `old`. Whether it was replaced.
    ///
    /// # Errors
    /// Store failures.
    async fn replace_token(&self, id: Uuid, old: Sealed, new: Sealed) -> Result<bool, RepoError>;
}
