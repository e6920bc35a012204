//! Every setting `nestegg` reads from the environment, with its default: the one table that
//! `nestegg --help` prints and the README's configuration table repeats. Tests check that the
//! settings read are exactly these, that the defaults written here are the ones applied, and
//! that the help and the README list them all.

use std::fmt::Write;

use super::{DEFAULT_ADDR, DEFAULT_DATABASE_URL};

/// What a setting is when it is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// A value the setting could be given to the same effect (`12`).
    Literal(&'static str),
    /// What happens instead (`unset: in-process`).
    Described(&'static str),
}

impl DefaultValue {
    /// The default as shown.
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Self::Literal(t) | Self::Described(t) => t,
        }
    }
}

/// One environment variable.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// Its default.
    pub default: DefaultValue,
    /// What it does, in one short line.
    pub meaning: &'static str,
}

const fn literal(name: &'static str, default: &'static str, meaning: &'static str) -> Setting {
    Setting {
        name,
        default: DefaultValue::Literal(default),
        meaning,
    }
}

const fn described(name: &'static str, default: &'static str, meaning: &'static str) -> Setting {
    Setting {
        name,
        default: DefaultValue::Described(default),
        meaning,
    }
}

/// Every setting, in the order the README lists them.
pub const SETTINGS: &[Setting] = &[
    literal("NESTEGG_ADDR", DEFAULT_ADDR, "listen address"),
    described(
        "NESTEGG_METRICS_ADDR",
        "unset: no metrics",
        "address of a second listener serving GET /metrics (Prometheus text), without a token",
    ),
    literal(
        "DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "sqlite://FILE (created if missing) or postgres://USER:PASSWORD@HOST:PORT/DATABASE",
    ),
    described(
        "REDIS_URL",
        "unset: in-process",
        "Redis for the report cache and login throttle, shared by every instance",
    ),
    literal(
        "NESTEGG_REDIS_PREFIX",
        "nestegg:",
        "prefix of every Redis key this instance writes",
    ),
    literal(
        "NESTEGG_INSTANCES",
        "one",
        "one, or several (PostgreSQL): instances sharing a database then share report \
         versions, sessions and login counters through Redis or the database",
    ),
    described(
        "NESTEGG_JWT_SECRET",
        "generated into the key file (SQLite only)",
        "HMAC key for access tokens, at least 32 bytes",
    ),
    described(
        "NESTEGG_ENCRYPTION_KEY",
        "generated into the key file (SQLite only)",
        "base64 of 32 bytes: the AES-256-GCM key sealing Plaid access tokens",
    ),
    literal("NESTEGG_BCRYPT_COST", "12", "4-31; lower only in tests"),
    literal(
        "NESTEGG_SESSION_MAX_DAYS",
        "90",
        "1-3650; a session ends this long after its login, however often it is refreshed",
    ),
    literal(
        "NESTEGG_SESSION_CHECK_SECONDS",
        "5",
        "0-60; how long an instance trusts a session's state once read",
    ),
    literal(
        "NESTEGG_BCRYPT_QUEUE",
        "64",
        "1-100000; bcrypt jobs admitted at once, running or waiting",
    ),
    literal(
        "NESTEGG_REGISTRATION",
        "open",
        "open or closed: whether anyone may register",
    ),
    described(
        "NESTEGG_TRUSTED_PROXIES",
        "unset: none",
        "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed",
    ),
    literal(
        "NESTEGG_CACHE_TTL_SECONDS",
        "300",
        "1-86400; longest a cached report is kept (writes drop it at once)",
    ),
    literal(
        "NESTEGG_CACHE_MAX_BYTES",
        "33554432",
        "bytes the in-process report cache may hold; 0 caches nothing",
    ),
    literal(
        "NESTEGG_CACHE_MAX_ENTRIES_PER_USER",
        "32",
        "1-10000; reports cached per user in Redis",
    ),
    described(
        "NESTEGG_ENCRYPTION_KEYS_PREVIOUS",
        "unset",
        "comma-separated earlier encryption keys, until `nestegg keys rotate` has run",
    ),
    described(
        "PLAID_CLIENT_ID",
        "unset: Plaid routes answer 503 `plaid_not_configured`",
        "Plaid client id (with PLAID_SECRET)",
    ),
    described(
        "PLAID_SECRET",
        "unset: Plaid routes answer 503 `plaid_not_configured`",
        "Plaid secret (with PLAID_CLIENT_ID)",
    ),
    literal("PLAID_ENV", "sandbox", "sandbox or production"),
    described(
        "PLAID_BASE_URL",
        "the environment's",
        "overrides Plaid's URL (the fake Plaid)",
    ),
    described(
        "PLAID_WEBHOOK_URL",
        "unset",
        "the webhook URL given to Plaid Link",
    ),
    literal(
        "NESTEGG_SYNC_INTERVAL_SECONDS",
        "21600",
        "0-604800; how often each linked connection is synced; 0 turns the scheduler off",
    ),
    literal(
        "NESTEGG_SYNC_LEASE_SECONDS",
        "300",
        "5-3600; how long a bank sync holds its connection's lease",
    ),
    described(
        "NESTEGG_CORS_ORIGINS",
        "unset: no CORS headers",
        "comma-separated origins whose browser pages may call the API",
    ),
    described(
        "RUST_LOG",
        "info, with sqlx and sea_orm at warn",
        "log filter (tracing's EnvFilter syntax)",
    ),
    described(
        "NESTEGG_LOG_FORMAT",
        "pretty",
        "json for one JSON object per line",
    ),
];

/// The settings as `nestegg --help` ends: one entry per variable with its default.
#[must_use]
pub fn settings_help() -> String {
    let width = SETTINGS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut text =
        String::from("Settings, from the environment (an empty value counts as unset):\n");
    for s in SETTINGS {
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "  {:width$}  [default: {}]\n  {:width$}  {}",
            s.name,
            s.default.text(),
            "",
            s.meaning,
        );
    }
    text
}

/// Whether `name` is in [`SETTINGS`].
pub(super) fn is_setting(name: &str) -> bool {
    SETTINGS.iter().any(|s| s.name == name)
}
