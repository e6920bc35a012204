//! bcrypt, with a SHA-256 pre-hash so that every character of a long password counts.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nestegg_domain::Password;
use nestegg_ports::{PasswordHasher, SecurityError};
use ring::digest::{SHA256, digest};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// bcrypt at a fixed cost. bcrypt reads only the first 72 bytes of its input, and a 128
/// character password can be 512 bytes, so the password is first reduced to the base64 of its
/// SHA-256 (44 bytes, no NUL) and that is what bcrypt hashes.
///
/// At most `2 × cores` hashes run at once; the rest wait their turn, so a burst of logins
/// queues instead of filling the blocking thread pool.
#[derive(Debug, Clone)]
pub struct BcryptHasher {
    cost: u32,
    dummy: String,
    permits: Arc<Semaphore>,
}

fn prehash(password: &str) -> String {
    STANDARD.encode(digest(&SHA256, password.as_bytes()))
}

impl BcryptHasher {
    /// A hasher at `cost` (4-31). Computes the dummy hash once, here, at start-up.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] for a cost outside 4-31.
    pub fn new(cost: u32) -> Result<Self, SecurityError> {
        let dummy = bcrypt::hash(prehash("nestegg dummy password"), cost)
            .map_err(|e| SecurityError::Unexpected(e.into()))?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Ok(Self {
            cost,
            dummy,
            permits: Arc::new(Semaphore::new(cores * 2)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, SecurityError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| SecurityError::Unexpected(e.into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| SecurityError::Unexpected(e.into()))
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> Result<String, SecurityError> {
        let input = prehash(password.expose());
        let cost = self.cost;
        self.run(move || bcrypt::hash(input, cost))
            .await?
            .map_err(|e| SecurityError::Unexpected(e.into()))
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<bool, SecurityError> {
        let input = prehash(password);
        let hash = hash.to_owned();
        let result = self.run(move || bcrypt::verify(input, &hash)).await?;
        Ok(result.unwrap_or(false))
    }

    fn dummy_hash(&self) -> String {
        self.dummy.clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_and_no_other() {
        let hasher = BcryptHasher::new(4).unwrap();
        let hash = hasher
            .hash(&Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$2b$04$"));
        assert!(hasher.verify("correct horse battery", &hash).await.unwrap());
        assert!(!hasher.verify("correct horse batterY", &hash).await.unwrap());
    }

    #[tokio::test]
    async fn passwords_differing_only_after_72_bytes_do_not_match() {
        let hasher = BcryptHasher::new(4).unwrap();
        let long = "a".repeat(100);
        let hash = hasher.hash(&Password::parse(&long).unwrap()).await.unwrap();
        let other = format!("{}b", "a".repeat(99));
        assert!(!hasher.verify(&other, &hash).await.unwrap());
    }

    #[tokio::test]
    async fn a_malformed_hash_is_a_mismatch_not_an_error() {
        let hasher = BcryptHasher::new(4).unwrap();
        assert!(!hasher.verify("whatever", "not a hash").await.unwrap());
        assert!(
            !hasher
                .verify("whatever", &hasher.dummy_hash())
                .await
                .unwrap()
        );
    }

    #[test]
    fn a_cost_out_of_range_is_refused() {
        assert!(BcryptHasher::new(3).is_err());
        assert!(BcryptHasher::new(32).is_err());
    }
}
