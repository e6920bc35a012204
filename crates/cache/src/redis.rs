//! Redis adapters (deadpool-redis), shared by every instance of the service.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::{Config, Pool, Runtime};
use nestegg_ports::{
    Cache, CacheError, Cached, HealthProbe, LoginThrottle, RepoError, ThrottleKey,
};

/// Refuses (returning the longest wait in ms) when any key is at its limit, else counts one
/// attempt on every key, starting a key's window on its first attempt. One script, so the
/// check and the count are atomic. ARGV holds (limit, window ms) per key.
const ACQUIRE: &str = r"
local wait = 0
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
end
return 0
";

/// Takes one attempt back from each key that still exists.
const FORGIVE: &str = r"
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
";

/// The scope's version (0 until its first invalidation) and one field's value, read together;
/// the value is returned only if it was stored under that version, so a value is never paired
/// with a version from after a write, even one that an invalidation failed to delete. Values
/// are kept as `<version>:<text>`. KEYS: version, field.
const CACHE_GET: &str = r"
local ver = redis.call('GET', KEYS[1]) or '0'
local stored = redis.call('GET', KEYS[2])
if stored then
  local sep = string.find(stored, ':', 1, true)
  if sep and string.sub(stored, 1, sep - 1) == ver then
    return {ver, string.sub(stored, sep + 1)}
  end
end
return {ver, false}
";

/// Stores the field, with its own TTL, only if the version is still the one the caller read;
/// returns 1 if it stored. The scope's index (a sorted set of its field keys by expiry time)
/// drops the expired, then the soonest to expire beyond ARGV[4] fields, deleting them: the
/// bound per scope. Versions are compared as the decimal text INCR keeps, so no precision is
/// lost in Lua numbers. KEYS: version, index, field; ARGV: version, value, ttl ms, max fields.
const CACHE_PUT: &str = r"
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[3], ARGV[1] .. ':' .. ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
";

/// Bumps the version (keeping it for ARGV[1] seconds more) and deletes every field in the
/// index, the index, and the hash in which earlier releases kept the fields (so that an
/// instance of such a release, sharing this Redis during an upgrade, serves nothing stale).
/// KEYS: version, index, legacy hash.
const CACHE_INVALIDATE: &str = r"
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
local fields = redis.call('ZRANGE', KEYS[2], 0, -1)
for i = 1, #fields do redis.call('DEL', fields[i]) end
redis.call('DEL', KEYS[2], KEYS[3])
return 0
";

/// How long a version outlives the scope's last invalidation. A version that expires reads
/// as 0 again, which is safe because no reader holds a version for anywhere near this long,
/// and every field it guarded was deleted by that invalidation or has expired since (a field
/// lives at most [`CACHE_MAX_TTL_MS`]).
const CACHE_VERSION_TTL_SECS: u64 = 7 * 24 * 60 * 60;

/// The longest field TTL: a day, well inside the version's lifetime.
const CACHE_MAX_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The default bound on a scope's fields (each user's cached reports) in Redis.
pub const DEFAULT_MAX_FIELDS_PER_SCOPE: u32 = 32;

