//! Passwords, access tokens, secret tokens and encryption.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_domain::Password;
use uuid::Uuid;

use crate::error::{SecurityError, TokenError};

/// Slow password hashing; implementations keep the work off the async workers.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] when hashing fails.
    async fn hash(&self, password: &Password) -> Result<String, SecurityError>;

    /// Whether `password` matches `hash`. A malformed hash is a mismatch, not an error.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] when the work cannot be scheduled.
    async fn verify(&self, password: &str, hash: &str) -> Result<bool, SecurityError>;

    /// A valid hash of a random password at the configured cost, so that a login for an
    /// unknown user spends the same time as one with a wrong password.
    fn dummy_hash(&self) -> String;
}

/// A signed access token and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedAccessToken {
    /// The compact token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Who an access token speaks for: the user, and the session it was issued in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub user_id: Uuid,
    /// The session (refresh-token family); the token is good only while it is live.
    pub session_id: Uuid,
}

/// Short-lived bearer tokens.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait AccessTokens: Send + Sync {
    /// Issues a token for `claims`.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] when signing fails.
    fn issue(
        &self,
        claims: AccessClaims,
        now: DateTime<Utc>,
    ) -> Result<IssuedAccessToken, SecurityError>;

    /// Whom a token speaks for, if it is genuine and unexpired at `now`. Whether its session is
    /// still live is for the caller to check.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] or [`TokenError::Expired`].
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError>;
}

/// Opaque random secrets (refresh tokens) and their storage hashes.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait SecretTokens: Send + Sync {
    /// A new random token of at least 256 bits, URL-safe.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] when the system's randomness fails.
    fn generate(&self) -> Result<String, SecurityError>;

    /// The hash under which a token is stored and looked up.
    fn hash(&self, token: &str) -> String;
}

/// A secret sealed at rest: the id of the key it was sealed with, and the sealed text.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Which key sealed it (not secret: it only names the key).
    pub key_id: String,
    /// Nonce, ciphertext and tag, as text safe to store.
    pub ciphertext: String,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({}, ***)", self.key_id)
    }
}

/// Authenticated symmetric encryption under a key ring (for Plaid access tokens at rest): new
/// secrets are sealed with the current key, and older keys still open what they sealed until
/// everything is sealed again.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Cipher: Send + Sync {
    /// The id of the key new secrets are sealed with.
    fn current_key_id(&self) -> String;

    /// Seals `plaintext` with the current key and a fresh nonce, bound to `context` (e.g. the
    /// row's id): it opens only with the same context.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] when encryption fails.
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SecurityError>;

    /// Opens what [`Cipher::seal`] produced, with the key it names.
    ///
    /// # Errors
    /// [`SecurityError::Invalid`] when the key is unknown, the text is malformed or altered, or
    /// the context differs.
    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SecurityError>;
}
