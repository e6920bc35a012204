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

/// Counts login attempts per key in a fixed window that starts with the first attempt.
///
/// An attempt is counted *before* it is judged, atomically with the check, so that many
/// attempts sent at once cannot all slip in before the first failure is recorded. A success
/// then takes its attempt back ([`LoginThrottle::forgive`]) or wipes the key
/// ([`LoginThrottle::reset`]).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Counts one attempt against every key, unless one of them has reached its limit in its
    /// current window; then nothing is counted.
    ///
    /// # Errors
    /// The wait before another attempt is allowed.
    async fn acquire(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Duration>;

    /// Takes back one counted attempt from each key (it succeeded).
    async fn forgive(&self, keys: &[ThrottleKey]);

    /// Forgets every attempt of `key`.
    async fn reset(&self, key: &str);
}
