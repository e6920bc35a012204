//! The in-memory cache keeps the cache contract; what only it does is tested beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod contract;

cache_contract!(
    in_memory_cache,
    Some(nestegg_cache::InMemoryCache::default())
);

/// Scope versions in a map: the store the shared-version cache reads, standing in for the
/// database (whose adapter has its own tests in the persistence crate).
#[derive(Default)]
struct MapVersions(std::sync::Mutex<std::collections::HashMap<String, u64>>);

#[async_trait::async_trait]
impl nestegg_ports::ScopeVersions for MapVersions {
    async fn current(&self, scope: &str) -> Result<u64, nestegg_ports::CacheError> {
        Ok(self.0.lock().unwrap().get(scope).copied().unwrap_or(0))
    }

    async fn bump(&self, scope: &str) -> Result<(), nestegg_ports::CacheError> {
        *self.0.lock().unwrap().entry(scope.to_owned()).or_default() += 1;
        Ok(())
    }
}

fn shared_version_cache() -> nestegg_cache::SharedVersionCache {
    nestegg_cache::SharedVersionCache::new(
        std::sync::Arc::new(nestegg_cache::InMemoryCache::default()),
        std::sync::Arc::new(MapVersions::default()),
    )
}

cache_contract!(shared_version_cache_contract, Some(shared_version_cache()));

mod shared_versions {
    use std::sync::Arc;
    use std::time::Duration;

    use nestegg_cache::{InMemoryCache, SharedVersionCache};
    use nestegg_ports::Cache;

    use super::MapVersions;

    #[tokio::test]
    async fn a_bump_through_one_instance_retires_the_value_another_instance_holds() {
        let versions = Arc::new(MapVersions::default());
        let first = SharedVersionCache::new(Arc::new(InMemoryCache::default()), versions.clone());
        let second = SharedVersionCache::new(Arc::new(InMemoryCache::default()), versions);
        let v = second.get("user:1", "overview").await.unwrap().version;
        assert!(
            second
                .put_if_current("user:1", "overview", "before", v, Duration::from_secs(60))
                .await
                .unwrap()
        );
        assert_eq!(
            second
                .get("user:1", "overview")
                .await
                .unwrap()
                .value
                .as_deref(),
            Some("before")
        );

        first.invalidate("user:1").await.unwrap();

        assert_eq!(second.get("user:1", "overview").await.unwrap().value, None);
    }
}
