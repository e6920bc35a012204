//! The ports' errors, in the ports' own words.

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row does not exist (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// A uniqueness or restriction rule refused the write.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A domain rule checked inside the store's transaction (a balance that would break its
    /// account type's rule) refused the write; nothing was written.
    #[error(transparent)]
    Rule(#[from] nestegg_domain::DomainError),
    /// The store cannot be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Concurrent writes collided (a deadlock, a serialization failure, a busy database) and
    /// kept colliding after the store's own retries; trying again shortly will do.
    #[error("the store is busy")]
    Busy,
    /// Anything else; the cause is for the logs, never for the client.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Which uniqueness or restriction rule refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The email belongs to another user.
    #[error("email taken")]
    Email,
    /// The username belongs to another user.
    #[error("username taken")]
    Username,
    /// A refresh token with this hash exists.
    #[error("refresh token exists")]
    Token,
    /// A Plaid account id is linked already.
    #[error("plaid account linked already")]
    PlaidAccount,
    /// A Plaid transaction id is stored already.
    #[error("plaid transaction stored already")]
    PlaidTransaction,
    /// A Plaid item id is linked already.
    #[error("plaid item linked already")]
    PlaidItem,
    /// The account has a snapshot for that date already.
    #[error("snapshot exists")]
    Snapshot,
    /// The user has a default portfolio already.
    #[error("default portfolio exists")]
    DefaultPortfolio,
    /// The security is in the portfolio already.
    #[error("security held already")]
    PortfolioItem,
    /// The account still has transactions.
    #[error("account has transactions")]
    AccountHasTransactions,
    /// A sync's batch was read from a cursor that is no longer the saved one: another sync
    /// applied first, and this one must not move the cursor back.
    #[error("another sync applied first")]
    SyncSuperseded,
    /// A foreign key refused the write: a referenced row is missing or still referenced.
    #[error("restricted by a reference")]
    Restricted,
    /// Another uniqueness rule.
    #[error("duplicate")]
    Unique,
}

/// Why a security primitive (hashing, encryption) failed.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The ciphertext or hash is malformed or was tampered with.
    #[error("invalid or tampered data")]
    Invalid,
    /// Too much password work is already waiting: try again after `retry_after`.
    #[error("too much password work is queued")]
    Busy {
        /// A fair wait before trying again.
        retry_after: std::time::Duration,
    },
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
