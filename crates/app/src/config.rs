//! Settings from the environment, and the key file that keeps generated secrets for SQLite.

use std::fmt;
use std::path::{Path, PathBuf};

mod table;

pub use table::{DefaultValue, SETTINGS, Setting, settings_help};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The bytes, for the crypto adapters only.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// A secret from bytes, for tests.
    #[must_use]
    pub fn from_test(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub addr: String,
    /// Where the metrics listener binds (`NESTEGG_METRICS_ADDR`); `None`: no metrics served.
    pub metrics_addr: Option<String>,
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// Redis URL; `None` uses the in-process cache.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this instance writes (`NESTEGG_REDIS_PREFIX`).
    pub redis_prefix: String,
    /// HMAC key for access tokens.
    pub jwt_secret: Secret,
    /// AES-256-GCM key for Plaid access tokens: new tokens are sealed with it.
    pub encryption_key: Secret,
    /// The key file the secrets not set in the environment come from (SQLite only), as an
    /// absolute path.
    pub key_file: Option<PathBuf>,
    /// Earlier keys (`NESTEGG_ENCRYPTION_KEYS_PREVIOUS`, or the key file's), still opening
    /// tokens sealed before a rotation until `nestegg keys rotate` has sealed them again.
    pub previous_encryption_keys: Vec<Secret>,
    /// Plaid, when `PLAID_CLIENT_ID` and `PLAID_SECRET` are set.
    pub plaid: Option<PlaidSettings>,
    /// Origins allowed to call the API from a browser (`NESTEGG_CORS_ORIGINS`, comma-separated;
    /// none by default: no CORS headers at all).
    pub cors_origins: Vec<String>,
    /// How often a linked connection is synced by the scheduler (`NESTEGG_SYNC_INTERVAL_SECONDS`,
    /// default 6 hours; 0 turns the scheduler off).
    pub sync_interval: std::time::Duration,
    /// How long a sync holds its item's lease (`NESTEGG_SYNC_LEASE_SECONDS`, default 300): a
    /// server that dies mid-sync blocks the item's syncs at most this long.
    pub sync_lease: std::time::Duration,
    /// bcrypt cost, 4-31.
    pub bcrypt_cost: u32,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: i64,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How long a cached report may be kept (`NESTEGG_CACHE_TTL_SECONDS`).
    pub cache_ttl: std::time::Duration,
    /// Absolute lifetime of a session, however often it is refreshed
    /// (`NESTEGG_SESSION_MAX_DAYS`, default 90).
    pub session_max_age: std::time::Duration,
    /// How long an instance trusts a session's state once read (`NESTEGG_SESSION_CHECK_SECONDS`,
    /// default 5): a session ended on another instance is refused here within this time.
    pub session_check_ttl: std::time::Duration,
    /// Proxies whose `X-Forwarded-For`/`Forwarded` are believed (`NESTEGG_TRUSTED_PROXIES`,
    /// addresses or CIDRs, comma-separated; none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Whether anyone may register (`NESTEGG_REGISTRATION`: `open`, the default, or `closed`).
    pub registration_open: bool,
    /// bcrypt jobs admitted at once, running or waiting (`NESTEGG_BCRYPT_QUEUE`, default 64);
    /// sign-ups get a quarter of it. A job beyond it is answered 503 at once.
    pub bcrypt_queue: usize,
    /// Bytes the in-process report cache may hold (`NESTEGG_CACHE_MAX_BYTES`, default 32 MiB).
    pub cache_max_bytes: u64,
    /// Reports cached per user in Redis (`NESTEGG_CACHE_MAX_ENTRIES_PER_USER`, default 32).
    pub cache_max_entries_per_user: u32,
    /// Whether this instance serves the database alone or beside others
    /// (`NESTEGG_INSTANCES`: `one`, the default, or `several`, PostgreSQL only).
    pub instances: Instances,
}

/// How many server instances serve one database (`NESTEGG_INSTANCES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instances {
    /// This one alone (checked at start on PostgreSQL: a second instance is refused). It
    /// keeps cached reports, checked sessions and login counters in its own memory.
    One,
    /// Several on one PostgreSQL database: what they must agree on (report versions,
    /// sessions, login counters) is read from Redis when set, from the database otherwise.
    Several,
}

/// Plaid's settings.
#[derive(Clone)]
pub struct PlaidSettings {
    /// `PLAID_CLIENT_ID`.
    pub client_id: String,
    /// `PLAID_SECRET`.
    pub secret: Secret,
    /// `PLAID_ENV`: `sandbox` (default) or `production`.
    pub env: String,
    /// `PLAID_BASE_URL`: overrides the environment's URL (a local fake Plaid, in tests).
    pub base_url: Option<String>,
    /// `PLAID_WEBHOOK_URL`: where Plaid sends webhooks for items linked from here.
    pub webhook_url: Option<String>,
}

