//! What the use cases count for the operator: report-cache lookups, login-throttle refusals
//! and bank syncs. The app exports them (Prometheus); the use cases only say what happened.

use std::time::Duration;

/// What a report-cache lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheLookup {
    /// A current value, served as it was stored.
    Hit,
    /// Nothing current: the report was computed (and stored).
    Miss,
    /// The cache could not be read (Redis down): the report was computed and not stored.
    Unavailable,
}

impl CacheLookup {
    /// The label value: `hit`, `miss`, `unavailable`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Unavailable => "unavailable",
        }
    }
}

/// What the login throttle refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleCheck {
    /// A login (`POST /auth/login`).
    Login,
    /// The current password confirming a password change or an account deletion.
    PasswordConfirmation,
}

impl ThrottleCheck {
    /// The label value: `login`, `password_confirmation`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::PasswordConfirmation => "password_confirmation",
        }
    }
}

/// Why the login throttle refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleRefusal {
    /// A counter is at its limit of failures.
    Limit,
    /// Attempts before it were still being judged, and waiting for them took too long.
    Busy,
}

impl ThrottleRefusal {
    /// The label value: `limit`, `busy`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Limit => "limit",
            Self::Busy => "busy",
        }
    }
}

/// What started a bank sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncTrigger {
    /// A user asked for it (`POST /plaid/connections/{id}/sync`).
    Manual,
    /// The scheduler (a connection due, or one a webhook or a new link asked for).
    Scheduled,
}

impl SyncTrigger {
    /// The label value: `manual`, `scheduled`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Scheduled => "scheduled",
        }
    }
}

/// How a bank sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncOutcome {
    /// Everything Plaid had was stored.
    Ok,
    /// Plaid needs the user to log in to the bank again (`ITEM_LOGIN_REQUIRED`).
    LoginRequired,
    /// Plaid failed otherwise (down, rate limited, an error of the item).
    PlaidError,
    /// What Plaid sent could not be stored, or the connection's state not read or written.
    StoreError,
    /// Another sync held the connection's lease: this one did not run.
    InProgress,
    /// The lease ran out mid-way and another sync took over: this one stored nothing.
    Superseded,
}

impl SyncOutcome {
    /// Every outcome, in the order above.
    pub const ALL: [Self; 6] = [
        Self::Ok,
        Self::LoginRequired,
        Self::PlaidError,
        Self::StoreError,
        Self::InProgress,
        Self::Superseded,
    ];

    /// The label value: `ok`, `login_required`, `plaid_error`, `store_error`, `in_progress`,
    /// `superseded`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::LoginRequired => "login_required",
            Self::PlaidError => "plaid_error",
            Self::StoreError => "store_error",
            Self::InProgress => "in_progress",
            Self::Superseded => "superseded",
        }
    }
}

/// Where the use cases report what an operator counts. Calls are cheap and never fail.
pub trait Metrics: Send + Sync {
    /// A report-cache lookup.
    fn report_cache(&self, lookup: CacheLookup);

    /// The login throttle refused an attempt.
    fn throttle_refused(&self, check: ThrottleCheck, refusal: ThrottleRefusal);

    /// A bank sync ended, after `elapsed` (lease, Plaid and the store included).
    fn sync_finished(&self, trigger: SyncTrigger, outcome: SyncOutcome, elapsed: Duration);
}

/// Counts nothing: the default where no exporter is wired (tools, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn report_cache(&self, _: CacheLookup) {}

    fn throttle_refused(&self, _: ThrottleCheck, _: ThrottleRefusal) {}

    fn sync_finished(&self, _: SyncTrigger, _: SyncOutcome, _: Duration) {}
}
