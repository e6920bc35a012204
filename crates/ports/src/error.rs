//! The ports' errors, in the ports' own words.

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row does not exist (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// A uniqueness or restriction rule refused the write; `what` names the rule
    /// (`"email"`, `"username"`, `"account_has_transactions"`, ...).
    #[error("conflict on {what}")]
    Conflict {
        /// The field or rule that conflicted.
        what: String,
    },
    /// A domain rule checked inside the store's transaction (a balance that would break its
    /// account type's rule) refused the write; nothing was written.
    #[error(transparent)]
    Rule(#[from] nestegg_domain::DomainError),
    /// The store cannot be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the cause is for the logs, never for the client.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a security primitive (hashing, encryption) failed.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The ciphertext or hash is malformed or was tampered with.
    #[error("invalid or tampered data")]
    Invalid,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, forged, signed with another algorithm or key.
    #[error("invalid token")]
    Invalid,
    /// Past its expiry.
    #[error("expired token")]
    Expired,
}
