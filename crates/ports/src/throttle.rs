//! Rate limiting of failed logins.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One counter: a key (`login:ada`, `addr:203.0.113.7`) and the failures it may have in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    /// What is counted.
    pub key: String,
    /// Failures allowed in one window; the next attempt is refused until the window ends.
    pub max_failures: u32,
    /// How long failures are remembered, from the first one.
    pub window: Duration,
}

/// Counts failed logins per key in a fixed window.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// `Err(retry_after)` when any of `keys` has used up its failures in its current window.
    ///
    /// # Errors
    /// The wait before another try is allowed.
    async fn check(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Duration>;

    /// Records one failure against each of `keys`.
    async fn record_failure(&self, keys: &[ThrottleKey], now: DateTime<Utc>);

    /// Forgets the failures of `key` (after a successful login).
    async fn reset(&self, key: &str);
}
