//! Random opaque tokens and their storage hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nestegg_ports::{SecretTokens, SecurityError};
use ring::rand::{SecureRandom, SystemRandom};

/// 256-bit random tokens, URL-safe base64; stored as the hex SHA-256 of the token. A fast hash
/// is enough: the token is random, so there is nothing to guess.
#[derive(Debug, Clone)]
pub struct RandomSecretTokens {
    rng: SystemRandom,
}

impl RandomSecretTokens {
    /// A generator over the system's randomness.
    #[must_use]
    pub fn new() -> Self {
        Self {
            rng: SystemRandom::new(),
        }
    }
}

impl Default for RandomSecretTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretTokens for RandomSecretTokens {
    fn generate(&self) -> Result<String, SecurityError> {
        let mut bytes = [0u8; 32];
        self.rng
            .fill(&mut bytes)
            .map_err(|_| SecurityError::Unexpected(anyhow::anyhow!("system randomness failed")))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn hash(&self, token: &str) -> String {
        crate::sha256_hex(token.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_are_stable_hex() {
        let s = RandomSecretTokens::new();
        let (a, b) = (s.generate().unwrap(), s.generate().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(s.hash(&a), s.hash(&a));
        assert_eq!(s.hash(&a).len(), 64);
        assert_ne!(s.hash(&a), s.hash(&b));
        assert_eq!(
            s.hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
