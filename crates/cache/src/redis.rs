//! Redis adapters (deadpool-redis), shared by every instance of the service.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::{Config, Pool, Runtime};
use nestegg_ports::{HealthProbe, LoginThrottle, RepoError, ThrottleKey};

/// INCR that starts the window's expiry on the first failure, atomically.
const INCR_WINDOW: &str = "local n = redis.call('INCR', KEYS[1]) \
    if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

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

    async fn waits(&self, keys: &[ThrottleKey]) -> Result<Option<Duration>, RepoError> {
        let mut conn = self.store.conn().await?;
        let mut pipe = redis::pipe();
        for k in keys {
            let key = self.store.key(&k.key);
            pipe.get(&key).pttl(&key);
        }
        let replies: Vec<(Option<u32>, i64)> = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        Ok(keys
            .iter()
            .zip(replies)
            .filter_map(|(k, (count, ttl_ms))| {
                (count.unwrap_or(0) >= k.max_failures && ttl_ms > 0)
                    .then(|| Duration::from_millis(ttl_ms.unsigned_abs()))
            })
            .max())
    }
}

#[async_trait]
impl LoginThrottle for RedisThrottle {
    async fn check(&self, keys: &[ThrottleKey], _now: DateTime<Utc>) -> Result<(), Duration> {
        match self.waits(keys).await {
            Ok(None) => Ok(()),
            // Round up so that waiting exactly Retry-After seconds is enough.
            Ok(Some(wait)) => Err(Duration::from_secs(
                wait.as_millis().div_ceil(1000).max(1) as u64
            )),
            Err(e) => {
                tracing::warn!(error = %e, "login throttle unavailable; allowing the attempt");
                Ok(())
            }
        }
    }

    async fn record_failure(&self, keys: &[ThrottleKey], _now: DateTime<Utc>) {
        let result = async {
            let mut conn = self.store.conn().await?;
            for k in keys {
                redis::cmd("EVAL")
                    .arg(INCR_WINDOW)
                    .arg(1)
                    .arg(self.store.key(&k.key))
                    .arg(k.window.as_millis().max(1) as u64)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map_err(|e| RepoError::Unavailable(e.to_string()))?;
            }
            Ok::<_, RepoError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "login throttle unavailable; failure not counted");
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
