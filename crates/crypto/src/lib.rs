//! Crypto adapters for Nestegg's security ports.
//!
//! bcrypt password hashing off the async workers ([`BcryptHasher`]), HS256 access tokens with
//! a pinned algorithm ([`JwtAccessTokens`]), random refresh tokens stored as SHA-256 hashes
//! ([`RandomSecretTokens`]), AES-256-GCM sealing for secrets at rest under a key ring
//! ([`AesGcmCipher`]) and Plaid webhook signatures checked against Plaid's published ES256 keys
//! ([`PlaidWebhookVerifier`]).
//! Library types stay inside this crate; callers see only the ports' types.

mod cipher;
mod jwt;
mod password;
mod secret;
mod webhook;

pub use cipher::{AesGcmCipher, key_id};
pub use jwt::JwtAccessTokens;
pub use password::BcryptHasher;
pub use secret::RandomSecretTokens;
pub use webhook::PlaidWebhookVerifier;

/// The SHA-256 of `bytes` in lower-case hex: how stored token hashes, key ids and webhook body
/// digests are written.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
