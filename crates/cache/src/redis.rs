//! Redis adapters (deadpool-redis), shared by every instance of the service.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis;
use deadpool_redis::{Config, Pool, Runtime};
use nestegg_ports::{Cache, CacheError, Cached, HealthProbe, RepoError};

/// The scope's version (0 until its first invalidation) and one field, read together so that
/// a value is never paired with a version from after a write. KEYS: version, hash; ARGV: field.
const CACHE_GET: &str = r"
return {redis.call('GET', KEYS[1]) or '0', redis.call('HGET', KEYS[2], ARGV[1])}
";

/// Stores the field and restarts the hash's TTL only if the version is still the one the
/// caller read; returns 1 if it stored. Versions are compared as the decimal text INCR keeps,
/// so no precision is lost in Lua numbers. ARGV: version, field, value, ttl ms.
const CACHE_PUT: &str = r"
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
";

/// Bumps the version (keeping it for ARGV[1] seconds more) and drops every field.
const CACHE_INVALIDATE: &str = r"
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 0
";

/// How long a version outlives the scope's last invalidation. A version that expires reads
/// as 0 again, which is safe because no reader holds a version for anywhere near this long,
/// and the fields it guarded are unchanged since (every write bumps and refreshes it).
const CACHE_VERSION_TTL_SECS: u64 = 7 * 24 * 60 * 60;

/// The longest field TTL sent to Redis, which refuses expiry times beyond its clock's range.
const CACHE_MAX_TTL_MS: u64 = 365 * 24 * 60 * 60 * 1000;

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

    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub(crate) async fn conn(&self) -> Result<deadpool_redis::Connection, RepoError> {
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

/// Cached values in Redis, shared by every instance: per scope, a version counter
/// (`<prefix>cache:<scope>:ver`) and a hash of field to value (`<prefix>cache:<scope>`) that
/// expires `ttl` after its last put. Each call is one Lua script, so the version check and the
/// store are atomic. Scope names must not end in `:ver`, or their hash would be another
/// scope's version key.
#[derive(Debug, Clone)]
pub struct RedisCache {
    store: RedisStore,
}

impl RedisCache {
    /// A cache over `store`.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        Self { store }
    }

    /// An EVAL of `script` over the scope's two keys: KEYS[1] the version, KEYS[2] the hash.
    fn script(&self, script: &str, scope: &str) -> redis::Cmd {
        let hash = self.store.key(&format!("cache:{scope}"));
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(2).arg(format!("{hash}:ver")).arg(hash);
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
        let mut cmd = self.script(CACHE_GET, scope);
        cmd.arg(field);
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
        // PEXPIRE 0 would delete the hash at once; at least 1 ms keeps "store, then expire".
        let ttl_ms = u64::try_from(ttl.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, CACHE_MAX_TTL_MS);
        let mut cmd = self.script(CACHE_PUT, scope);
        cmd.arg(version).arg(field).arg(value).arg(ttl_ms);
        Ok(self.query::<u8>(&cmd).await? == 1)
    }

    #[tracing::instrument(level = "debug", skip(self), err(level = "warn"))]
    async fn invalidate(&self, scope: &str) -> Result<(), CacheError> {
        let mut cmd = self.script(CACHE_INVALIDATE, scope);
        cmd.arg(CACHE_VERSION_TTL_SECS);
        self.query::<u8>(&cmd).await.map(|_| ())
    }
}
