//! Redis adapters (deadpool-redis), shared by every instance of the service.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::{Config, Pool, Runtime};
use nestegg_ports::{HealthProbe, LoginThrottle, RepoError, ThrottleKey};

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
