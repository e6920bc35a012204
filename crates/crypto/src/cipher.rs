//! AES-256-GCM for secrets at rest, under a key ring.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nestegg_ports::{Cipher, Sealed, SecurityError};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "v1:";

/// AES-256-GCM with a random 96-bit nonce per message and the caller's context as associated
/// data; the stored text is `v1:` + base64(nonce ‖ ciphertext ‖ tag). Seals with the current
/// key; opens with whichever key of the ring the sealed value names.
pub struct AesGcmCipher {
    current: (String, LessSafeKey),
    previous: Vec<(String, LessSafeKey)>,
    rng: SystemRandom,
}

impl std::fmt::Debug for AesGcmCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AesGcmCipher({}, ***)", self.current.0)
    }
}

/// A key's public name: the first 16 hex digits of the SHA-256 of a label and the key, so
/// that the id says which key it is without saying anything usable about it.
#[must_use]
pub fn key_id(key: &[u8]) -> String {
    let mut input = b"nestegg key id\0".to_vec();
    input.extend_from_slice(key);
    let mut id = crate::sha256_hex(&input);
    id.truncate(16);
    id
}

fn load(key: &[u8]) -> Result<(String, LessSafeKey), SecurityError> {
    let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| SecurityError::Invalid)?;
    Ok((key_id(key), LessSafeKey::new(unbound)))
}

impl AesGcmCipher {
    /// A cipher with one 32-byte key.
    ///
    /// # Errors
    /// [`SecurityError::Invalid`] for a key of another length.
    pub fn new(key: &[u8]) -> Result<Self, SecurityError> {
        Self::with_previous(key, &[])
    }

    /// A cipher sealing with `current` and still opening what `previous` keys sealed.
    ///
    /// # Errors
    /// [`SecurityError::Invalid`] for a key of another length than 32 bytes.
    pub fn with_previous(current: &[u8], previous: &[&[u8]]) -> Result<Self, SecurityError> {
        Ok(Self {
            current: load(current)?,
            previous: previous.iter().map(|k| load(k)).collect::<Result<_, _>>()?,
            rng: SystemRandom::new(),
        })
    }

    fn key(&self, id: &str) -> Option<&LessSafeKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(kid, _)| kid == id)
            .map(|(_, key)| key)
    }
}

impl Cipher for AesGcmCipher {
    fn current_key_id(&self) -> String {
        self.current.0.clone()
    }

    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SecurityError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| SecurityError::Unexpected(anyhow::anyhow!("system randomness failed")))?;
        let mut sealed = plaintext.to_vec();
        self.current
            .1
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| SecurityError::Unexpected(anyhow::anyhow!("encryption failed")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(Sealed {
            key_id: self.current.0.clone(),
            ciphertext: format!("{PREFIX}{}", STANDARD.encode(out)),
        })
    }

    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let key = self.key(&sealed.key_id).ok_or(SecurityError::Invalid)?;
        let body = sealed
            .ciphertext
            .strip_prefix(PREFIX)
            .ok_or(SecurityError::Invalid)?;
        let bytes = STANDARD.decode(body).map_err(|_| SecurityError::Invalid)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecurityError::Invalid);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecurityError::Invalid)?;
        let mut sealed = sealed.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(context), &mut sealed)
            .map_err(|_| SecurityError::Invalid)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ROW: &[u8] = b"0190-row-a";

    #[test]
    fn sealed_text_opens_to_the_original_and_differs_each_time() {
        let c = AesGcmCipher::new(&[9u8; 32]).unwrap();
        let a = c.seal(b"access-sandbox-123", ROW).unwrap();
        let b = c.seal(b"access-sandbox-123", ROW).unwrap();
        assert_ne!(a.ciphertext, b.ciphertext);
        assert!(!a.ciphertext.contains("access"));
        assert_eq!(a.key_id, c.current_key_id());
        assert_eq!(c.open(&a, ROW).unwrap(), b"access-sandbox-123");
    }

    #[test]
    fn a_secret_sealed_for_one_row_does_not_open_for_another() {
        let c = AesGcmCipher::new(&[9u8; 32]).unwrap();
        let sealed = c.seal(b"access-sandbox-123", ROW).unwrap();
        assert!(matches!(
            c.open(&sealed, b"0190-row-b"),
            Err(SecurityError::Invalid)
        ));
    }

    #[test]
    fn tampered_or_foreign_text_is_refused() {
        let c = AesGcmCipher::new(&[9u8; 32]).unwrap();
        let sealed = c.seal(b"secret", ROW).unwrap();
        let mut bytes = STANDARD.decode(&sealed.ciphertext[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = Sealed {
            ciphertext: format!("v1:{}", STANDARD.encode(bytes)),
            ..sealed.clone()
        };
        assert!(matches!(
            c.open(&tampered, ROW),
            Err(SecurityError::Invalid)
        ));
        let other = AesGcmCipher::new(&[1u8; 32]).unwrap();
        assert!(matches!(
            other.open(&sealed, ROW),
            Err(SecurityError::Invalid)
        ));
        let renamed = Sealed {
            key_id: other.current_key_id(),
            ..sealed.clone()
        };
        assert!(matches!(
            other.open(&renamed, ROW),
            Err(SecurityError::Invalid)
        ));
        for text in ["v1:!!", "plain"] {
            let bad = Sealed {
                ciphertext: text.into(),
                ..sealed.clone()
            };
            assert!(matches!(c.open(&bad, ROW), Err(SecurityError::Invalid)));
        }
        assert!(AesGcmCipher::new(&[1u8; 16]).is_err());
    }

    #[test]
    fn a_previous_key_still_opens_what_it_sealed_and_new_seals_use_the_current_one() {
        let old = AesGcmCipher::new(&[1u8; 32]).unwrap();
        let sealed = old.seal(b"token", ROW).unwrap();
        let ring = AesGcmCipher::with_previous(&[2u8; 32], &[&[1u8; 32]]).unwrap();
        assert_eq!(ring.open(&sealed, ROW).unwrap(), b"token");
        let resealed = ring.seal(b"token", ROW).unwrap();
        assert_ne!(resealed.key_id, sealed.key_id);
        assert!(matches!(
            old.open(&resealed, ROW),
            Err(SecurityError::Invalid)
        ));
    }

    #[test]
    fn key_ids_name_keys_apart_and_do_not_show_them() {
        let a = key_id(&[1u8; 32]);
        assert_eq!(a.len(), 16);
        assert_eq!(a, key_id(&[1u8; 32]));
        assert_ne!(a, key_id(&[2u8; 32]));
        assert_ne!(a, "0101010101010101", "the id is not the key's own bytes");
    }
}
