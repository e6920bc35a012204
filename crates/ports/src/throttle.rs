//! Rate limiting of failed logins.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One counter: a key (`pair:…`, `addr:203.0.113.7`, `user:…`) and the failures it may have
/// in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    /// What is counted.
    pub key: String,
    /// Failures allowed in one window; the next attempt is refused until the window ends.
    /// [`ThrottleKey::NO_LIMIT`] counts without ever refusing (a slowdown key).
    pub max_failures: u32,
    /// How long failures are remembered, from the key's first attempt.
    pub window: Duration,
}

impl ThrottleKey {
    /// A limit no counter reaches: the key is counted, never refused.
    pub const NO_LIMIT: u32 = u32::MAX;
}

/// Why an attempt may not go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// A key has had its failures for this window: refused until `retry_after` has passed.
    Refused {
        /// Until the window of the key at its limit ends.
        retry_after: Duration,
    },
    /// A key would be at its limit if every attempt still being judged failed: ask again
    /// shortly, once their verdicts are in.
    Busy,
}

/// Counts login attempts per key in a fixed window that starts with the key's first attempt.
///
/// An attempt is counted *before* it is judged (as pending), atomically with the check, so
/// that many attempts sent at once cannot all slip in before the first failure is recorded.
/// Its verdict then settles it: [`LoginThrottle::fail`] makes it a failure,
/// [`LoginThrottle::forgive`] takes it back. Only failures refuse; pending attempts make the
/// next ones wait ([`Throttled::Busy`]), so correct logins in parallel are never refused.
/// Pending attempts expire after [`PENDING_TIMEOUT`] since the key's latest attempt.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Counts one pending attempt against every key, unless a key has reached its limit with
    /// failures alone ([`Throttled::Refused`]) or with failures and pending attempts together
    /// ([`Throttled::Busy`]); then nothing is counted.
    ///
    /// Returns each key's failures in its current window, in the order of `keys`.
    ///
    /// # Errors
    /// [`Throttled`] when the attempt may not go ahead now.
    async fn acquire(
        &self,
        keys: &[ThrottleKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<u32>, Throttled>;

    /// Settles one pending attempt of each key as a failure.
    async fn fail(&self, keys: &[ThrottleKey], now: DateTime<Utc>);

    /// Settles one pending attempt of each key as forgiven: it no longer counts at all.
    async fn forgive(&self, keys: &[ThrottleKey], now: DateTime<Utc>);

    /// Waits `wait` (a login's slowdown, or before asking again after [`Throttled::Busy`]).
    async fn pause(&self, wait: Duration);
}

/// How long an attempt stays pending at most: one never settled (its request was dropped
/// mid-way) stops counting after this, so it cannot keep its key busy for a whole window.
pub const PENDING_TIMEOUT: Duration = Duration::from_secs(30);
