//! Webhooks: the bodies Plaid sends, and the `Plaid-Verification` JWT that signs them (ES256
//! on a P-256 key made at start, claims `iat` and `request_body_sha256`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::FakeError;

/// Which webhook to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookKind {
    /// `TRANSACTIONS` / `SYNC_UPDATES_AVAILABLE`.
    SyncUpdatesAvailable,
    /// `ITEM` / `ERROR` with `ITEM_LOGIN_REQUIRED`.
    Error,
    /// `ITEM` / `PENDING_EXPIRATION`.
    PendingExpiration,
}

/// How to sign it: properly, or wrongly on purpose for negative tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signing {
    /// With the published key, now, over the exact body.
    #[default]
    Valid,
    /// With another key, under the published key's `kid`.
    WrongKey,
    /// With the published key, but `iat` ten minutes ago.
    Stale,
    /// Properly, but the body is changed after signing.
    TamperedBody,
}

/// A webhook ready to send: the exact body and its `Plaid-Verification` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedWebhook {
    /// The JSON body, byte for byte.
    pub body: String,
    /// The `Plaid-Verification` header value (a JWT).
    pub plaid_verification: String,
}

/// A signing key: its PKCS#8 document and public point.
struct Key {
    pkcs8: Vec<u8>,
    x: String,
    y: String,
}

impl Key {
    fn generate() -> Result<Self, FakeError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| FakeError::Signing("cannot generate a P-256 key".into()))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
            .map_err(|e| FakeError::Signing(e.to_string()))?;
        // An uncompressed SEC1 point: 0x04, then x and y (32 bytes each).
        let point = pair.public_key().as_ref();
        let (x, y) = match (point.get(1..33), point.get(33..65)) {
            (Some(x), Some(y)) => (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)),
            _ => return Err(FakeError::Signing("unexpected public key".into())),
        };
        Ok(Self {
            pkcs8: doc.as_ref().to_vec(),
            x,
            y,
        })
    }
}

/// The fake's webhook keys: the published one and a rogue one for negative tests.
pub struct Keys {
    kid: String,
    created_at: i64,
    published: Key,
    rogue: Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iat: i64,
    request_body_sha256: &'a str,
}

impl Keys {
    /// New keys.
    pub fn generate() -> Result<Self, FakeError> {
        Ok(Self {
            kid: uuid::Uuid::new_v4().to_string(),
            created_at: Utc::now().timestamp(),
            published: Key::generate()?,
            rogue: Key::generate()?,
        })
    }

    /// The published key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The published key as a `JWKPublicKey`.
    pub fn jwk(&self) -> Value {
        json!({
            "alg": "ES256",
            "crv": "P-256",
            "kid": self.kid,
            "kty": "EC",
            "use": "sig",
            "x": self.published.x,
            "y": self.published.y,
            "created_at": self.created_at,
            "expired_at": null,
        })
    }

    /// Signs `body` as `signing` says.
    pub fn sign(&self, body: String, signing: Signing) -> Result<SignedWebhook, FakeError> {
        let now = Utc::now().timestamp();
        let (key, iat) = match signing {
            Signing::WrongKey => (&self.rogue, now),
            Signing::Stale => (&self.published, now - 600),
            Signing::Valid | Signing::TamperedBody => (&self.published, now),
        };
        let digest = sha256_hex(body.as_bytes());
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let claims = Claims {
            iat,
            request_body_sha256: &digest,
        };
        let jwt = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&key.pkcs8))
            .map_err(|e| FakeError::Signing(e.to_string()))?;
        let body = if signing == Signing::TamperedBody {
            body.replacen(
                "\"environment\":\"sandbox\"",
                "\"environment\":\"production\"",
                1,
            )
        } else {
            body
        };
        Ok(SignedWebhook {
            body,
            plaid_verification: jwt,
        })
    }
}

/// The hex SHA-256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest
        .as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The body of a webhook of `kind` for `item_id`, as Plaid documents it.
#[must_use]
pub fn body(kind: WebhookKind, item_id: &str) -> String {
    let value = match kind {
        WebhookKind::SyncUpdatesAvailable => json!({
            "webhook_type": "TRANSACTIONS",
            "webhook_code": "SYNC_UPDATES_AVAILABLE",
            "item_id": item_id,
            "initial_update_complete": true,
            "historical_update_complete": true,
            "environment": "sandbox",
        }),
        WebhookKind::Error => json!({
            "webhook_type": "ITEM",
            "webhook_code": "ERROR",
            "item_id": item_id,
            "error": {
                "error_type": "ITEM_ERROR",
                "error_code": "ITEM_LOGIN_REQUIRED",
                "error_code_reason": null,
                "error_message": "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state",
                "display_message": "The provided credentials were not correct. Please try again.",
                "request_id": crate::server::request_id(),
                "causes": [],
                "status": 400,
                "documentation_url": "https://plaid.com/docs/errors/item/#item_login_required",
                "suggested_action": null,
            },
            "environment": "sandbox",
        }),
        WebhookKind::PendingExpiration => json!({
            "webhook_type": "ITEM",
            "webhook_code": "PENDING_EXPIRATION",
            "item_id": item_id,
            "consent_expiration_time": (Utc::now() + chrono::Duration::days(7))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "environment": "sandbox",
        }),
    };
    value.to_string()
}