/// A Redis connection pool and the prefix every key of this service (or test) starts with.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A pool for `url` (`redis://host:port/db`); connections are made on first use.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the URL is malformed.
    pub fn new(url: &str, prefix: &str) -> Result<Self, RepoError> {
        let mut config = Config::from_url(url);
        config.pool = Some(deadpool_redis::PoolConfig {
            max_size: 16,
            timeouts: deadpool_redis::Timeouts {
                wait: Some(Duration::from_secs(2)),
                create: Some(Duration::from_secs(2)),
                recycle: Some(Duration::from_secs(2)),
            },
            ..Default::default()
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| RepoError::Unavailable(format!("REDIS_URL: {e}")))?;
        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    async fn conn(&self) -> Result<deadpool_redis::Connection, RepoError> {
        self.pool
            .get()
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl HealthProbe for RedisStore {
    async fn ping(&self) -> Result<(), RepoError> {
        let mut conn = self.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| RepoError::Unavailable(e.to_string()))
    }
}

/// Failed-login counters in Redis: one key per counter, expiring with its window, so every
/// instance sees the same counts. When Redis is down the throttle lets logins through (and
/// logs it) rather than locking every user out.
#[derive(Debug, Clone)]
pub struct RedisThrottle {
    store: RedisStore,
}

impl RedisThrottle {
    /// A throttle over `store`.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        Self { store }
    }

    async fn eval(
        &self,
        script: &str,
        keys: &[ThrottleKey],
        args: &[u64],
    ) -> Result<u64, RepoError> {
        let mut conn = self.store.conn().await?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(keys.len());
        for k in keys {
            cmd.arg(self.store.key(&k.key));
        }
        for a in args {
            cmd.arg(*a);
        }
        cmd.query_async::<u64>(&mut conn)
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl LoginThrottle for RedisThrottle {
    async fn acquire(&self, keys: &[ThrottleKey], _now: DateTime<Utc>) -> Result<(), Duration> {
        let args: Vec<u64> = keys
            .iter()
            .flat_map(|k| {
                [
                    u64::from(k.max_failures),
                    k.window.as_millis().max(1) as u64,
                ]
            })
            .collect();
        match self.eval(ACQUIRE, keys, &args).await {
            Ok(0) => Ok(()),
            // Round up so that waiting exactly Retry-After seconds is enough.
            Ok(wait_ms) => Err(Duration::from_secs(wait_ms.div_ceil(1000).max(1))),
            Err(e) => {
                tracing::warn!(error = %e, "login throttle unavailable; allowing the attempt");
                Ok(())
            }
        }
    }

    async fn forgive(&self, keys: &[ThrottleKey]) {
        if let Err(e) = self.eval(FORGIVE, keys, &[]).await {
            tracing::warn!(error = %e, "login throttle unavailable; attempt not forgiven");
        }
    }

    async fn reset(&self, key: &str) {
        let result = async {
            let mut conn = self.store.conn().await?;
            conn.del::<_, i64>(self.store.key(key))
                .await
                .map_err(|e| RepoError::Unavailable(e.to_string()))
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "login throttle unavailable; counter not reset");
        }
    }
}

/// Cached values in Redis, shared by every instance. Per scope: a version counter
/// (`<prefix>cache:<scope>:ver`), one key per field (`<prefix>cache:<scope>:f:<field>`)
/// expiring on its own TTL, and an index of those keys (`<prefix>cache:<scope>:idx`) that
/// bounds them to `max_fields` (the soonest to expire go first) and lets an invalidation
/// delete them. Each call is one Lua script, so the version check and the store are atomic.
/// The scripts touch field keys named in the index, so this needs a single Redis, not a
/// cluster. Scope names must not end in `:ver` or `:idx` nor contain `:f:`, or their keys
/// could meet another scope's.
#[derive(Debug, Clone)]
pub struct RedisCache {
    store: RedisStore,
    max_fields: u32,
}

impl RedisCache {
    /// A cache over `store`, holding at most [`DEFAULT_MAX_FIELDS_PER_SCOPE`] per scope.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        Self {
            store,
            max_fields: DEFAULT_MAX_FIELDS_PER_SCOPE,
        }
    }

    /// The same cache, holding at most `max_fields` (at least 1) per scope.
    #[must_use]
    pub fn with_max_fields_per_scope(self, max_fields: u32) -> Self {
        Self {
            max_fields: max_fields.max(1),
            ..self
        }
    }

    /// An EVAL of `script` over KEYS[1] the scope's version, then `keys` (suffixes of the
    /// scope's key: `""` is the legacy hash).
    fn script(&self, script: &str, scope: &str, keys: &[&str]) -> redis::Cmd {
        let base = self.store.key(&format!("cache:{scope}"));
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script)
            .arg(1 + keys.len())
            .arg(format!("{base}:ver"));
        for suffix in keys {
            cmd.arg(format!("{base}{suffix}"));
        }
        cmd
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, CacheError> {
        let mut conn = self
            .store
            .pool
            .get()
            .await
            .map_err(|e| CacheError::Unavailable(e.to_string()))?;
        cmd.query_async::<T>(&mut conn)
            .await
            .map_err(|e| CacheError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl Cache for RedisCache {
    #[tracing::instrument(level = "debug", skip(self), err(level = "warn"))]
    async fn get(&self, scope: &str, field: &str) -> Result<Cached, CacheError> {
        let cmd = self.script(CACHE_GET, scope, &[&format!(":f:{field}")]);
        let (version, value) = self.query::<(u64, Option<String>)>(&cmd).await?;
        Ok(Cached { version, value })
    }

    #[tracing::instrument(level = "debug", skip(self, value), err(level = "warn"))]
    async fn put_if_current(
        &self,
        scope: &str,
        field: &str,
        value: &str,
        version: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        // PX 0 is refused; at least 1 ms keeps "store, then expire".
        let ttl_ms = u64::try_from(ttl.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, CACHE_MAX_TTL_MS);
        let mut cmd = self.script(CACHE_PUT, scope, &[":idx", &format!(":f:{field}")]);
        cmd.arg(version).arg(value).arg(ttl_ms).arg(self.max_fields);
        Ok(self.query::<u8>(&cmd).await? == 1)
    }

    #[tracing::instrument(level = "debug", skip(self), err(level = "warn"))]
    async fn invalidate(&self, scope: &str) -> Result<(), CacheError> {
        let mut cmd = self.script(CACHE_INVALIDATE, scope, &[":idx", ""]);
        cmd.arg(CACHE_VERSION_TTL_SECS);
        self.query::<u8>(&cmd).await.map(|_| ())
    }
}
