//! Sessions and their refresh tokens: single-use, stored only as hashes, grouped in families
//! (one per session) for reuse detection.

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

/// A session: one login and every refresh token rotated from it (its family, whose id is the
/// session's). Access tokens name it; once it has ended, they are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's id, which is its refresh-token family's id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// The absolute end of the session, however often it is refreshed.
    pub expires_at: DateTime<Utc>,
    /// When it was ended (logout, password change, reuse of a spent token), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it began.
    pub created_at: DateTime<Utc>,
}

impl Session {
    /// Whether the session is still in force at `now`.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A session to begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Id chosen by the caller; the family id of its refresh tokens.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// The absolute end of the session.
    pub expires_at: DateTime<Utc>,
    /// When it begins.
    pub created_at: DateTime<Utc>,
}

/// What came of [`RefreshTokenRepository::rotate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was spent and its successor stored.
    Rotated,
    /// The token had been used or revoked already (a concurrent reuse); nothing changed.
    AlreadySpent,
    /// The session had ended or expired; nothing changed.
    SessionEnded,
}

/// Where sessions and their refresh tokens are kept.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RefreshTokenRepository: Send + Sync {
    /// Begins a session with its first refresh token, in one transaction.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the user no longer exists; store failures.
    async fn start(&self, session: NewSession, first: NewRefreshToken) -> Result<(), RepoError>;

    /// The session with this id, if any (ended ones too).
    ///
    /// # Errors
    /// Store failures.
    async fn find_session(&self, id: Uuid) -> Result<Option<Session>, RepoError>;

    /// The token with this hash, if any.
    ///
    /// # Errors
    /// Store failures.
    async fn find_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>, RepoError>;

    /// Marks `spent` used and stores `next` (of the same family), in one transaction, only if
    /// `spent` was neither used nor revoked and its session is live at `now`. The check and the
    /// write are atomic with respect to [`RefreshTokenRepository::revoke_family`] and to a
    /// password change: a session ended concurrently never gains a token.
    ///
    /// # Errors
    /// Store failures.
    async fn rotate(
        &self,
        spent: Uuid,
        now: DateTime<Utc>,
        next: NewRefreshToken,
    ) -> Result<Rotation, RepoError>;

    /// Ends a session: revokes it and every token of its family.
    ///
    /// # Errors
    /// Store failures.
    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError>;
}
