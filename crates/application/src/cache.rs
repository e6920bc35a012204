//! Cached reports per user, never stale after a write.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use nestegg_ports::{Cache, CacheLookup, Cached, Metrics, NoMetrics};
use serde::Serialize;
use uuid::Uuid;

use crate::error::AppError;

/// Reads through the cache and invalidates a user's reports after their writes. A cache
/// outage never fails a request: reads fall back to computing, and the outage is logged.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct ReportCache {
    cache: Arc<dyn Cache>,
    ttl: Duration,
    metrics: Arc<dyn Metrics>,
}

/// What a cache lookup found: the text, or the version to store a computed value under
/// (`None` when the cache is unavailable, so nothing is stored).
enum Lookup {
    Hit(String),
    Miss(Option<u64>),
}

fn scope(user_id: Uuid) -> String {
    format!("user:{user_id}")
}

impl ReportCache {
    /// A cache keeping values for `ttl` at most.
    #[must_use]
    pub fn new(cache: Arc<dyn Cache>, ttl: Duration) -> Self {
        Self {
            cache,
            ttl,
            metrics: Arc::new(NoMetrics),
        }
    }

    /// The same cache, counting each lookup (hit, miss, unavailable) in `metrics`.
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// The cached JSON text of `field` for the user, or that of `compute`'s value, which is
    /// then cached unless a write invalidated the user's reports while it ran. The text is the
    /// caller's response shape, so a hit is served without parsing and serializing it again
    /// (the hot path of reports).
    ///
    /// # Errors
    /// Those of `compute`, or [`AppError::Unexpected`] if the value cannot be serialized.
    pub async fn get_or_compute_json<T, F, Fut>(
        &self,
        user_id: Uuid,
        field: &str,
        compute: F,
    ) -> Result<String, AppError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        let scope = scope(user_id);
        let version = match self.lookup(&scope, field).await {
            Lookup::Hit(text) => return Ok(text),
            Lookup::Miss(version) => version,
        };
        let text = Self::computed_json(compute).await?;
        if let Some(version) = version {
            self.store(&scope, field, &text, version).await;
        }
        Ok(text)
    }

    /// As [`ReportCache::get_or_compute_json`] when `worth_caching`; otherwise the JSON text
    /// of `compute`'s value, without reading or filling the cache.
    ///
    /// # Errors
    /// As [`ReportCache::get_or_compute_json`].
    pub async fn get_or_compute_json_if<T, F, Fut>(
        &self,
        worth_caching: bool,
        user_id: Uuid,
        field: &str,
        compute: F,
    ) -> Result<String, AppError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        if worth_caching {
            self.get_or_compute_json(user_id, field, compute).await
        } else {
            Self::computed_json(compute).await
        }
    }

    async fn computed_json<T, F, Fut>(compute: F) -> Result<String, AppError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        let value = compute().await?;
        serde_json::to_string(&value).map_err(|e| AppError::Unexpected(e.into()))
    }

    async fn lookup(&self, scope: &str, field: &str) -> Lookup {
        let lookup = self.read(scope, field).await;
        self.metrics.report_cache(match &lookup {
            Lookup::Hit(_) => CacheLookup::Hit,
            Lookup::Miss(Some(_)) => CacheLookup::Miss,
            Lookup::Miss(None) => CacheLookup::Unavailable,
        });
        lookup
    }

    async fn read(&self, scope: &str, field: &str) -> Lookup {
        match self.cache.get(scope, field).await {
            Ok(Cached {
                value: Some(text), ..
            }) => Lookup::Hit(text),
            Ok(Cached {
                version,
                value: None,
            }) => Lookup::Miss(Some(version)),
            Err(e) => {
                tracing::warn!(error = %e, "cache unavailable; computing from the database");
                Lookup::Miss(None)
            }
        }
    }

    async fn store(&self, scope: &str, field: &str, text: &str, version: u64) {
        if let Err(e) = self
            .cache
            .put_if_current(scope, field, text, version, self.ttl)
            .await
        {
            tracing::warn!(error = %e, "cache unavailable; value not stored");
        }
    }

    /// Drops the user's cached reports; call after every write that changes them.
    pub async fn invalidate(&self, user_id: Uuid) {
        if let Err(e) = self.cache.invalidate(&scope(user_id)).await {
            // The TTL bounds how long a value cached before the outage can outlive this write.
            tracing::error!(error = %e, %user_id, "cache invalidation failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use mockall::predicate::eq;
    use nestegg_ports::cache::MockCache;
    use nestegg_ports::{CacheError, CacheLookup, Cached};
    use uuid::Uuid;

    use crate::error::AppError;
    use crate::test_support::{Counted, Recorded, report_cache as cache};

    #[tokio::test]
    async fn a_hit_is_served_without_computing() {
        let mut mock = MockCache::new();
        mock.expect_get().returning(|_, _| {
            Ok(Cached {
                version: 3,
                value: Some("\"cached\"".into()),
            })
        });
        mock.expect_put_if_current().never();
        let text = cache(mock)
            .get_or_compute_json(Uuid::nil(), "f", || async {
                Err::<String, _>(AppError::NotFound("should not be computed"))
            })
            .await
            .unwrap();
        assert_eq!(text, "\"cached\"");
    }

    #[tokio::test]
    async fn a_miss_is_computed_and_stored_under_the_version_read_before() {
        let mut mock = MockCache::new();
        let user = Uuid::now_v7();
        mock.expect_get().returning(|_, _| {
            Ok(Cached {
                version: 7,
                value: None,
            })
        });
        mock.expect_put_if_current()
            .with(
                eq(format!("user:{user}")),
                eq("f"),
                eq("42"),
                eq(7),
                eq(Duration::from_secs(60)),
            )
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let text = cache(mock)
            .get_or_compute_json(user, "f", || async { Ok(42) })
            .await
            .unwrap();
        assert_eq!(text, "42");
    }

    #[tokio::test]
    async fn an_unavailable_cache_computes_and_stores_nothing() {
        let mut mock = MockCache::new();
        mock.expect_get()
            .returning(|_, _| Err(CacheError::Unavailable("down".into())));
        mock.expect_put_if_current().never();
        let text = cache(mock)
            .get_or_compute_json(Uuid::nil(), "f", || async { Ok(5) })
            .await
            .unwrap();
        assert_eq!(text, "5");
    }

    #[tokio::test]
    async fn a_value_not_worth_caching_is_computed_without_touching_the_cache() {
        let mut mock = MockCache::new();
        mock.expect_get().never();
        mock.expect_put_if_current().never();
        let text = cache(mock)
            .get_or_compute_json_if(false, Uuid::nil(), "f", || async { Ok([1, 2]) })
            .await
            .unwrap();
        assert_eq!(text, "[1,2]");
    }

    #[tokio::test]
    async fn each_lookup_is_counted_as_a_hit_a_miss_or_unavailable_and_uncached_reports_not_at_all()
    {
        let mut mock = MockCache::new();
        let mut answers = vec![
            Err(CacheError::Unavailable("down".into())),
            Ok(Cached {
                version: 2,
                value: None,
            }),
            Ok(Cached {
                version: 2,
                value: Some("1".into()),
            }),
        ];
        mock.expect_get()
            .times(3)
            .returning(move |_, _| answers.pop().unwrap());
        mock.expect_put_if_current()
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let recorded = Arc::new(Recorded::default());
        let cache = cache(mock).with_metrics(recorded.clone());
        for worth_caching in [true, true, true, false] {
            cache
                .get_or_compute_json_if(worth_caching, Uuid::nil(), "f", || async { Ok(1) })
                .await
                .unwrap();
        }
        assert_eq!(
            recorded.calls(),
            [
                Counted::Cache(CacheLookup::Hit),
                Counted::Cache(CacheLookup::Miss),
                Counted::Cache(CacheLookup::Unavailable),
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_invalidation_does_not_fail_the_write() {
        let mut mock = MockCache::new();
        mock.expect_invalidate()
            .times(1)
            .returning(|_| Err(CacheError::Unavailable("down".into())));
        cache(mock).invalidate(Uuid::nil()).await;
    }
}