impl fmt::Debug for PlaidSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaidSettings")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .field("env", &self.env)
            .field("base_url", &self.base_url)
            .field("webhook_url", &self.webhook_url)
            .finish()
    }
}

/// Why the settings are unusable; each message is one line naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable is missing where it is required.
    #[error("{0} must be set when DATABASE_URL is PostgreSQL")]
    Missing(&'static str),
    /// One of two variables that go together is set without the other.
    #[error("{0} must be set together with {1}")]
    Partner(&'static str, &'static str),
    /// A variable's value is unusable.
    #[error("{name} is invalid: {why}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        why: String,
    },
    /// The key file cannot be read or written.
    #[error("cannot use the key file {path}: {why}")]
    KeyFile {
        /// Its path.
        path: String,
        /// Why.
        why: String,
    },
}

impl ConfigError {
    fn invalid(name: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            why: why.into(),
        }
    }
}

/// Default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default database: an SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://nestegg.db";

#[derive(Serialize, Deserialize)]
struct KeyFile {
    jwt_secret: String,
    encryption_key: String,
    /// Keys a rotation replaced, kept until every token is sealed under the new one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    previous_encryption_keys: Vec<String>,
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable at fault.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `get` (the environment, or a map in tests).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable at fault.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            debug_assert!(table::is_setting(name), "{name} is missing from SETTINGS");
            get(name).filter(|v| !v.trim().is_empty())
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let is_sqlite = database_url.starts_with("sqlite:");
        if !is_sqlite && !database_url.starts_with("postgres") {
            return Err(ConfigError::invalid(
                "DATABASE_URL",
                "expected sqlite://... or postgres://...",
            ));
        }
        let jwt = get("NESTEGG_JWT_SECRET").map(|s| Secret(s.into_bytes()));
        let enc = get("NESTEGG_ENCRYPTION_KEY")
            .map(|s| decode_key(&s))
            .transpose()?;
        let mut previous_encryption_keys = match get("NESTEGG_ENCRYPTION_KEYS_PREVIOUS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .filter(|k| !k.trim().is_empty())
                .map(|k| decode_key(k).map_err(|_| invalid_previous()))
                .collect::<Result<_, _>>()?,
        };
        let mut key_file = None;
        let (jwt_secret, encryption_key) = match (jwt, enc) {
            (Some(j), Some(e)) => (j, e),
            (j, e) if is_sqlite => {
                let stored = load_or_create_keys(&database_url)?;
                if e.is_none() {
                    previous_encryption_keys.extend(stored.2);
                }
                key_file = stored.3;
                (j.unwrap_or(stored.0), e.unwrap_or(stored.1))
            }
            (None, _) => return Err(ConfigError::Missing("NESTEGG_JWT_SECRET")),
            (_, None) => return Err(ConfigError::Missing("NESTEGG_ENCRYPTION_KEY")),
        };
        let plaid = match (get("PLAID_CLIENT_ID"), get("PLAID_SECRET")) {
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::Partner("PLAID_SECRET", "PLAID_CLIENT_ID")),
            (None, Some(_)) => return Err(ConfigError::Partner("PLAID_CLIENT_ID", "PLAID_SECRET")),
            (Some(client_id), Some(secret)) => {
                let env = get("PLAID_ENV").unwrap_or_else(|| "sandbox".to_owned());
                if !matches!(env.as_str(), "sandbox" | "production") {
                    return Err(ConfigError::invalid(
                        "PLAID_ENV",
                        "expected sandbox or production",
                    ));
                }
                let url = |name: &'static str| -> Result<Option<String>, ConfigError> {
                    match get(name) {
                        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => Err(
                            ConfigError::invalid(name, "expected an http:// or https:// URL"),
                        ),
                        other => Ok(other),
                    }
                };
                Some(PlaidSettings {
                    client_id,
                    secret: Secret(secret.into_bytes()),
                    env,
                    base_url: url("PLAID_BASE_URL")?,
                    webhook_url: url("PLAID_WEBHOOK_URL")?,
                })
            }
        };
        if jwt_secret.0.len() < 32 {
            return Err(ConfigError::invalid(
                "NESTEGG_JWT_SECRET",
                "use at least 32 bytes",
            ));
        }
        let bcrypt_cost = whole_number(&get, "NESTEGG_BCRYPT_COST", 12, 4..=31, None)?;
        let cache_ttl_secs = whole_number(
            &get,
            "NESTEGG_CACHE_TTL_SECONDS",
            300,
            1..=86_400,
            Some("seconds"),
        )?;
        let cors_origins = match get("NESTEGG_CORS_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| {
                    let scheme = o
                        .strip_prefix("https://")
                        .or_else(|| o.strip_prefix("http://"));
                    // An origin is a scheme, a host and maybe a port: no path, not even "/".
                    match scheme {
                        Some(rest) if !rest.is_empty() && !rest.contains('/') => Ok(o.to_owned()),
                        _ => Err(ConfigError::invalid(
                            "NESTEGG_CORS_ORIGINS",
                            format!("'{o}' is not an origin like https://app.example.com"),
                        )),
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        let cache_max_bytes = whole_number(
            &get,
            "NESTEGG_CACHE_MAX_BYTES",
            32 * 1024 * 1024,
            0..=1 << 40,
            Some("bytes"),
        )?;
        let cache_max_entries_per_user = whole_number(
            &get,
            "NESTEGG_CACHE_MAX_ENTRIES_PER_USER",
            32,
            1..=10_000,
            None,
        )?;
        let sync_secs = whole_number(
            &get,
            "NESTEGG_SYNC_INTERVAL_SECONDS",
            6 * 3600,
            0..=7 * 86_400,
            Some("seconds"),
        )?;
        let lease_secs = whole_number(
            &get,
            "NESTEGG_SYNC_LEASE_SECONDS",
            300,
            5..=3600,
            Some("seconds"),
        )?;
        let session_days: u64 =
            whole_number(&get, "NESTEGG_SESSION_MAX_DAYS", 90, 1..=3650, Some("days"))?;
        let session_check_secs = whole_number(
            &get,
            "NESTEGG_SESSION_CHECK_SECONDS",
            5,
            0..=60,
            Some("seconds"),
        )?;
        let instances = match get("NESTEGG_INSTANCES").as_deref().map(str::trim) {
            None | Some("one") => Instances::One,
            Some("several") if !is_sqlite => Instances::Several,
            Some("several") => {
                return Err(ConfigError::invalid(
                    "NESTEGG_INSTANCES",
                    "several instances need a PostgreSQL DATABASE_URL (an SQLite file \
                          is served by one process)",
                ));
            }
            Some(_) => {
                return Err(ConfigError::invalid(
                    "NESTEGG_INSTANCES",
                    "expected one or several",
                ));
            }
        };
        let trusted_proxies = match get("NESTEGG_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => parse_proxies(&list)?,
        };
        let registration_open = match get("NESTEGG_REGISTRATION").as_deref().map(str::trim) {
            None | Some("open") => true,
            Some("closed") => false,
            Some(_) => {
                return Err(ConfigError::invalid(
                    "NESTEGG_REGISTRATION",
                    "expected open or closed",
                ));
            }
        };
        let bcrypt_queue = whole_number(&get, "NESTEGG_BCRYPT_QUEUE", 64, 1..=100_000, None)?;
        Ok(Self {
            addr: get("NESTEGG_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            metrics_addr: get("NESTEGG_METRICS_ADDR").map(|a| a.trim().to_owned()),
            database_url,
            redis_url: get("REDIS_URL"),
            redis_prefix: get("NESTEGG_REDIS_PREFIX").unwrap_or_else(|| "nestegg:".to_owned()),
            jwt_secret,
            encryption_key,
            key_file,
            bcrypt_cost,
            previous_encryption_keys,
            plaid,
            cors_origins,
            sync_interval: std::time::Duration::from_secs(sync_secs),
            sync_lease: std::time::Duration::from_secs(lease_secs),
            access_token_ttl: 900,
            body_limit: 256 * 1024,
            cache_ttl: std::time::Duration::from_secs(cache_ttl_secs),
            session_max_age: std::time::Duration::from_secs(session_days * 86_400),
            session_check_ttl: std::time::Duration::from_secs(session_check_secs),
            trusted_proxies,
            registration_open,
            bcrypt_queue,
            cache_max_bytes,
            cache_max_entries_per_user,
            instances,
        })
    }
}

impl Settings {
    /// How long a session's state, once read, is trusted: `NESTEGG_SESSION_CHECK_SECONDS`
    /// alone; not at all beside other instances, where a logout through one of them must be
    /// refused at once by the others.
    #[must_use]
    pub fn session_check_ttl(&self) -> std::time::Duration {
        match self.instances {
            Instances::One => self.session_check_ttl,
            Instances::Several => std::time::Duration::ZERO,
        }
    }

    /// The report cache and login throttle in use, for the start-up line: `in-process`, or
    /// Redis's URL without its user, password or query, and the key prefix.
    #[must_use]
    pub fn cache_description(&self) -> String {
        let Some(url) = &self.redis_url else {
            return match self.instances {
                Instances::One => "in-process".to_owned(),
                Instances::Several => {
                    "in-process, versions and login counters in the database (several \
                     instances)"
                        .to_owned()
                }
            };
        };
        let url = url.split('?').next().unwrap_or_default();
        let shown = match url.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                format!("{scheme}://{host}{path}")
            }
            None => "(REDIS_URL)".to_owned(),
        };
        format!("Redis {shown} (key prefix {})", self.redis_prefix)
    }
}

