//! bcrypt, with a SHA-256 pre-hash so that every character of a long password counts.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nestegg_domain::Password;
use nestegg_ports::{PasswordHasher, SecurityError};
use ring::digest::{SHA256, digest};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// bcrypt at a fixed cost. bcrypt reads only the first 72 bytes of its input, and a 128
/// character password can be 512 bytes, so the password is first reduced to the base64 of its
/// SHA-256 (44 bytes, no NUL) and that is what bcrypt hashes.
///
/// At most `2 × cores` jobs run at once, and the queue is bounded: a job that finds its lane
/// full fails at once with [`SecurityError::Busy`] instead of waiting without end. Hashes
/// (sign-ups, password changes) have a lane of a quarter of the queue and may run on at most
/// half the workers, so a burst of sign-ups can never hold up logins (verifications) by more
/// than one hash each.
#[derive(Debug, Clone)]
pub struct BcryptHasher {
    cost: u32,
    dummy: String,
    workers: Arc<Semaphore>,
    hash_workers: Arc<Semaphore>,
    hash_lane: Arc<Semaphore>,
    verify_lane: Arc<Semaphore>,
}

/// Jobs admitted (running or waiting) by default; see [`BcryptHasher::with_queue`].
pub const DEFAULT_QUEUE: usize = 64;

/// What a client is told to wait when the queue is full: about what a queue's worth of
/// work takes to drain at cost 12 on a small machine.
const RETRY_AFTER: Duration = Duration::from_secs(2);

fn prehash(password: &str) -> String {
    STANDARD.encode(digest(&SHA256, password.as_bytes()))
}

impl BcryptHasher {
    /// A hasher at `cost` (4-31) with the default queue. Computes the dummy hash once, here.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] for a cost outside 4-31.
    pub fn new(cost: u32) -> Result<Self, SecurityError> {
        Self::with_queue(cost, DEFAULT_QUEUE)
    }

    /// A hasher at `cost` admitting at most `queue` jobs at once (running or waiting):
    /// `queue` verifications, and a quarter of it (at least one) hashes.
    ///
    /// # Errors
    /// [`SecurityError::Unexpected`] for a cost outside 4-31.
    pub fn with_queue(cost: u32, queue: usize) -> Result<Self, SecurityError> {
        let dummy = bcrypt::hash(prehash("nestegg dummy password"), cost)
            .map_err(|e| SecurityError::Unexpected(e.into()))?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let workers = cores * 2;
        Ok(Self {
            cost,
            dummy,
            workers: Arc::new(Semaphore::new(workers)),
            hash_workers: Arc::new(Semaphore::new((workers / 2).max(1))),
            hash_lane: Arc::new(Semaphore::new((queue / 4).max(1))),
            verify_lane: Arc::new(Semaphore::new(queue.max(1))),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        lane: &Arc<Semaphore>,
        limit: Option<&Arc<Semaphore>>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, SecurityError> {
        let _ticket = lane
            .clone()
            .try_acquire_owned()
            .map_err(|_| SecurityError::Busy {
                retry_after: RETRY_AFTER,
            })?;
        let _lane_worker = match limit {
            Some(s) => Some(
                s.acquire()
                    .await
                    .map_err(|e| SecurityError::Unexpected(e.into()))?,
            ),
            None => None,
        };
        let _worker = self
            .workers
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
        self.run(&self.hash_lane, Some(&self.hash_workers), move || {
            bcrypt::hash(input, cost)
        })
        .await?
        .map_err(|e| SecurityError::Unexpected(e.into()))
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<bool, SecurityError> {
        let input = prehash(password);
        let hash = hash.to_owned();
        let result = self
            .run(&self.verify_lane, None, move || {
                bcrypt::verify(input, &hash)
            })
            .await?;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_hash_lane_refuses_at_once_while_logins_still_get_through() {
        // A queue of 4 admits one hash at a time; cost 12 keeps it busy for a while.
        let hasher = Arc::new(BcryptHasher::with_queue(12, 4).unwrap());
        let slow = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .hash(&Password::parse("a sign-up password").unwrap())
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        let refused = hasher
            .hash(&Password::parse("another sign-up").unwrap())
            .await;
        assert!(
            matches!(refused, Err(SecurityError::Busy { retry_after }) if retry_after.as_secs() >= 1),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "refused at once"
        );
        let dummy = hasher.dummy_hash();
        assert!(!hasher.verify("a login", &dummy).await.unwrap());
        assert!(slow.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_full_verification_lane_refuses_rather_than_queueing() {
        let hasher = Arc::new(BcryptHasher::with_queue(10, 2).unwrap());
        let dummy = hasher.dummy_hash();
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (hasher, dummy) = (hasher.clone(), dummy.clone());
                tokio::spawn(async move { hasher.verify("guess", &dummy).await })
            })
            .collect();
        let mut busy = 0;
        for job in jobs {
            if matches!(job.await.unwrap(), Err(SecurityError::Busy { .. })) {
                busy += 1;
            }
        }
        assert_eq!(busy, 6, "only two may be admitted at once");
    }

    #[test]
    fn a_cost_out_of_range_is_refused() {
        assert!(BcryptHasher::new(3).is_err());
        assert!(BcryptHasher::new(32).is_err());
    }
}
