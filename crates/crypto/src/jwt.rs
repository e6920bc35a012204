//! HS256 access tokens.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use nestegg_ports::{AccessClaims, AccessTokens, IssuedAccessToken, SecurityError, TokenError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// The session (refresh-token family) the token was issued in.
    sid: String,
    iat: i64,
    exp: i64,
}

/// Signs and checks HS256 tokens with `sub`, `sid`, `iat` and `exp`. Only HS256 is accepted: a token
/// with `alg: none` or any other algorithm is refused before its signature is looked at.
pub struct JwtAccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_seconds: i64,
}

impl std::fmt::Debug for JwtAccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAccessTokens")
            .field("ttl_seconds", &self.ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl JwtAccessTokens {
    /// Shortest secret accepted, in bytes (the HMAC-SHA256 block of security).
    pub const MIN_SECRET_BYTES: usize = 32;

    /// Tokens signed with `secret`, valid for `ttl_seconds`.
    ///
    /// # Errors
    /// [`SecurityError::Invalid`] for a secret shorter than 32 bytes.
    pub fn new(secret: &[u8], ttl_seconds: i64) -> Result<Self, SecurityError> {
        if secret.len() < Self::MIN_SECRET_BYTES {
            return Err(SecurityError::Invalid);
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_seconds,
        })
    }
}

impl AccessTokens for JwtAccessTokens {
    fn issue(
        &self,
        claims: AccessClaims,
        now: DateTime<Utc>,
    ) -> Result<IssuedAccessToken, SecurityError> {
        let claims = Claims {
            sub: claims.user_id.to_string(),
            sid: claims.session_id.to_string(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl_seconds,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| SecurityError::Unexpected(e.into()))?;
        Ok(IssuedAccessToken {
            token,
            expires_in: self.ttl_seconds,
        })
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the injected clock, not the library's.
        validation.validate_exp = false;
        // `sid` is required by `Claims` itself: a token without one (issued before sessions)
        // does not decode.
        validation.required_spec_claims = ["exp", "iat", "sub"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let data = decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        if data.claims.iat > now.timestamp() + 60 {
            return Err(TokenError::Invalid);
        }
        let parse = |text: &str| Uuid::parse_str(text).map_err(|_| TokenError::Invalid);
        Ok(AccessClaims {
            user_id: parse(&data.claims.sub)?,
            session_id: parse(&data.claims.sid)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn tokens() -> JwtAccessTokens {
        JwtAccessTokens::new(&[7u8; 32], 900).unwrap()
    }

    fn someone() -> AccessClaims {
        AccessClaims {
            user_id: Uuid::now_v7(),
            session_id: Uuid::now_v7(),
        }
    }

    #[test]
    fn an_issued_token_names_its_user_and_session_until_it_expires() {
        let claims = someone();
        let issued = tokens().issue(claims, now()).unwrap();
        assert_eq!(issued.expires_in, 900);
        assert_eq!(tokens().verify(&issued.token, now()), Ok(claims));
        let later = now() + chrono::Duration::seconds(900);
        assert_eq!(
            tokens().verify(&issued.token, later),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = JwtAccessTokens::new(&[8u8; 32], 900).unwrap();
        let issued = other.issue(someone(), now()).unwrap();
        assert_eq!(
            tokens().verify(&issued.token, now()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn an_unsigned_alg_none_token_is_refused() {
        let issued = tokens().issue(someone(), now()).unwrap();
        let payload = issued.token.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        for forged in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            assert_eq!(tokens().verify(&forged, now()), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn a_token_claiming_another_algorithm_is_refused() {
        let issued = tokens().issue(someone(), now()).unwrap();
        let mut parts = issued.token.split('.');
        let (_, payload, sig) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert_eq!(
            tokens().verify(&format!("{header}.{payload}.{sig}"), now()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_genuine_token_without_a_session_is_refused() {
        #[derive(Serialize)]
        struct Old {
            sub: String,
            iat: i64,
            exp: i64,
        }
        let old = Old {
            sub: Uuid::now_v7().to_string(),
            iat: now().timestamp(),
            exp: now().timestamp() + 900,
        };
        let token = encode(
            &Header::new(Algorithm::HS256),
            &old,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert_eq!(tokens().verify(&token, now()), Err(TokenError::Invalid));
    }

    #[test]
    fn garbage_and_short_secrets_are_refused() {
        assert_eq!(
            tokens().verify("not.a.token", now()),
            Err(TokenError::Invalid)
        );
        assert_eq!(tokens().verify("", now()), Err(TokenError::Invalid));
        assert!(JwtAccessTokens::new(&[1u8; 31], 900).is_err());
    }
}