/// `NESTEGG_TRUSTED_PROXIES`: comma-separated addresses (`10.0.0.5`) or CIDRs (`10.0.0.0/8`).
fn parse_proxies(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::invalid(
                        "NESTEGG_TRUSTED_PROXIES",
                        format!("{p:?} is not an address or CIDR"),
                    )
                })
        })
        .collect()
}

/// The whole number `value` of variable `name`, or `default` when it is unset; one that does
/// not parse or falls outside `range` is refused with `why`.
/// The variable `name` read through `get` as a whole number in `range`, `default` when unset;
/// the refusal names the range and what the number counts (`of`: seconds, bytes, ...).
fn whole_number<T: std::str::FromStr + PartialOrd + fmt::Display>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    of: Option<&str>,
) -> Result<T, ConfigError> {
    let Some(value) = get(name) else {
        return Ok(default);
    };
    value
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            let of = of.map(|unit| format!(" of {unit}")).unwrap_or_default();
            let (start, end) = (range.start(), range.end());
            ConfigError::invalid(
                name,
                format!("expected a whole number{of} from {start} to {end}"),
            )
        })
}

/// `DATABASE_URL`, or the default SQLite file.
#[must_use]
pub fn database_url_from_env() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

fn decode_key(text: &str) -> Result<Secret, ConfigError> {
    let invalid = |why: &str| ConfigError::invalid("NESTEGG_ENCRYPTION_KEY", why);
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| invalid("expected base64"))?;
    if bytes.len() != 32 {
        return Err(invalid("expected base64 of exactly 32 bytes"));
    }
    Ok(Secret(bytes))
}

