//! Refresh tokens: single-use, stored only as hashes, grouped in families for reuse detection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::RepoError;

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Opaque id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// All tokens rotated from one login share a family; reuse of a spent one revokes it.
    pub family_id: Uuid,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// After this the token is refused.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for a new pair, if it was.
    pub used_at: Option<DateTime<Utc>>,
    /// When it was revoked (logout, password change, reuse), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

/// A refresh token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Family.
    pub family_id: Uuid,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Issue time.
    pub created_at: DateTime<Utc>,
}

/// Where refresh tokens are kept.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RefreshTokenRepository: Send + Sync {
    /// Stores a freshly issued token.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the user no longer exists; store failures.
    async fn insert(&self, token: NewRefreshToken) -> Result<(), RepoError>;

    /// The token with this hash, if any.
    ///
    /// # Errors
    /// Store failures.
    async fn find_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>, RepoError>;

    /// Marks `spent` used and stores `next`, in one transaction, only if `spent` was neither
    /// used nor revoked. Returns `false`, changing nothing, when it was (a concurrent reuse).
    ///
    /// # Errors
    /// Store failures.
    async fn rotate(
        &self,
        spent: Uuid,
        now: DateTime<Utc>,
        next: NewRefreshToken,
    ) -> Result<bool, RepoError>;

    /// Revokes every token of a family.
    ///
    /// # Errors
    /// Store failures.
    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError>;
}
