//! Bank sync through Plaid: linking an item, syncing it (by hand, on a webhook's word, or on a
//! schedule), unlinking it, and re-sealing access tokens under a new key.
//!
//! A sync pulls every `/transactions/sync` page from the saved cursor, then writes accounts,
//! balances, transactions and the new cursor in one database transaction, so replaying a sync
//! or killing the server mid-way never duplicates or loses anything. One sync per item runs at
//! a time, across server instances, under a lease kept in the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

use nestegg_domain::sync::{
    account_type_for, category_for, investment_type_for, merge_holdings, symbol_for,
    transaction_amount,
};
use nestegg_domain::{AccountType, CurrencyCode, Money, Price, SyncStatus};
use nestegg_ports::{
    AccessToken, Cipher, Clock, Conflict, Connection, ConnectionRepository, Holdings,
    HoldingsBatch, LinkToken, Metrics, NewConnection, NoMetrics, Plaid, PlaidAccount, PlaidError,
    PlaidTransaction, RepoError, Sealed, SyncBatch, SyncCounts, SyncOutcome, SyncTrigger,
    SyncedAccount, SyncedHolding, SyncedSecurity, SyncedTransaction,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounts::{not_found, write_time};
use crate::cache::ReportCache;
use crate::error::AppError;

/// How syncs run.
#[derive(Debug, Clone, Copy)]
pub struct SyncSettings {
    /// How long a sync's lease lasts: a crashed holder blocks its item at most this long.
    pub lease: Duration,
    /// How often a sync starts over after `TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION`.
    pub max_restarts: u32,
    /// Updates asked for per `/transactions/sync` page (1 to 500).
    pub page_size: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(300),
            max_restarts: 3,
            page_size: 500,
        }
    }
}

/// What one sync did (the counts are zero when it failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// Accounts created or updated.
    pub accounts: usize,
    /// Transactions added.
    pub transactions_added: usize,
    /// Transactions changed.
    pub transactions_modified: usize,
    /// Transactions removed.
    pub transactions_removed: usize,
    /// Holdings stored.
    pub holdings: usize,
    /// Where the connection stands now.
    pub sync_status: SyncStatus,
    /// Why it failed, or what it skipped.
    pub error_message: Option<String>,
}

/// A webhook Plaid sent, already verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `webhook_type` (`TRANSACTIONS`, `ITEM`, ...).
    pub webhook_type: String,
    /// `webhook_code` (`SYNC_UPDATES_AVAILABLE`, `ERROR`, `PENDING_EXPIRATION`, ...).
    pub webhook_code: String,
    /// The item.
    pub item_id: String,
    /// For `ITEM`/`ERROR`: the error's code.
    pub error_code: Option<String>,
    /// For `PENDING_EXPIRATION`: when access ends.
    pub consent_expiration_time: Option<String>,
}

/// What a key rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rotation {
    /// Tokens sealed again under the current key.
    pub rotated: usize,
    /// Tokens already under it.
    pub current: usize,
    /// Tokens no configured key opens (left as they are).
    pub unreadable: usize,
}

/// What a sync wrote, and what it passed over, in words.
struct Pulled {
    counts: SyncCounts,
    holdings: usize,
    skipped: Vec<String>,
}

/// Why a sync stopped, before it is recorded on the connection.
enum Failure {
    Plaid(PlaidError),
    Store(AppError),
    /// The lease ran out and another sync took over (or applied first): this one steps back
    /// and records nothing, leaving the connection to the sync that holds it.
    Superseded,
}

fn store_failure(e: RepoError) -> Failure {
    match e {
        RepoError::Conflict(Conflict::SyncSuperseded) => Failure::Superseded,
        other => Failure::Store(other.into()),
    }
}

fn in_progress() -> AppError {
    AppError::Conflict {
        code: "sync_in_progress",
        message: "a sync of this connection is running; try again when it ends".into(),
        field: None,
    }
}

/// Bank-sync use cases.
#[allow(missing_debug_implementations)]
pub struct BankSync {
    plaid: Option<Arc<dyn Plaid>>,
    connections: Arc<dyn ConnectionRepository>,
    cipher: Arc<dyn Cipher>,
    cache: ReportCache,
    clock: Arc<dyn Clock>,
    holder: Uuid,
    settings: SyncSettings,
    metrics: Arc<dyn Metrics>,
}

