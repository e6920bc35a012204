//! A fake Plaid for Nestegg's tests and for running Nestegg by hand without Plaid: it serves
//! the Plaid endpoints Nestegg uses, in the shapes Plaid's OpenAPI description
//! (`2020-09-14.yml`) documents, keeps items with default sandbox data (six accounts,
//! holdings, two years of transactions), and can be scripted from Rust through a
//! [`FakeHandle`] or over HTTP through `/fake/...` routes: new, changed, removed and posted
//! transactions, balances, failures, delays, a mutation during pagination, call counts and
//! signed webhooks.
//!
//! # In a test
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use nestegg_plaid_fake::{FakeConfig, FakePlaid, Failure};
//!
//! let fake = FakePlaid::start(FakeConfig::default()).await?;
//! let url = fake.base_url(); // http://127.0.0.1:<port>: Plaid's base URL for the client
//! let (client_id, secret) = (fake.client_id(), fake.secret());
//! let handle = fake.handle();
//! handle.fail_next("/transactions/sync", 2, Failure::internal());
//! // ... drive the client, then:
//! assert_eq!(handle.calls_to("/transactions/sync"), 3);
//! # Ok(()) }
//! ```
//!
//! # By hand
//!
//! `cargo run -p nestegg-plaid-fake` listens on `PLAID_FAKE_ADDR` (default
//! `127.0.0.1:8099`); see the crate README for the control routes.
//!
//! # Transactions sync
//!
//! Each item keeps an ordered log of updates (added, modified, removed); a cursor is an opaque
//! position in it, and a page is the next `count` updates as they were logged (the fake does
//! not fold several updates of one transaction into one, as Plaid may).

mod data;
mod model;
mod render;
mod server;
mod webhook;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub use data::Rng;
pub use model::{
    Account, Balances, Failure, FakeError, Holding, NewTransaction, Security, Transaction,
    TransactionChange,
};
pub use webhook::{SignedWebhook, Signing, WebhookKind, sha256_hex};

use crate::server::{Shared, State};

/// How to start the fake.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The `PLAID-CLIENT-ID` it accepts.
    pub client_id: String,
    /// The `PLAID-SECRET` it accepts.
    pub secret: String,
    /// Where to listen (`127.0.0.1:0`: any free port).
    pub addr: String,
    /// Where webhooks go when the item has no webhook of its own.
    pub webhook_url: Option<String>,
    /// HTTP worker threads.
    pub workers: usize,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            client_id: "fake-client-id".to_owned(),
            secret: "fake-secret".to_owned(),
            addr: "127.0.0.1:0".to_owned(),
            webhook_url: None,
            workers: 2,
        }
    }
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakePlaid {
    base_url: String,
    handle: FakeHandle,
    server: ServerHandle,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl FakePlaid {
    /// Starts the fake on `config.addr`, on the current Tokio runtime.
    ///
    /// # Errors
    /// When it cannot listen, or cannot make its webhook key.
    pub async fn start(config: FakeConfig) -> std::io::Result<Self> {
        let keys = webhook::Keys::generate().map_err(std::io::Error::other)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            client_id: config.client_id,
            secret: config.secret,
            state: std::sync::Mutex::new(State {
                webhook_url: config.webhook_url,
                ..State::default()
            }),
            keys,
            http,
        });
        let handle = FakeHandle { shared };
        let listener = TcpListener::bind(&config.addr)?;
        let addr = listener.local_addr()?;
        let data = web::Data::new(handle.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .app_data(web::JsonConfig::default().limit(16 * 1024 * 1024))
                .configure(server::control_routes)
                .default_service(web::post().to(server::plaid))
        })
        .workers(config.workers.max(1))
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)?
        .run();
        let server_handle = server.handle();
        let task = tokio::spawn(server);
        Ok(Self {
            base_url: format!("http://{addr}"),
            handle,
            server: server_handle,
            task: Some(task),
        })
    }

    /// Plaid's base URL for the client: `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The client id it accepts.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.handle.shared.client_id
    }

    /// The secret it accepts.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.handle.shared.secret
    }

    /// A handle to script it.
    #[must_use]
    pub fn handle(&self) -> FakeHandle {
        self.handle.clone()
    }

    /// Serves until the server stops.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

impl Drop for FakePlaid {
    fn drop(&mut self) {
        // Sends the stop command now; nobody needs to wait for it to finish.
        drop(self.server.stop(false));
    }
}

impl std::ops::Deref for FakePlaid {
    type Target = FakeHandle;

    fn deref(&self) -> &FakeHandle {
        &self.handle
    }
}

/// Scripts a running fake. Clone it freely.
#[derive(Debug, Clone)]
pub struct FakeHandle {
    shared: Arc<Shared>,
}

impl FakeHandle {
    fn with_item<T>(
        &self,
        item_id: &str,
        f: impl FnOnce(&mut model::Item) -> Result<T, FakeError>,
    ) -> Result<T, FakeError> {
        let mut st = self.shared.lock();
        let item = st
            .items
            .get_mut(item_id)
            .ok_or_else(|| FakeError::NoItem(item_id.to_owned()))?;
        f(item)
    }

