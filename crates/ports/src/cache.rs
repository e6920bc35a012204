//! A cache of computed reports, per user, that a write can never leave stale.

use std::time::Duration;

use async_trait::async_trait;

/// Why a cache call failed. Callers fall back to computing the value.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The cache cannot be reached.
    #[error("cache unavailable: {0}")]
    Unavailable(String),
}

/// What [`Cache::get`] found: the scope's current version, and the value if one is cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    /// The scope's version when read; pass it to [`Cache::put_if_current`].
    pub version: u64,
    /// The cached text, if any.
    pub value: Option<String>,
}

/// Values (JSON text) grouped in scopes (`user:<id>`), each field under its own TTL, in a
/// bounded store that may evict any value early (a miss only costs a recomputation).
///
/// A scope has a version that [`Cache::invalidate`] bumps. A reader that missed computes the
/// value and stores it with the version it read; the store is skipped if a write invalidated
/// the scope meanwhile, so a value computed before a write is never served after it.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Cache: Send + Sync {
    /// The scope's version and the field's value, read together.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the cache cannot be reached.
    async fn get(&self, scope: &str, field: &str) -> Result<Cached, CacheError>;

    /// Stores `value` under `field` for `ttl` if the scope is still at `version`; returns
    /// whether the version matched (the value may still be evicted at once, and is never
    /// served once the scope has moved past `version`).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the cache cannot be reached.
    async fn put_if_current(
        &self,
        scope: &str,
        field: &str,
        value: &str,
        version: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError>;

    /// Drops every field of the scope and bumps its version.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the cache cannot be reached.
    async fn invalidate(&self, scope: &str) -> Result<(), CacheError>;
}

/// Scope versions kept where every server instance reads them (the database), for instances
/// that share no cache server: each keeps values in its own memory and serves one only while
/// the version it was computed under is still the stored one.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ScopeVersions: Send + Sync {
    /// The scope's version now (0 before its first bump).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the store cannot be reached.
    async fn current(&self, scope: &str) -> Result<u64, CacheError>;

    /// Moves the scope to a new version, which no earlier reader holds.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the store cannot be reached.
    async fn bump(&self, scope: &str) -> Result<(), CacheError>;
}