/// Longest description and merchant name stored.
const MAX_DESCRIPTION: usize = 500;
const MAX_NAME: usize = 255;

fn clip(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

impl BankSync {
    /// The use cases; without `plaid` every operation but listing and unlinking answers
    /// [`AppError::Unavailable`] (`plaid_not_configured` at the edge).
    #[must_use]
    pub fn new(
        plaid: Option<Arc<dyn Plaid>>,
        connections: Arc<dyn ConnectionRepository>,
        cipher: Arc<dyn Cipher>,
        cache: ReportCache,
        clock: Arc<dyn Clock>,
        settings: SyncSettings,
    ) -> Self {
        Self {
            plaid,
            connections,
            cipher,
            cache,
            clock,
            // One id per process: its leases are told apart from other instances'.
            holder: Uuid::new_v4(),
            settings,
            metrics: Arc::new(NoMetrics),
        }
    }

    /// The same use cases, counting each sync's outcome and duration in `metrics`.
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// Whether Plaid is configured.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.plaid.is_some()
    }

    fn plaid(&self) -> Result<&Arc<dyn Plaid>, AppError> {
        self.plaid.as_ref().ok_or(AppError::NotConfigured("plaid"))
    }

    /// A link token for Plaid Link, for this user.
    ///
    /// # Errors
    /// [`AppError::NotConfigured`]; Plaid's failures as [`AppError::Upstream`].
    pub async fn link_token(&self, user_id: Uuid) -> Result<LinkToken, AppError> {
        self.plaid()?
            .create_link_token(&user_id.to_string())
            .await
            .map_err(upstream)
    }

    /// Links an item: exchanges the public token, stores the access token sealed, and asks
    /// for a first sync.
    ///
    /// # Errors
    /// [`AppError::Validation`] for an empty token; [`AppError::Conflict`]
    /// (`already_linked`) when the item is linked already; Plaid's failures.
    pub async fn connect(&self, user_id: Uuid, public_token: &str) -> Result<Connection, AppError> {
        let public_token = public_token.trim();
        if public_token.is_empty() {
            return Err(AppError::Validation(
                [("public_token".to_owned(), "must not be empty".to_owned())].into(),
            ));
        }
        let plaid = self.plaid()?;
        let exchanged = plaid
            .exchange_public_token(public_token)
            .await
            .map_err(upstream)?;
        let item = plaid
            .item(&exchanged.access_token)
            .await
            .map_err(upstream)?;
        let id = Uuid::now_v7();
        let sealed = self
            .cipher
            .seal(exchanged.access_token.expose().as_bytes(), id.as_bytes())?;
        let now = self.clock.now();
        let created = self
            .connections
            .create(
                NewConnection {
                    id,
                    user_id,
                    plaid_item_id: exchanged.item_id,
                    access_token: sealed,
                    institution_id: item.institution_id,
                    institution_name: item.institution_name,
                },
                now,
            )
            .await;
        let connection = match created {
            Ok(c) => c,
            Err(RepoError::Conflict(Conflict::PlaidItem)) => {
                return Err(AppError::Conflict {
                    code: "already_linked",
                    message: "this item is linked already".into(),
                    field: Some("public_token"),
                });
            }
            Err(other) => return Err(other.into()),
        };
        self.connections.request_sync(connection.id, now).await?;
        Ok(connection)
    }

    /// The user's connections.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<Connection>, AppError> {
        Ok(self.connections.list(user_id).await?)
    }

    /// One of the user's connections.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn get(&self, user_id: Uuid, id: Uuid) -> Result<Connection, AppError> {
        self.connections
            .get(user_id, id)
            .await
            .map_err(not_found("connection"))
    }

    /// Unlinks: removes the item at Plaid, then the connection; its accounts and their
    /// history stay as manual data. An item Plaid no longer knows is unlinked all the same.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; Plaid's failures (then nothing changes).
    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), AppError> {
        self.get(user_id, id).await?;
        let token = self.token(id).await?;
        match self.plaid()?.remove_item(&token).await {
            Ok(()) | Err(PlaidError::InvalidToken | PlaidError::LoginRequired) => {}
            Err(other) => return Err(upstream(other)),
        }
        let deleted = self
            .connections
            .delete(user_id, id)
            .await
            .map_err(not_found("connection"));
        self.cache.after_write(user_id, deleted).await
    }

    /// Syncs one of the user's connections now.
    ///
    /// # Errors
    /// [`AppError::NotFound`]; [`AppError::Conflict`] (`sync_in_progress`) while another sync
    /// of the item runs. A Plaid failure is not an error here: it is recorded on the
    /// connection and reported in the answer.
    pub async fn sync(&self, user_id: Uuid, id: Uuid) -> Result<SyncReport, AppError> {
        let connection = self.get(user_id, id).await?;
        self.plaid()?;
        self.run(&connection, SyncTrigger::Manual).await
    }

    /// Syncs the connections that are due (asked for by a webhook, or not synced for
    /// `interval`), each on its own: one failing does not stop the others. How many ran.
    ///
    /// # Errors
    /// Store failures while looking for due connections.
    pub async fn sync_due(&self, interval: Duration, limit: u32) -> Result<usize, AppError> {
        self.sync_due_while(interval, limit, &|| true).await
    }

    /// As [`BankSync::sync_due`], asking `keep_going` before each connection: once it says no
    /// (the service is stopping), no further sync starts; the one running is finished.
    ///
    /// # Errors
    /// Store failures while looking for due connections.
    pub async fn sync_due_while(
        &self,
        interval: Duration,
        limit: u32,
        keep_going: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<usize, AppError> {
        if self.plaid.is_none() || !keep_going() {
            return Ok(0);
        }
        let since = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
        let before = self
            .clock
            .now()
            .checked_sub_signed(since)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let due = self.connections.due(before, limit).await?;
        let mut ran = 0;
        for connection in &due {
            if !keep_going() {
                break;
            }
            match self.run(connection, SyncTrigger::Scheduled).await {
                Ok(_) => ran += 1,
                Err(AppError::Conflict { .. }) => {}
                Err(e) => {
                    tracing::warn!(connection = %connection.id, error = %e, "scheduled sync failed")
                }
            }
        }
        Ok(ran)
    }

    /// Acts on a verified webhook. An unknown item is ignored (Plaid retries on anything but
    /// success, and there is nothing to retry).
    ///
    /// # Errors
    /// Store failures.
    pub async fn webhook(&self, hook: &Webhook) -> Result<(), AppError> {
        let Some(connection) = self.connections.by_item(&hook.item_id).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        match (hook.webhook_type.as_str(), hook.webhook_code.as_str()) {
            ("TRANSACTIONS", "SYNC_UPDATES_AVAILABLE") => {
                self.connections.request_sync(connection.id, now).await?;
            }
            ("ITEM", "ERROR") => {
                let code = hook.error_code.as_deref().unwrap_or("ERROR");
                let (status, message) = if code == "ITEM_LOGIN_REQUIRED" {
                    (
                        SyncStatus::LoginRequired,
                        PlaidError::LoginRequired.to_string(),
                    )
                } else {
                    (SyncStatus::Error, format!("Plaid reported {code}"))
                };
                self.connections
                    .set_status(connection.id, status, Some(message), None, now)
                    .await?;
            }
            ("ITEM", "PENDING_EXPIRATION") => {
                let when = hook.consent_expiration_time.as_deref().unwrap_or("soon");
                self.connections
                    .set_status(
                        connection.id,
                        SyncStatus::LoginRequired,
                        Some(format!(
                            "access to the institution expires {when}: sign in again"
                        )),
                        None,
                        now,
                    )
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Seals every access token again under the current key (tokens sealed under an older key
    /// of the ring are opened with it first).
    ///
    /// # Errors
    /// Store failures.
    pub async fn rotate_keys(&self) -> Result<Rotation, AppError> {
        let current = self.cipher.current_key_id();
        let mut done = Rotation::default();
        for (id, sealed) in self.connections.tokens().await? {
            if sealed.key_id == current {
                done.current += 1;
                continue;
            }
            let Ok(plain) = self.cipher.open(&sealed, id.as_bytes()) else {
                done.unreadable += 1;
                continue;
            };
            let fresh = self.cipher.seal(&plain, id.as_bytes())?;
            if self.connections.replace_token(id, sealed, fresh).await? {
                done.rotated += 1;
            }
        }
        Ok(done)
    }

    async fn token(&self, id: Uuid) -> Result<AccessToken, AppError> {
        let secret = self
            .connections
            .secret(id)
            .await
            .map_err(not_found("connection"))?;
        self.open_token(id, &secret.access_token)
    }

    /// A connection's access token, opened with the connection's id as its context (a token
    /// copied from another row does not open).
    fn open_token(&self, id: Uuid, sealed: &Sealed) -> Result<AccessToken, AppError> {
        let plain = self.cipher.open(sealed, id.as_bytes())?;
        let text = String::from_utf8(plain)
            .map_err(|_| AppError::Unexpected(anyhow::anyhow!("access token is not text")))?;
        Ok(AccessToken::new(text))
    }

    /// Runs one sync under the item's lease, records how it ended on the connection, and
    /// counts it.
    async fn run(
        &self,
        connection: &Connection,
        trigger: SyncTrigger,
    ) -> Result<SyncReport, AppError> {
        let started = Instant::now();
        // A scheduled sync takes the lease only if the connection is as it was listed: one
        // synced meanwhile by another instance is no longer due.
        let listed = (trigger == SyncTrigger::Scheduled).then_some(connection.updated_at);
        let (outcome, result) = self.run_leased(connection, listed).await;
        self.metrics
            .sync_finished(trigger, outcome, started.elapsed());
        result
    }

    async fn run_leased(
        &self,
        connection: &Connection,
        listed: Option<DateTime<Utc>>,
    ) -> (SyncOutcome, Result<SyncReport, AppError>) {
        match self.hold(connection.id, listed).await {
            Ok(true) => {}
            Ok(false) => return (SyncOutcome::InProgress, Err(in_progress())),
            Err(e) => return (SyncOutcome::StoreError, Err(e.into())),
        }
        let pulled = self.pull_and_apply(connection).await;
        let mut outcome = match &pulled {
            Ok(_) => SyncOutcome::Ok,
            Err(Failure::Plaid(PlaidError::LoginRequired)) => SyncOutcome::LoginRequired,
            Err(Failure::Plaid(_)) => SyncOutcome::PlaidError,
            Err(Failure::Store(_)) => SyncOutcome::StoreError,
            Err(Failure::Superseded) => SyncOutcome::Superseded,
        };
        let recorded = self.record(connection, pulled).await;
        let released = self.connections.release(connection.id, self.holder).await;
        let result = recorded.and_then(|report| released.map(|()| report).map_err(Into::into));
        if result.is_err() && outcome != SyncOutcome::Superseded {
            // The sync's own end could not be written down (or its lease not given back).
            outcome = SyncOutcome::StoreError;
        }
        (outcome, result)
    }

    /// Takes or renews the connection's lease for this process (taking it only if the
    /// connection still has the `updated_at` it was `listed` with, when given). Whether it
    /// holds it.
    async fn hold(&self, id: Uuid, listed: Option<DateTime<Utc>>) -> Result<bool, RepoError> {
        let now = self.clock.now();
        let until = now
            + chrono::Duration::from_std(self.settings.lease)
                .unwrap_or_else(|_| chrono::Duration::minutes(5));
        self.connections
            .acquire(id, self.holder, now, until, listed)
            .await
    }

    async fn record(
        &self,
        connection: &Connection,
        outcome: Result<Pulled, Failure>,
    ) -> Result<SyncReport, AppError> {
        let now = self.clock.now();
        let mut report = SyncReport {
            accounts: 0,
            transactions_added: 0,
            transactions_modified: 0,
            transactions_removed: 0,
            holdings: 0,
            sync_status: SyncStatus::Ok,
            error_message: None,
        };
        match outcome {
            Ok(Pulled {
                counts,
                holdings,
                skipped,
            }) => {
                report.holdings = holdings;
                report.accounts = counts.accounts;
                report.transactions_added = counts.added;
                report.transactions_modified = counts.modified;
                report.transactions_removed = counts.removed;
                report.error_message = (!skipped.is_empty()).then(|| skipped.join("; "));
                self.cache.invalidate(connection.user_id).await;
            }
            Err(Failure::Plaid(e)) => {
                report.sync_status = if e == PlaidError::LoginRequired {
                    SyncStatus::LoginRequired
                } else {
                    SyncStatus::Error
                };
                report.error_message = Some(e.to_string());
            }
            Err(Failure::Superseded) => return Err(in_progress()),
            Err(Failure::Store(e)) => {
                tracing::error!(connection = %connection.id, error = %e, "sync could not be stored");
                report.sync_status = SyncStatus::Error;
                report.error_message =
                    Some("the sync could not be stored; it will be retried".into());
            }
        }
        let synced_at = (report.sync_status == SyncStatus::Ok).then_some(now);
        self.connections
            .set_status(
                connection.id,
                report.sync_status,
                report.error_message.clone(),
                synced_at,
                now,
            )
            .await?;
        Ok(report)
    }

    /// Pulls accounts and every transaction update since the saved cursor, then applies them
    /// with the new cursor in one write. What it skipped, in words.
    async fn pull_and_apply(&self, connection: &Connection) -> Result<Pulled, Failure> {
        let plaid = self.plaid().map_err(Failure::Store)?;
        let secret = self
            .connections
            .secret(connection.id)
            .await
            .map_err(store_failure)?;
        let token = self
            .open_token(connection.id, &secret.access_token)
            .map_err(Failure::Store)?;
        let mut skipped = Vec::new();
        let reported = plaid.accounts(&token).await.map_err(Failure::Plaid)?;
        let accounts: Vec<SyncedAccount> = reported
            .iter()
            .filter_map(|a| match synced_account(a) {
                Ok(account) => Some(account),
                Err(why) => {
                    skipped.push(format!("account {} skipped: {why}", a.name));
                    None
                }
            })
            .collect();

        let mut restarts = 0;
        let (added, modified, removed, cursor) = loop {
            match self
                .pull_pages(plaid.as_ref(), &token, connection.id, secret.cursor.clone())
                .await
            {
                Err(Failure::Plaid(PlaidError::MutationDuringPagination))
                    if restarts < self.settings.max_restarts =>
                {
                    restarts += 1;
                }
                other => break other?,
            }
        };
        let mut bad = 0usize;
        let mut convert = |list: Vec<PlaidTransaction>| -> Vec<SyncedTransaction> {
            list.into_iter()
                .filter_map(|t| {
                    let converted = synced_transaction(t);
                    bad += usize::from(converted.is_none());
                    converted
                })
                .collect()
        };
        let added = convert(added);
        let modified = convert(modified);
        if bad > 0 {
            skipped.push(format!("{bad} transactions without a valid amount skipped"));
        }
        let batch = SyncBatch {
            connection_id: connection.id,
            user_id: connection.user_id,
            institution_name: connection.institution_name.clone(),
            from_cursor: secret.cursor,
            cursor,
            accounts,
            added,
            modified,
            removed,
        };
        let invests = batch.accounts.iter().any(|a| {
            matches!(
                a.account_type,
                AccountType::Investment | AccountType::Retirement
            )
        });
        let at = write_time(self.clock.as_ref());
        let counts = self
            .connections
            .apply(batch, at)
            .await
            .map_err(store_failure)?;
        let mut holdings = 0;
        if invests {
            // The transactions are stored whatever happens here: holdings are a snapshot the
            // next sync takes again.
            match plaid.holdings(&token).await {
                Ok(reported) => {
                    let batch = holdings_batch(connection.user_id, reported, at.today);
                    holdings = self
                        .connections
                        .apply_holdings(batch, at)
                        .await
                        .map_err(store_failure)?;
                }
                Err(e) => skipped.push(format!("holdings not synced: {e}")),
            }
        }
        Ok(Pulled {
            counts,
            holdings,
            skipped,
        })
    }

    /// Every page from `cursor` until Plaid says there is no more, renewing the lease after
    /// each page so that a long sync keeps it (and stops if it was lost).
    async fn pull_pages(
        &self,
        plaid: &dyn Plaid,
        token: &AccessToken,
        id: Uuid,
        mut cursor: Option<String>,
    ) -> Result<Pages, Failure> {
        let (mut added, mut modified, mut removed) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            let page = plaid
                .transactions_sync(token, cursor.clone(), self.settings.page_size)
                .await
                .map_err(Failure::Plaid)?;
            added.extend(page.added);
            modified.extend(page.modified);
            removed.extend(page.removed.into_iter().map(|r| r.transaction_id));
            if !self.hold(id, None).await.map_err(store_failure)? {
                return Err(Failure::Superseded);
            }
            if !page.has_more {
                return Ok((added, modified, removed, page.next_cursor));
            }
            cursor = Some(page.next_cursor);
        }
    }
}

/// Every page's added, modified and removed transactions, and the cursor after the last.
type Pages = (
    Vec<PlaidTransaction>,
    Vec<PlaidTransaction>,
    Vec<String>,
    String,
);

/// A Plaid failure as the client should hear it.
fn upstream(e: PlaidError) -> AppError {
    match e {
        PlaidError::RateLimited { retry_after } => AppError::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(30)),
        },
        PlaidError::Unavailable(why) => AppError::Unavailable(format!("Plaid: {why}")),
        PlaidError::InvalidToken => AppError::Rule {
            code: "plaid_invalid_token",
            message: e.to_string(),
        },
        PlaidError::LoginRequired => AppError::Rule {
            code: "login_required",
            message: e.to_string(),
        },
        other => AppError::Rule {
            code: "plaid_error",
            message: other.to_string(),
        },
    }
}

/// An institution's account in our terms; why not, when it cannot be stored.
///
/// # Errors
/// A sentence saying why the account cannot be stored (no ISO currency, no balance, a figure
/// out of range).
pub fn synced_account(a: &PlaidAccount) -> Result<SyncedAccount, String> {
    let currency = match a.currency.as_deref() {
        Some(code) => CurrencyCode::parse(code).map_err(|e| e.to_string())?,
        None => return Err("no ISO 4217 currency".into()),
    };
    let balance = a
        .current
        .or(a.available)
        .ok_or_else(|| "no balance reported".to_owned())?;
    let balance = Money::new(balance).map_err(|e| e.to_string())?;
    let available = a.available.and_then(|v| Money::new(v).ok());
    let name = clip(&a.name, MAX_NAME);
    Ok(SyncedAccount {
        plaid_account_id: a.account_id.clone(),
        name: if name.is_empty() {
            "Account".into()
        } else {
            name
        },
        account_type: account_type_for(&a.account_type, a.subtype.as_deref()),
        balance,
        available_balance: available,
        currency,
    })
}

/// A security's holdings across accounts: (units, cost basis) each, the institution's price and
/// its day.
type Lots = (Vec<(Decimal, Option<Decimal>)>, Decimal, NaiveDate);

/// An institution's holdings in our terms: one position per security, merged across accounts
/// at the institution's price; securities without a usable price are left out.
fn holdings_batch(user_id: Uuid, reported: Holdings, today: NaiveDate) -> HoldingsBatch {
    let mut lots: BTreeMap<String, Lots> = BTreeMap::new();
    for h in reported.holdings {
        let entry = lots.entry(h.security_id).or_insert_with(|| {
            (
                Vec::new(),
                h.institution_price,
                h.institution_price_as_of.unwrap_or(today),
            )
        });
        entry.0.push((h.quantity, h.cost_basis));
    }
    let mut holdings = Vec::new();
    for (security_id, (lots, price, price_date)) in lots {
        let (Ok(price_value), Ok(Some(position))) =
            (Price::new(price), merge_holdings(&lots, price))
        else {
            continue;
        };
        holdings.push(SyncedHolding {
            plaid_security_id: security_id,
            position,
            price: price_value,
            price_date: price_date.min(today),
        });
    }
    let securities = reported
        .securities
        .into_iter()
        .filter(|s| {
            holdings
                .iter()
                .any(|h| h.plaid_security_id == s.security_id)
        })
        .filter_map(|s| {
            let name = clip(
                s.name
                    .as_deref()
                    .or(s.ticker_symbol.as_deref())
                    .unwrap_or("Security"),
                MAX_NAME,
            );
            Some(SyncedSecurity {
                symbol: symbol_for(s.ticker_symbol.as_deref(), &name).ok()?,
                investment_type: investment_type_for(s.security_type.as_deref()),
                plaid_security_id: s.security_id,
                name,
            })
        })
        .collect();
    HoldingsBatch {
        user_id,
        securities,
        holdings,
    }
}

/// An institution's transaction in our terms (sign flipped); `None` when its amount is not a
/// storable, non-zero amount.
#[must_use]
pub fn synced_transaction(t: PlaidTransaction) -> Option<SyncedTransaction> {
    let amount = transaction_amount(t.amount).ok()?;
    let description = t
        .name
        .as_deref()
        .or(t.merchant_name.as_deref())
        .map(|d| clip(d, MAX_DESCRIPTION))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "Transaction".into());
    Some(SyncedTransaction {
        plaid_transaction_id: t.transaction_id,
        plaid_account_id: t.account_id,
        amount,
        date: t.date,
        description,
        merchant_name: t.merchant_name.map(|m| clip(&m, MAX_NAME)),
        category: category_for(t.category.as_deref()),
        is_pending: t.pending,
        pending_transaction_id: t.pending_transaction_id,
    })
}

#[cfg(test)]
mod tests;