    /// Creates an item with the default data at `institution_id`, as if linked and
    /// exchanged: its item id and a working access token.
    #[must_use]
    pub fn create_item(&self, institution_id: &str) -> (String, String) {
        let mut st = self.shared.lock();
        let item_id = server::new_item(
            &mut st,
            institution_id,
            vec!["transactions".to_owned()],
            None,
        );
        let token = server::new_access_token(&mut st, &item_id);
        (item_id, token)
    }

    /// The item's accounts.
    ///
    /// # Errors
    /// [`FakeError::NoItem`].
    pub fn accounts(&self, item_id: &str) -> Result<Vec<Account>, FakeError> {
        self.with_item(item_id, |i| Ok(i.accounts.clone()))
    }

    /// The id of the item's first account of `subtype` (`checking`, `savings`,
    /// `credit card`, `brokerage`, `401k`, `mortgage`).
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::NoAccount`].
    pub fn account_id(&self, item_id: &str, subtype: &str) -> Result<String, FakeError> {
        self.with_item(item_id, |i| {
            i.accounts
                .iter()
                .find(|a| a.subtype.as_deref() == Some(subtype))
                .map(|a| a.account_id.clone())
                .ok_or_else(|| FakeError::NoAccount(subtype.to_owned()))
        })
    }

    /// The item's current transactions (pending ones included), by date then id.
    ///
    /// # Errors
    /// [`FakeError::NoItem`].
    pub fn transactions(&self, item_id: &str) -> Result<Vec<Transaction>, FakeError> {
        self.with_item(item_id, |i| {
            let mut all: Vec<Transaction> = i.current.values().cloned().collect();
            all.sort_by(|a, b| (a.date, &a.transaction_id).cmp(&(b.date, &b.transaction_id)));
            Ok(all)
        })
    }

    /// How many updates the item's sync log holds.
    ///
    /// # Errors
    /// [`FakeError::NoItem`].
    pub fn log_len(&self, item_id: &str) -> Result<usize, FakeError> {
        self.with_item(item_id, |i| Ok(i.log.len()))
    }

    /// Adds `n` generated everyday transactions within the last two years (cheap: 100,000
    /// take well under a second).
    ///
    /// # Errors
    /// [`FakeError::NoItem`].
    pub fn add_generated_transactions(&self, item_id: &str, n: usize) -> Result<usize, FakeError> {
        let today = Utc::now().date_naive();
        self.with_item(item_id, |i| data::generate(i, n, today))
    }

    /// Adds one transaction; its id.
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::NoAccount`], [`FakeError::Duplicate`].
    pub fn add_transaction(&self, item_id: &str, new: NewTransaction) -> Result<String, FakeError> {
        self.with_item(item_id, |i| i.add(new))
    }

    /// Changes a transaction (it appears in `modified`).
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::NoTransaction`].
    pub fn modify_transaction(
        &self,
        item_id: &str,
        transaction_id: &str,
        change: TransactionChange,
    ) -> Result<(), FakeError> {
        self.with_item(item_id, |i| i.modify(transaction_id, change))
    }

    /// Removes a transaction (it appears in `removed`).
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::NoTransaction`].
    pub fn remove_transaction(&self, item_id: &str, transaction_id: &str) -> Result<(), FakeError> {
        self.with_item(item_id, |i| i.remove(transaction_id))
    }

    /// Posts a pending transaction, as Plaid does: the pending one is removed, a new posted
    /// one (with `pending_transaction_id`, and `amount` when given) is added. Its id.
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::NoTransaction`], [`FakeError::NotPending`].
    pub fn post_pending(
        &self,
        item_id: &str,
        pending_id: &str,
        amount: Option<Decimal>,
    ) -> Result<String, FakeError> {
        let today = Utc::now().date_naive();
        self.with_item(item_id, |i| i.post_pending(pending_id, amount, today))
    }

    /// Sets an account's balances (a negative `current` on checking: overdrawn).
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::NoAccount`].
    pub fn set_balances(
        &self,
        item_id: &str,
        account_id: &str,
        balances: Balances,
    ) -> Result<(), FakeError> {
        self.with_item(item_id, |i| i.set_balances(account_id, balances))
    }

    /// Puts the item in (or out of) `ITEM_LOGIN_REQUIRED`: its data endpoints then fail.
    ///
    /// # Errors
    /// [`FakeError::NoItem`].
    pub fn set_login_required(&self, item_id: &str, required: bool) -> Result<(), FakeError> {
        self.with_item(item_id, |i| {
            i.login_required = required;
            Ok(())
        })
    }

    /// The next `times` calls to `endpoint` (a path like `/transactions/sync`) answer
    /// `failure` instead (after the scripted delay, before checking credentials).
    pub fn fail_next(&self, endpoint: &str, times: u32, failure: Failure) {
        let mut st = self.shared.lock();
        let queue = st.script.failures.entry(endpoint.to_owned()).or_default();
        for _ in 0..times {
            queue.push_back(failure.clone());
        }
    }

    /// Forgets the scripted failures.
    pub fn clear_failures(&self) {
        self.shared.lock().script.failures.clear();
    }

    /// `/transactions/sync` answers `TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION` at page
    /// `page` (1-based) of the next pagination, once. A page continues a pagination when its
    /// cursor is the `next_cursor` of a page with `has_more`.
    pub fn fail_sync_at_page(&self, page: u32) {
        self.shared.lock().script.sync_mutation_at_page = Some(page.max(1));
    }

    /// Delays the answers of `endpoint` (`None`: of every Plaid endpoint) by `delay`
    /// (zero: no delay).
    pub fn set_delay(&self, endpoint: Option<&str>, delay: Duration) {
        let mut st = self.shared.lock();
        let key = endpoint.unwrap_or("*").to_owned();
        if delay.is_zero() {
            st.script.delays.remove(&key);
        } else {
            st.script.delays.insert(key, delay);
        }
    }

    /// Calls per Plaid endpoint path (failed ones included; control routes not).
    #[must_use]
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.shared.lock().script.calls.clone()
    }

    /// Calls to one endpoint.
    #[must_use]
    pub fn calls_to(&self, endpoint: &str) -> u64 {
        self.shared
            .lock()
            .script
            .calls
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Sets the counts back to zero.
    pub fn reset_calls(&self) {
        self.shared.lock().script.calls.clear();
    }

    /// Where webhooks go for items without their own webhook URL.
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.lock().webhook_url = url;
    }

    /// The `kid` of the key that signs webhooks (`/webhook_verification_key/get`).
    #[must_use]
    pub fn webhook_key_id(&self) -> String {
        self.shared.keys.kid().to_owned()
    }

    /// The published key as `/webhook_verification_key/get` gives it (`JWKPublicKey`).
    #[must_use]
    pub fn webhook_jwk(&self) -> Value {
        self.shared.keys.jwk()
    }

    /// A webhook of `kind` for the item and its `Plaid-Verification` header, signed as
    /// `signing` says, without sending it.
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::Signing`].
    pub fn webhook(
        &self,
        item_id: &str,
        kind: WebhookKind,
        signing: Signing,
    ) -> Result<SignedWebhook, FakeError> {
        self.with_item(item_id, |_| Ok(()))?;
        self.shared.keys.sign(webhook::body(kind, item_id), signing)
    }

    /// Sends a webhook of `kind` to the item's webhook URL (or the fake's): POST, JSON,
    /// `Plaid-Verification` header. The receiver's HTTP status and what was sent.
    ///
    /// # Errors
    /// [`FakeError::NoItem`], [`FakeError::NoWebhookUrl`], [`FakeError::Delivery`].
    pub async fn send_webhook(
        &self,
        item_id: &str,
        kind: WebhookKind,
        signing: Signing,
    ) -> Result<(u16, SignedWebhook), FakeError> {
        let url = {
            let st = self.shared.lock();
            let item = st
                .items
                .get(item_id)
                .ok_or_else(|| FakeError::NoItem(item_id.to_owned()))?;
            item.webhook
                .clone()
                .or_else(|| st.webhook_url.clone())
                .ok_or(FakeError::NoWebhookUrl)?
        };
        let hook = self.webhook(item_id, kind, signing)?;
        let response = self
            .shared
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Plaid-Verification", &hook.plaid_verification)
            .body(hook.body.clone())
            .send()
            .await
            .map_err(|e| FakeError::Delivery(e.to_string()))?;
        Ok((response.status().as_u16(), hook))
    }

    fn items_summary(&self) -> Value {
        let ids: Vec<String> = self.shared.lock().items.keys().cloned().collect();
        Value::Array(
            ids.iter()
                .filter_map(|id| self.item_summary(id).ok())
                .collect(),
        )
    }

    fn item_summary(&self, item_id: &str) -> Result<Value, FakeError> {
        let st = self.shared.lock();
        let item = st
            .items
            .get(item_id)
            .ok_or_else(|| FakeError::NoItem(item_id.to_owned()))?;
        let tokens: Vec<&String> = st
            .access_tokens
            .iter()
            .filter(|(_, id)| *id == item_id)
            .map(|(token, _)| token)
            .collect();
        let pending: Vec<&String> = item
            .current
            .values()
            .filter(|t| t.pending)
            .map(|t| &t.transaction_id)
            .collect();
        Ok(json!({
            "item_id": item.item_id,
            "institution_id": item.institution_id,
            "access_tokens": tokens,
            "login_required": item.login_required,
            "accounts": item.accounts.iter().map(render::account).collect::<Vec<_>>(),
            "transactions": item.current.len(),
            "pending_transaction_ids": pending,
            "sync_log_len": item.log.len(),
        }))
    }
}
