//! Users and their repository.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_domain::{Email, Preferences, Username};
use uuid::Uuid;

use crate::error::RepoError;

/// A stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Opaque id.
    pub id: Uuid,
    /// Lower-case email address, unique.
    pub email: Email,
    /// Username, unique.
    pub username: Username,
    /// bcrypt hash of the password.
    pub password_hash: String,
    /// Whether the user may log in.
    pub is_active: bool,
    /// Whether the email address was verified.
    pub is_verified: bool,
    /// Preferences (base currency, ...).
    pub preferences: Preferences,
    /// When the user registered.
    pub created_at: DateTime<Utc>,
    /// When the user last changed.
    pub updated_at: DateTime<Utc>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Id chosen by the caller.
    pub id: Uuid,
    /// Lower-case email address.
    pub email: Email,
    /// Username.
    pub username: Username,
    /// bcrypt hash of the password.
    pub password_hash: String,
    /// Initial preferences.
    pub preferences: Preferences,
    /// Creation time, also the first `updated_at`.
    pub now: DateTime<Utc>,
}

/// Where users are kept.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user.
    ///
    /// # Errors
    /// [`RepoError::Conflict`] ([`crate::Conflict::Email`] or [`crate::Conflict::Username`]) when
    /// either is taken.
    async fn create(&self, user: NewUser) -> Result<User, RepoError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] or [`RepoError::Unexpected`] when the store fails.
    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepoError>;

    /// The user whose email or username is `login` (already lower-cased), if any.
    ///
    /// # Errors
    /// When the store fails.
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, RepoError>;

    /// Changes the username and/or preferences.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for an unknown id, [`RepoError::Conflict`] ([`crate::Conflict::Username`]) when
    /// the new username is taken.
    async fn update_profile(
        &self,
        id: Uuid,
        username: Option<Username>,
        preferences: Option<Preferences>,
        now: DateTime<Utc>,
    ) -> Result<User, RepoError>;

    /// Replaces the password hash and ends every session of the user (revoking their refresh
    /// tokens), atomically.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for an unknown id.
    async fn change_password(
        &self,
        id: Uuid,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError>;

    /// Deletes the user and every row the user owns, in one transaction.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] for an unknown id.
    async fn delete(&self, id: Uuid) -> Result<(), RepoError>;
}