fn invalid_previous() -> ConfigError {
    ConfigError::invalid(
        "NESTEGG_ENCRYPTION_KEYS_PREVIOUS",
        "expected comma-separated base64 keys of exactly 32 bytes",
    )
}

/// The SQLite file a URL names, or `None` for an in-memory database.
#[must_use]
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// The key file beside an SQLite database: `nestegg.db` keeps its keys in `nestegg.db.keys`.
#[must_use]
pub fn key_file_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

fn random_bytes(n: usize) -> Result<Vec<u8>, ConfigError> {
    let mut bytes = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ConfigError::KeyFile {
            path: String::new(),
            why: "the system's randomness failed".into(),
        })?;
    Ok(bytes)
}

/// The JWT secret, the encryption key, the previous keys, and the key file they are kept in
/// (none for an in-memory database).
type StoredKeys = (Secret, Secret, Vec<Secret>, Option<PathBuf>);

fn load_or_create_keys(database_url: &str) -> Result<StoredKeys, ConfigError> {
    let Some(db_path) = sqlite_path(database_url) else {
        tracing::warn!("in-memory database: using throwaway secrets for this run");
        return Ok((
            Secret(random_bytes(48)?),
            Secret(random_bytes(32)?),
            Vec::new(),
            None,
        ));
    };
    let path = key_file_path(&db_path);
    let path = std::path::absolute(&path).unwrap_or(path);
    let shown = path.display().to_string();
    let key_err = |why: String| ConfigError::KeyFile {
        path: shown.clone(),
        why,
    };
    if let Some(dir) = path.parent().filter(|d| !d.is_dir()) {
        return Err(key_err(format!(
            "the directory {} does not exist: create it, or correct the path in DATABASE_URL",
            dir.display()
        )));
    }
    if path.exists() {
        refuse_shared(&path).map_err(key_err)?;
        let text = std::fs::read_to_string(&path).map_err(|e| key_err(e.to_string()))?;
        let keys: KeyFile = serde_json::from_str(&text).map_err(|e| key_err(e.to_string()))?;
        let jwt = STANDARD
            .decode(&keys.jwt_secret)
            .map_err(|e| key_err(e.to_string()))?;
        let enc = decode_key(&keys.encryption_key).map_err(|e| key_err(e.to_string()))?;
        let previous = keys
            .previous_encryption_keys
            .iter()
            .map(|k| decode_key(k).map_err(|e| key_err(e.to_string())))
            .collect::<Result<_, _>>()?;
        return Ok((Secret(jwt), enc, previous, Some(path)));
    }
    let (jwt, enc) = (random_bytes(48)?, random_bytes(32)?);
    let text = serde_json::to_string_pretty(&KeyFile {
        jwt_secret: STANDARD.encode(&jwt),
        encryption_key: STANDARD.encode(&enc),
        previous_encryption_keys: Vec::new(),
    })
    .map_err(|e| key_err(e.to_string()))?;
    write_private(&path, &text).map_err(|e| key_err(e.to_string()))?;
    tracing::warn!(
        path = %shown,
        "generated NESTEGG_JWT_SECRET and NESTEGG_ENCRYPTION_KEY and saved them in a key file; \
         back it up with the database, or set both variables"
    );
    Ok((Secret(jwt), Secret(enc), Vec::new(), Some(path)))
}

