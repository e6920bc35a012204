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

/// One key's count in its window, as a throttle that stores counters itself (in process, in
/// the database) keeps it; the rules of [`LoginThrottle`] on it are here once for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// When the window ends (a window starts with the key's first attempt).
    pub ends: DateTime<Utc>,
    /// Failures in the window.
    pub failures: u32,
    /// Attempts still being judged.
    pub pending: u32,
    /// After this, pending attempts no longer count (their requests were dropped).
    pub pending_until: DateTime<Utc>,
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Counter {
    /// A new window for `key`, starting `now`.
    #[must_use]
    pub fn fresh(key: &ThrottleKey, now: DateTime<Utc>) -> Self {
        Self {
            ends: now.checked_add_signed(to_chrono(key.window)).unwrap_or(now),
            failures: 0,
            pending: 0,
            pending_until: now,
        }
    }

    /// What a stored counter (if any) counts at `now`: a fresh window once the stored one has
    /// ended, and no pending attempts once they have timed out.
    #[must_use]
    pub fn at(stored: Option<Self>, key: &ThrottleKey, now: DateTime<Utc>) -> Self {
        match stored {
            Some(mut c) if c.ends > now => {
                if c.pending_until <= now {
                    c.pending = 0;
                }
                c
            }
            _ => Self::fresh(key, now),
        }
    }

    /// Whether an attempt may go ahead against these keys, each with its counter as of `now`:
    /// refused while a key has its failures, busy while failures and pending attempts
    /// together reach a limit.
    ///
    /// # Errors
    /// [`Throttled`] when the attempt may not go ahead now.
    pub fn judge<'a>(
        counted: impl IntoIterator<Item = (&'a ThrottleKey, &'a Self)>,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        let mut busy = false;
        let mut wait = chrono::Duration::zero();
        for (k, c) in counted {
            if c.failures >= k.max_failures {
                wait = wait.max(c.ends - now);
            } else if c.failures.saturating_add(c.pending) >= k.max_failures {
                busy = true;
            }
        }
        if wait > chrono::Duration::zero() {
            // Whole seconds, rounded up, so that waiting exactly that long is enough.
            let ms = wait.num_milliseconds().max(0).unsigned_abs();
            return Err(Throttled::Refused {
                retry_after: Duration::from_secs(ms.div_ceil(1000).max(1)),
            });
        }
        if busy {
            return Err(Throttled::Busy);
        }
        Ok(())
    }

    /// The counter with one more attempt pending, for [`PENDING_TIMEOUT`] from `now`.
    #[must_use]
    pub fn admitted(self, now: DateTime<Utc>) -> Self {
        Self {
            pending: self.pending.saturating_add(1),
            pending_until: now
                .checked_add_signed(to_chrono(PENDING_TIMEOUT))
                .unwrap_or(now),
            ..self
        }
    }

    /// The counter once one pending attempt is settled (as a failure or forgiven); `None`
    /// when nothing is left to remember, so the counter can be dropped.
    #[must_use]
    pub fn settled(self, failed: bool) -> Option<Self> {
        let pending = self.pending.saturating_sub(1);
        let failures = if failed {
            self.failures.saturating_add(1)
        } else {
            self.failures
        };
        (failures > 0 || pending > 0).then_some(Self {
            failures,
            pending,
            ..self
        })
    }
}
