use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use nestegg_plaid_fake::{Signing, WebhookKind};
use nestegg_ports::plaid::{Plaid, PlaidError};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{client, fake, linked};

#[derive(Debug, Deserialize)]
struct Claims {
    iat: i64,
    request_body_sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Verifies a webhook as a receiver would: the key by `kid` from Plaid, ES256, a recent
/// `iat`, and the body's hash. The claims on success.
async fn verify(client: &impl Plaid, body: &str, jwt: &str) -> Result<Claims, String> {
    let header = decode_header(jwt).map_err(|e| e.to_string())?;
    if header.alg != Algorithm::ES256 {
        return Err("not ES256".into());
    }
    let kid = header.kid.ok_or("no kid")?;
    let key = client
        .webhook_verification_key(&kid)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        (key.alg.as_str(), key.kty.as_str(), key.crv.as_str()),
        ("ES256", "EC", "P-256")
    );
    let decoding = DecodingKey::from_ec_components(&key.x, &key.y).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = decode::<Claims>(jwt, &decoding, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if chrono::Utc::now().timestamp() - claims.iat > 300 {
        return Err("stale".into());
    }
    if claims.request_body_sha256 != sha256_hex(body.as_bytes()) {
        return Err("body hash differs".into());
    }
    Ok(claims)
}

#[tokio::test]
async fn a_webhook_verifies_with_the_key_the_client_fetches_by_its_kid() {
    let (fake, client, (item_id, _)) = linked().await;

    let hook = fake
        .webhook(&item_id, WebhookKind::SyncUpdatesAvailable, Signing::Valid)
        .unwrap();
    verify(&client, &hook.body, &hook.plaid_verification)
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(body["webhook_type"], "TRANSACTIONS");
    assert_eq!(body["webhook_code"], "SYNC_UPDATES_AVAILABLE");
    assert_eq!(body["item_id"], item_id.as_str());

    let key = client
        .webhook_verification_key(&fake.webhook_key_id())
        .await
        .unwrap();
    assert_eq!(key.kid, fake.webhook_key_id());
    assert_eq!(key.expired_at, None);
}

#[tokio::test]
async fn webhooks_signed_wrongly_stale_or_tampered_fail_verification() {
    let (fake, client, (item_id, _)) = linked().await;
    for (signing, why) in [
        (Signing::WrongKey, "InvalidSignature"),
        (Signing::Stale, "stale"),
        (Signing::TamperedBody, "body hash differs"),
    ] {
        let hook = fake.webhook(&item_id, WebhookKind::Error, signing).unwrap();
        let err = verify(&client, &hook.body, &hook.plaid_verification)
            .await
            .unwrap_err();
        assert!(err.contains(why), "{signing:?}: {err}");
    }
}

#[tokio::test]
async fn an_unknown_key_id_is_refused() {
    let fake = fake().await;
    let client = client(&fake);
    let err = client
        .webhook_verification_key("no-such-kid")
        .await
        .unwrap_err();
    assert!(matches!(err, PlaidError::Other { .. }), "{err:?}");
}

/// Accepts one HTTP request and answers 200: its head and body.
async fn receive_one(listener: &tokio::net::TcpListener) -> (String, String) {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length || n == 0 {
                let body = text[end + 4..].to_owned();
                socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await
                    .unwrap();
                return (head, body);
            }
        }
    }
}

#[tokio::test]
async fn the_fake_posts_signed_webhooks_to_the_configured_url() {
    let (fake, client, (item_id, _)) = linked().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake.set_webhook_url(Some(format!(
        "http://{}/webhooks/plaid",
        listener.local_addr().unwrap()
    )));

    for kind in [
        WebhookKind::SyncUpdatesAvailable,
        WebhookKind::Error,
        WebhookKind::PendingExpiration,
    ] {
        let ((head, body), sent) = tokio::join!(
            receive_one(&listener),
            fake.send_webhook(&item_id, kind, Signing::Valid)
        );
        let (status, sent) = sent.unwrap();
        assert_eq!(status, 200);
        assert!(head.starts_with("POST /webhooks/plaid "), "{head}");
        assert_eq!(body, sent.body);
        let jwt = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("plaid-verification")
                    .then(|| v.trim().to_owned())
            })
            .unwrap();
        verify(&client, &body, &jwt).await.unwrap();
        let json: Value = serde_json::from_str(&body).unwrap();
        match kind {
            WebhookKind::Error => {
                assert_eq!(json["webhook_type"], "ITEM");
                assert_eq!(json["error"]["error_code"], "ITEM_LOGIN_REQUIRED");
            }
            WebhookKind::PendingExpiration => {
                assert_eq!(json["webhook_code"], "PENDING_EXPIRATION");
                assert!(json["consent_expiration_time"].is_string());
            }
            WebhookKind::SyncUpdatesAvailable => {
                assert_eq!(json["webhook_code"], "SYNC_UPDATES_AVAILABLE");
            }
        }
    }
}
