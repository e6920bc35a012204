//! Whether a dependency answers, for the readiness endpoint.

use async_trait::async_trait;

use crate::error::RepoError;

/// Whether the primary store answers.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// Runs a trivial query.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the store does not answer.
    async fn ping(&self) -> Result<(), RepoError>;
}