/// Rotation of the key file's encryption key: a new random key becomes current and the old
/// ones are kept as previous, so both open tokens until they are sealed again. `None` when the
/// key does not come from a key file (set `NESTEGG_ENCRYPTION_KEY` and
/// `NESTEGG_ENCRYPTION_KEYS_PREVIOUS` yourself then).
///
/// # Errors
/// When the key file cannot be read or written.
pub fn rotate_key_file(database_url: &str) -> Result<Option<PathBuf>, ConfigError> {
    edit_key_file(database_url, |keys| {
        let fresh = random_bytes(32)?;
        let old = std::mem::replace(&mut keys.encryption_key, STANDARD.encode(fresh));
        keys.previous_encryption_keys.insert(0, old);
        Ok(())
    })
}

/// Forgets the key file's previous keys, once every token is sealed under the current one.
///
/// # Errors
/// When the key file cannot be read or written.
pub fn drop_previous_keys(database_url: &str) -> Result<Option<PathBuf>, ConfigError> {
    edit_key_file(database_url, |keys| {
        keys.previous_encryption_keys.clear();
        Ok(())
    })
}

fn edit_key_file(
    database_url: &str,
    edit: impl FnOnce(&mut KeyFile) -> Result<(), ConfigError>,
) -> Result<Option<PathBuf>, ConfigError> {
    let Some(path) = sqlite_path(database_url).map(|db| key_file_path(&db)) else {
        return Ok(None);
    };
    if !path.exists() {
        return Ok(None);
    }
    let shown = path.display().to_string();
    let key_err = |why: String| ConfigError::KeyFile {
        path: shown.clone(),
        why,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| key_err(e.to_string()))?;
    let mut keys: KeyFile = serde_json::from_str(&text).map_err(|e| key_err(e.to_string()))?;
    edit(&mut keys)?;
    let text = serde_json::to_string_pretty(&keys).map_err(|e| key_err(e.to_string()))?;
    // Written beside, then renamed over: a crash leaves the old file or the new, never half.
    let mut tmp = path.clone().into_os_string();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    std::fs::remove_file(&tmp).ok();
    write_private(&tmp, &text).map_err(|e| key_err(e.to_string()))?;
    std::fs::rename(&tmp, &path).map_err(|e| key_err(e.to_string()))?;
    Ok(Some(path))
}

