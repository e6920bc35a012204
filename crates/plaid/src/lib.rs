//! Nestegg's Plaid adapter: [`PlaidClient`] implements the [`nestegg_ports::Plaid`] port over
//! Plaid's HTTP API. It sends the client id and secret in the `PLAID-CLIENT-ID` and
//! `PLAID-SECRET` headers, bounds every attempt with a timeout, retries HTTP 429 and 5xx
//! answers (and, for reads, timeouts and broken connections) with exponential backoff and
//! jitter, honouring `Retry-After` within a total budget, and turns Plaid's error object into
//! [`nestegg_ports::PlaidError`]. Amounts, which Plaid sends as JSON numbers, are read exactly
//! from their text into `Decimal`, never through `f64`.
//!
//! The logs name the endpoint, the HTTP status, Plaid's `request_id` and the attempt; they
//! never carry the secret, access tokens or public tokens, and neither does `Debug`.
//!
//! Reading the environment (`PLAID_ENV`, `PLAID_BASE_URL`, ...) is the app's job; it builds a
//! [`PlaidConfig`] from them, with [`PlaidEnv`] parsing `PLAID_ENV`.

mod client;
mod config;
mod wire;

pub use client::{BuildError, PlaidClient};
pub use config::{PlaidConfig, PlaidEnv, PlaidSecret, UnknownPlaidEnv};
pub use wire::{BadNumber, decimal};
