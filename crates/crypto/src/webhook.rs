//! Verifying Plaid's webhooks: the `Plaid-Verification` header is an ES256 JWT whose key Plaid
//! publishes by `kid`, whose `iat` must be recent and whose `request_body_sha256` must name the
//! exact body received.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use nestegg_ports::{Plaid, PlaidError, SecurityError, WebhookKey, WebhookVerifier};
use serde::Deserialize;
use tokio::sync::Mutex;

/// How old a webhook's `iat` may be.
const MAX_AGE: i64 = 5 * 60;
/// How long a fetched key (or the news that a `kid` is unknown) is kept.
const KEY_TTL: Duration = Duration::from_secs(24 * 3600);
const UNKNOWN_TTL: Duration = Duration::from_secs(5 * 60);
/// Most keys kept: a flood of made-up `kid`s cannot grow the cache without bound.
const MAX_KEYS: usize = 64;

#[derive(Deserialize)]
struct Claims {
    iat: i64,
    request_body_sha256: String,
}

/// Verifies webhooks against the keys Plaid publishes through `/webhook_verification_key/get`,
/// fetched by `kid` and cached.
pub struct PlaidWebhookVerifier {
    plaid: Arc<dyn Plaid>,
    keys: Mutex<HashMap<String, (Option<WebhookKey>, Instant)>>,
}

impl std::fmt::Debug for PlaidWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlaidWebhookVerifier")
    }
}

impl PlaidWebhookVerifier {
    /// A verifier fetching keys through `plaid`.
    #[must_use]
    pub fn new(plaid: Arc<dyn Plaid>) -> Self {
        Self {
            plaid,
            keys: Mutex::new(HashMap::new()),
        }
    }

    async fn key(&self, kid: &str) -> Result<Option<WebhookKey>, SecurityError> {
        let mut keys = self.keys.lock().await;
        if let Some((key, at)) = keys.get(kid) {
            let ttl = if key.is_some() { KEY_TTL } else { UNKNOWN_TTL };
            if at.elapsed() < ttl {
                return Ok(key.clone());
            }
        }
        let fetched = match self.plaid.webhook_verification_key(kid).await {
            Ok(key) => Some(key),
            Err(PlaidError::Other { .. } | PlaidError::InvalidToken) => None,
            Err(e) => {
                return Err(SecurityError::Unexpected(anyhow::anyhow!(
                    "cannot fetch Plaid's webhook key: {e}"
                )));
            }
        };
        if keys.len() >= MAX_KEYS {
            keys.retain(|_, (key, _)| key.is_some());
            if keys.len() >= MAX_KEYS {
                keys.clear();
            }
        }
        keys.insert(kid.to_owned(), (fetched.clone(), Instant::now()));
        Ok(fetched)
    }
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[async_trait]
impl WebhookVerifier for PlaidWebhookVerifier {
    async fn verify(
        &self,
        jwt: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SecurityError> {
        let header = decode_header(jwt).map_err(|_| SecurityError::Invalid)?;
        // Pinned: a token naming another algorithm (`none`, HS256 with the public key) is
        // refused before any key is looked at.
        if header.alg != Algorithm::ES256 {
            return Err(SecurityError::Invalid);
        }
        let kid = header.kid.ok_or(SecurityError::Invalid)?;
        let key = self.key(&kid).await?.ok_or(SecurityError::Invalid)?;
        if key.alg != "ES256" || key.kty != "EC" || key.crv != "P-256" {
            return Err(SecurityError::Invalid);
        }
        if key.expired_at.is_some_and(|at| at <= now.timestamp()) {
            return Err(SecurityError::Invalid);
        }
        let decoding =
            DecodingKey::from_ec_components(&key.x, &key.y).map_err(|_| SecurityError::Invalid)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["iat"]);
        let claims = decode::<Claims>(jwt, &decoding, &validation)
            .map_err(|_| SecurityError::Invalid)?
            .claims;
        let age = now.timestamp() - claims.iat;
        if !(-MAX_AGE..=MAX_AGE).contains(&age) {
            return Err(SecurityError::Invalid);
        }
        let actual = crate::sha256_hex(body);
        if !same(
            actual.as_bytes(),
            claims.request_body_sha256.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(SecurityError::Invalid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn byte_strings_compare_equal_only_when_identical() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(same(b"", b""));
    }
}