/// A key file others can read is as good as published: refuse to use it.
fn refuse_shared(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "it is readable by group or others (mode {:o}); run chmod 600 on it",
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes a file readable only by its owner, failing if it already exists.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    /// The settings of a PostgreSQL deployment with both secrets set, plus `more`.
    fn on_postgres(more: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let key = STANDARD.encode([1u8; 32]);
        let secret = "x".repeat(32);
        let mut vars = vec![
            ("DATABASE_URL", "postgres://localhost/n"),
            ("NESTEGG_JWT_SECRET", secret.as_str()),
            ("NESTEGG_ENCRYPTION_KEY", key.as_str()),
        ];
        vars.extend_from_slice(more);
        settings(&vars)
    }

    /// The message the settings of a PostgreSQL deployment plus `more` are refused with.
    fn refusal_on_postgres(more: &[(&str, &str)]) -> String {
        on_postgres(more).unwrap_err().to_string()
    }

    /// Asserts that each variable's value is refused with a message naming the variable.
    fn refused_on_postgres(cases: &[(&str, &str)]) {
        for (name, bad) in cases {
            let err = refusal_on_postgres(&[(name, bad)]);
            assert!(
                err.starts_with(&format!("{name} is invalid")),
                "{bad:?}: {err}"
            );
        }
    }

    /// A fresh directory for an SQLite file `n.db` and its key file; removed when dropped.
    struct KeyDir(PathBuf);

    impl KeyDir {
        fn new(what: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("nestegg-{what}-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        /// The URL of `n.db` in it.
        fn url(&self) -> String {
            format!("sqlite://{}/n.db?mode=rwc", self.0.display())
        }
    }

    impl Drop for KeyDir {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }

    /// Settings that ask for every variable: SQLite by default, both secrets and Plaid set.
    const EVERYTHING: [(&str, &str); 4] = [
        ("NESTEGG_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        (
            "NESTEGG_ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ),
        ("PLAID_CLIENT_ID", "id"),
        ("PLAID_SECRET", "secret"),
    ];

    #[test]
    fn the_settings_read_from_the_environment_are_exactly_those_of_the_table() {
        let asked = std::sync::Mutex::new(std::collections::BTreeSet::new());
        Settings::from_lookup(|name| {
            asked.lock().unwrap().insert(name.to_owned());
            EVERYTHING
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let mut asked = asked.into_inner().unwrap();
        // Read by the log set-up, before the settings.
        asked.extend(["RUST_LOG".to_owned(), "NESTEGG_LOG_FORMAT".to_owned()]);
        let table: std::collections::BTreeSet<String> =
            SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        assert_eq!(asked, table);
        assert_eq!(SETTINGS.len(), table.len(), "a setting listed twice");
    }

    #[test]
    fn each_literal_default_of_the_table_is_what_an_unset_variable_gives() {
        let unset = format!("{:?}", settings(&EVERYTHING).unwrap());
        for setting in SETTINGS {
            let DefaultValue::Literal(value) = setting.default else {
                continue;
            };
            if ["RUST_LOG", "NESTEGG_LOG_FORMAT"].contains(&setting.name) {
                continue;
            }
            let mut vars = EVERYTHING.to_vec();
            vars.push((setting.name, value));
            assert_eq!(
                format!("{:?}", settings(&vars).unwrap()),
                unset,
                "{} set to its default {value}",
                setting.name
            );
        }
    }

    #[test]
    fn the_readme_configuration_table_lists_every_setting_with_its_default() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("\n## Configuration\n")
            .nth(1)
            .unwrap()
            .split("\n## ")
            .next()
            .unwrap();
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
        let named: Vec<&str> = rows.iter().map(|r| r.split('`').nth(1).unwrap()).collect();
        let table: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        assert_eq!(named, table, "the README's rows, in the table's order");
        for (row, setting) in rows.iter().zip(SETTINGS) {
            let default = row.split(" | ").nth(1).unwrap();
            let expected = match setting.default {
                DefaultValue::Literal(v) => format!("`{v}`"),
                DefaultValue::Described(d) => d.to_owned(),
            };
            assert!(default.starts_with(&expected), "{row}: {expected}");
        }
    }

    #[test]
    fn the_metrics_listener_is_off_unless_an_address_is_set() {
        assert_eq!(on_postgres(&[]).unwrap().metrics_addr, None);
        assert_eq!(
            on_postgres(&[("NESTEGG_METRICS_ADDR", " ")])
                .unwrap()
                .metrics_addr,
            None
        );
        assert_eq!(
            on_postgres(&[("NESTEGG_METRICS_ADDR", "10.0.0.7:9464")])
                .unwrap()
                .metrics_addr
                .as_deref(),
            Some("10.0.0.7:9464")
        );
    }

    #[test]
    fn postgres_without_secrets_is_refused_naming_the_variable() {
        let err = settings(&[("DATABASE_URL", "postgres://localhost/nestegg")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "NESTEGG_JWT_SECRET must be set when DATABASE_URL is PostgreSQL"
        );
        let err = settings(&[
            ("DATABASE_URL", "postgres://localhost/nestegg"),
            ("NESTEGG_JWT_SECRET", &"x".repeat(32)),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("NESTEGG_ENCRYPTION_KEY"));
    }

    #[test]
    fn sqlite_generates_secrets_once_and_keeps_them_in_a_private_key_file() {
        let dir = KeyDir::new("cfg");
        let url = dir.url();
        let first = settings(&[("DATABASE_URL", &url)]).unwrap();
        let second = settings(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(first.jwt_secret, second.jwt_secret);
        assert_eq!(first.encryption_key.expose().len(), 32);
        let key_file = dir.0.join("n.db.keys");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        let key = STANDARD.encode([1u8; 32]);
        // With a short secret and a bad key, the key is named first.
        for (sealing, named) in [
            ("AAAA", "NESTEGG_ENCRYPTION_KEY"),
            (key.as_str(), "NESTEGG_JWT_SECRET"),
        ] {
            let err = settings(&[
                ("DATABASE_URL", "postgres://localhost/n"),
                ("NESTEGG_JWT_SECRET", "short"),
                ("NESTEGG_ENCRYPTION_KEY", sealing),
            ])
            .unwrap_err()
            .to_string();
            assert!(err.starts_with(named), "{err}");
        }
        assert_eq!(on_postgres(&[]).unwrap().bcrypt_cost, 12);
        assert_eq!(
            refusal_on_postgres(&[("NESTEGG_BCRYPT_COST", "3")]),
            "NESTEGG_BCRYPT_COST is invalid: expected a whole number from 4 to 31"
        );
        assert_eq!(
            refusal_on_postgres(&[("NESTEGG_CACHE_MAX_BYTES", "-1")]),
            "NESTEGG_CACHE_MAX_BYTES is invalid: expected a whole number of bytes from 0 to \
             1099511627776"
        );
        assert!(settings(&[("DATABASE_URL", "mysql://x")]).is_err());
    }

    #[test]
    fn an_instance_serves_alone_by_default_and_several_share_only_postgresql_and_never_trust_a_session_read_before()
     {
        let check = ("NESTEGG_SESSION_CHECK_SECONDS", "5");
        let alone = on_postgres(&[check]).unwrap();
        assert_eq!(alone.instances, Instances::One);
        assert_eq!(alone.session_check_ttl().as_secs(), 5);
        assert_eq!(alone.cache_description(), "in-process");

        let shared = on_postgres(&[check, ("NESTEGG_INSTANCES", "several")]).unwrap();
        assert_eq!(shared.instances, Instances::Several);
        assert_eq!(shared.session_check_ttl(), std::time::Duration::ZERO);
        assert!(
            shared.cache_description().contains("in the database"),
            "{}",
            shared.cache_description()
        );

        let key = STANDARD.encode([1u8; 32]);
        let secret = "x".repeat(32);
        let sqlite = [
            ("DATABASE_URL", "sqlite://nestegg.db"),
            ("NESTEGG_JWT_SECRET", secret.as_str()),
            ("NESTEGG_ENCRYPTION_KEY", key.as_str()),
            ("NESTEGG_INSTANCES", "several"),
        ];
        let refused = settings(&sqlite).unwrap_err().to_string();
        assert!(
            refused.starts_with("NESTEGG_INSTANCES") && refused.contains("PostgreSQL"),
            "{refused}"
        );
        let odd = refusal_on_postgres(&[check, ("NESTEGG_INSTANCES", "two")]);
        assert!(odd.contains("expected one or several"), "{odd}");
    }

    #[test]
    fn the_sync_lease_defaults_to_five_minutes_and_refuses_values_outside_5_to_3600_seconds() {
        assert_eq!(
            on_postgres(&[]).unwrap().sync_lease,
            std::time::Duration::from_secs(300)
        );
        for secs in [5, 60, 3600] {
            let value = secs.to_string();
            let set = on_postgres(&[("NESTEGG_SYNC_LEASE_SECONDS", value.as_str())]).unwrap();
            assert_eq!(set.sync_lease.as_secs(), secs);
        }
        refused_on_postgres(&[
            ("NESTEGG_SYNC_LEASE_SECONDS", "4"),
            ("NESTEGG_SYNC_LEASE_SECONDS", "3601"),
            ("NESTEGG_SYNC_LEASE_SECONDS", "0"),
            ("NESTEGG_SYNC_LEASE_SECONDS", "-5"),
            ("NESTEGG_SYNC_LEASE_SECONDS", "1.5"),
            ("NESTEGG_SYNC_LEASE_SECONDS", "five minutes"),
        ]);
    }

    #[test]
    fn sessions_last_90_days_checked_every_5_seconds_unless_set_within_bounds() {
        let defaults = on_postgres(&[]).unwrap();
        assert_eq!(defaults.session_max_age.as_secs(), 90 * 86_400);
        assert_eq!(defaults.session_check_ttl.as_secs(), 5);
        let set = on_postgres(&[
            ("NESTEGG_SESSION_MAX_DAYS", "7"),
            ("NESTEGG_SESSION_CHECK_SECONDS", "0"),
        ])
        .unwrap();
        assert_eq!(set.session_max_age.as_secs(), 7 * 86_400);
        assert_eq!(set.session_check_ttl.as_secs(), 0);
        refused_on_postgres(&[
            ("NESTEGG_SESSION_MAX_DAYS", "0"),
            ("NESTEGG_SESSION_MAX_DAYS", "3651"),
            ("NESTEGG_SESSION_MAX_DAYS", "ninety"),
            ("NESTEGG_SESSION_CHECK_SECONDS", "61"),
            ("NESTEGG_SESSION_CHECK_SECONDS", "-1"),
        ]);
    }

    #[test]
    fn trusted_proxies_registration_and_the_bcrypt_queue_are_read_and_checked() {
        let defaults = on_postgres(&[]).unwrap();
        assert!(defaults.trusted_proxies.is_empty());
        assert!(defaults.registration_open);
        assert_eq!(defaults.bcrypt_queue, 64);
        let set = on_postgres(&[
            ("NESTEGG_TRUSTED_PROXIES", "10.0.0.5, 172.16.0.0/12,::1"),
            ("NESTEGG_REGISTRATION", "closed"),
            ("NESTEGG_BCRYPT_QUEUE", "8"),
        ])
        .unwrap();
        let shown: Vec<String> = set
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.5/32", "172.16.0.0/12", "::1/128"]);
        assert!(!set.registration_open);
        assert_eq!(set.bcrypt_queue, 8);
        refused_on_postgres(&[
            ("NESTEGG_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("NESTEGG_TRUSTED_PROXIES", "proxy.example"),
            ("NESTEGG_REGISTRATION", "invite-only"),
            ("NESTEGG_BCRYPT_QUEUE", "0"),
        ]);
    }

    #[test]
    fn the_sqlite_path_is_read_from_the_url() {
        assert_eq!(
            sqlite_path("sqlite://nestegg.db?mode=rwc"),
            Some("nestegg.db".into())
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/n.db"),
            Some("/var/lib/n.db".into())
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(
            key_file_path(Path::new("a/n.db")),
            PathBuf::from("a/n.db.keys")
        );
    }

    #[test]
    fn rotating_the_key_file_keeps_the_old_key_as_previous_until_it_is_dropped() {
        let dir = KeyDir::new("rot");
        let url = dir.url();
        let before = settings(&[("DATABASE_URL", &url)]).unwrap();
        assert!(before.previous_encryption_keys.is_empty());
        assert!(rotate_key_file(&url).unwrap().is_some());
        let rotated = settings(&[("DATABASE_URL", &url)]).unwrap();
        assert_ne!(rotated.encryption_key, before.encryption_key);
        assert_eq!(rotated.previous_encryption_keys, [before.encryption_key]);
        assert_eq!(
            rotated.jwt_secret, before.jwt_secret,
            "only the sealing key turns"
        );
        drop_previous_keys(&url).unwrap();
        let after = settings(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(after.encryption_key, rotated.encryption_key);
        assert!(after.previous_encryption_keys.is_empty());
        assert_eq!(rotate_key_file("sqlite::memory:").unwrap(), None);
    }

    #[test]
    fn plaid_needs_both_credentials_and_a_known_environment() {
        assert!(on_postgres(&[]).unwrap().plaid.is_none());
        let id = ("PLAID_CLIENT_ID", "id");
        assert_eq!(
            refusal_on_postgres(&[id]),
            "PLAID_SECRET must be set together with PLAID_CLIENT_ID"
        );
        let secret = ("PLAID_SECRET", "s3cret");
        let plaid = on_postgres(&[id, secret]).unwrap().plaid.unwrap();
        assert_eq!(
            (plaid.env.as_str(), plaid.base_url.as_deref()),
            ("sandbox", None)
        );
        assert!(!format!("{plaid:?}").contains("s3cret"));
        for (name, bad) in [("PLAID_ENV", "development"), ("PLAID_BASE_URL", "ftp://x")] {
            let err = refusal_on_postgres(&[id, secret, (name, bad)]);
            assert!(err.starts_with(name), "{bad:?}: {err}");
        }
        let err = refusal_on_postgres(&[("NESTEGG_ENCRYPTION_KEYS_PREVIOUS", "not-base64")]);
        assert!(err.starts_with("NESTEGG_ENCRYPTION_KEYS_PREVIOUS"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused_naming_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = KeyDir::new("perm");
        let url = dir.url();
        settings(&[("DATABASE_URL", &url)]).unwrap();
        let key_file = dir.0.join("n.db.keys");
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = settings(&[("DATABASE_URL", &url)]).unwrap_err().to_string();
        assert!(err.contains("readable by group or others"), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn the_cache_bounds_default_to_32_mib_and_32_reports_per_user_and_refuse_nonsense() {
        let defaults = on_postgres(&[]).unwrap();
        assert_eq!(defaults.cache_max_bytes, 32 * 1024 * 1024);
        assert_eq!(defaults.cache_max_entries_per_user, 32);
        let set = on_postgres(&[
            ("NESTEGG_CACHE_MAX_BYTES", "1048576"),
            ("NESTEGG_CACHE_MAX_ENTRIES_PER_USER", "5"),
        ])
        .unwrap();
        assert_eq!(
            (set.cache_max_bytes, set.cache_max_entries_per_user),
            (1_048_576, 5)
        );
        refused_on_postgres(&[
            ("NESTEGG_CACHE_MAX_BYTES", "64MiB"),
            ("NESTEGG_CACHE_MAX_ENTRIES_PER_USER", "0"),
        ]);
    }
}
