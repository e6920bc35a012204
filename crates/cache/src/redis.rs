//! Redis adapters (deadpool-redis), shared by every instance of the service.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis;
use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::{Config, Pool, Runtime};
use nestegg_ports::{Cache, CacheError, Cached, HealthProbe, RepoError};

/// Stores the field, with its own TTL, only if the version is still the one the caller read;
/// returns {1, fields evicted for the bound} if it stored, {0, 0} if not. The scope's index (a sorted set of its field keys by expiry time)
/// drops the expired, then the soonest to expire beyond ARGV[4] fields, deleting them: the
/// bound per scope. Versions are compared as the decimal text INCR keeps, so no precision is
/// lost in Lua numbers. KEYS: version, index, field; ARGV: version, value, ttl ms, max fields.
const CACHE_PUT: &str = r"
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return {0, 0} end
local ttl = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[3], ARGV[1] .. ':' .. ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
local evicted = 0
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
  evicted = over
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return {1, evicted}
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
    /// The connection every command runs on (see [`RedisStore::run`]).
    shared: Arc<Mutex<Option<MultiplexedConnection>>>,
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
            shared: Arc::default(),
        })
    }

    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn shared(&self) -> MutexGuard<'_, Option<MultiplexedConnection>> {
        // Holds no invariant a panic could break: at worst a connection is made again.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one command (a script, a pipeline's worth of work) and reads its reply.
    ///
    /// Every command of this process goes over one multiplexed connection, so concurrent
    /// requests' commands are pipelined on one socket and a cache hit is one round trip. It is
    /// taken out of the pool once, and again after a command on it failed (Redis restarted,
    /// the network cut). Commands are not run on a connection per call from the pool: the
    /// pool checks each connection it hands out with a `PING`, a second round trip per hit.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when Redis cannot be reached or answers with an error.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, RepoError> {
        let cached = self.shared().clone();
        let mut conn = match cached {
            Some(conn) => conn,
            None => {
                let pooled = self
                    .pool
                    .get()
                    .await
                    .map_err(|e| RepoError::Unavailable(e.to_string()))?;
                let mut conn = deadpool_redis::Connection::take(pooled);
                conn.set_response_timeout(COMMAND_TIMEOUT);
                *self.shared() = Some(conn.clone());
                conn
            }
        };
        match cmd.query_async::<T>(&mut conn).await {
            Ok(reply) => Ok(reply),
            Err(e) => {
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                    // The next command makes a new connection.
                    *self.shared() = None;
                }
                Err(RepoError::Unavailable(e.to_string()))
            }
        }
    }
}

/// How long a command may wait for its reply before Redis counts as unavailable.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

#[async_trait]
impl HealthProbe for RedisStore {
    async fn ping(&self) -> Result<(), RepoError> {
        self.run::<String>(&redis::cmd("PING")).await.map(|_| ())
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
    /// Values this instance's puts deleted to keep their scope within `max_fields`.
    evicted: Arc<AtomicU64>,
}

impl RedisCache {
    /// A cache over `store`, holding at most [`DEFAULT_MAX_FIELDS_PER_SCOPE`] per scope.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        Self {
            store,
            max_fields: DEFAULT_MAX_FIELDS_PER_SCOPE,
            evicted: Arc::default(),
        }
    }

    /// How many values this instance's puts have deleted to keep a scope within its bound
    /// (values that expire, and what Redis's own `maxmemory` policy evicts, are not counted:
    /// Redis's `INFO stats` has those).
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
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
        self.store
            .run(cmd)
            .await
            .map_err(|e| CacheError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl Cache for RedisCache {
    #[tracing::instrument(level = "debug", skip(self), err(level = "warn"))]
    async fn get(&self, scope: &str, field: &str) -> Result<Cached, CacheError> {
        // The version and the field in one MGET (one round trip, atomic, and cheaper for Redis
        // than a script). Values are kept as `<version>:<text>`; one stored under another
        // version than the scope's (an invalidation failed to delete it) is not returned, so
        // a value is never paired with a version from after a write.
        let base = self.store.key(&format!("cache:{scope}"));
        let mut cmd = redis::cmd("MGET");
        cmd.arg(format!("{base}:ver"))
            .arg(format!("{base}:f:{field}"));
        let (version, stored) = self.query::<(Option<u64>, Option<String>)>(&cmd).await?;
        let version = version.unwrap_or(0);
        let value = stored.and_then(|mut stored| {
            let sep = stored.find(':')?;
            // The text is split off, not copied: reports run to hundreds of KB.
            (stored[..sep].parse::<u64>().ok()? == version).then(|| stored.split_off(sep + 1))
        });
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
        let (stored, evicted) = self.query::<(u8, u64)>(&cmd).await?;
        self.evicted.fetch_add(evicted, Ordering::Relaxed);
        Ok(stored == 1)
    }

    #[tracing::instrument(level = "debug", skip(self), err(level = "warn"))]
    async fn invalidate(&self, scope: &str) -> Result<(), CacheError> {
        let mut cmd = self.script(CACHE_INVALIDATE, scope, &[":idx", ""]);
        cmd.arg(CACHE_VERSION_TTL_SECS);
        self.query::<u8>(&cmd).await.map(|_| ())
    }
}
