//! AES-256-GCM for secrets at rest.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nestegg_ports::{Cipher, SecurityError};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "v1:";

/// AES-256-GCM with a random 96-bit nonce per message; the stored text is
/// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
pub struct AesGcmCipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for AesGcmCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesGcmCipher(***)")
    }
}

impl AesGcmCipher {
    /// A cipher with a 32-byte key.
    ///
    /// # Errors
    /// [`SecurityError::Invalid`] for a key of another length.
    pub fn new(key: &[u8]) -> Result<Self, SecurityError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| SecurityError::Invalid)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }
}

impl Cipher for AesGcmCipher {
    fn encrypt(&self, plaintext: &[u8]) -> Result<String, SecurityError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| SecurityError::Unexpected(anyhow::anyhow!("system randomness failed")))?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .map_err(|_| SecurityError::Unexpected(anyhow::anyhow!("encryption failed")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    fn decrypt(&self, ciphertext: &str) -> Result<Vec<u8>, SecurityError> {
        let body = ciphertext
            .strip_prefix(PREFIX)
            .ok_or(SecurityError::Invalid)?;
        let bytes = STANDARD.decode(body).map_err(|_| SecurityError::Invalid)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecurityError::Invalid);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecurityError::Invalid)?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut sealed)
            .map_err(|_| SecurityError::Invalid)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_text_opens_to_the_original_and_differs_each_time() {
        let c = AesGcmCipher::new(&[9u8; 32]).unwrap();
        let a = c.encrypt(b"access-sandbox-123").unwrap();
        let b = c.encrypt(b"access-sandbox-123").unwrap();
        assert_ne!(a, b);
        assert!(!a.contains("access"));
        assert_eq!(c.decrypt(&a).unwrap(), b"access-sandbox-123");
    }

    #[test]
    fn tampered_or_foreign_text_is_refused() {
        let c = AesGcmCipher::new(&[9u8; 32]).unwrap();
        let sealed = c.encrypt(b"secret").unwrap();
        let mut bytes = STANDARD.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v1:{}", STANDARD.encode(bytes));
        assert!(matches!(c.decrypt(&tampered), Err(SecurityError::Invalid)));
        let other = AesGcmCipher::new(&[1u8; 32]).unwrap();
        assert!(matches!(
            other.decrypt(&sealed),
            Err(SecurityError::Invalid)
        ));
        assert!(matches!(c.decrypt("v1:!!"), Err(SecurityError::Invalid)));
        assert!(matches!(c.decrypt("plain"), Err(SecurityError::Invalid)));
        assert!(AesGcmCipher::new(&[1u8; 16]).is_err());
    }
}
