use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nestegg_plaid::PlaidClient;
use nestegg_plaid_fake::Failure;
use nestegg_ports::plaid::{AccessToken, Plaid};
use tracing_subscriber::fmt::MakeWriter;

use crate::common::{SECRET, config, fake};

/// Collects everything written to it.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[tokio::test]
async fn the_logs_never_show_the_secret_nor_access_or_public_tokens() {
    let fake = fake().await;
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut config = config(&fake);
    config.timeout = Duration::from_millis(300);
    config.max_retries = 2;
    let client = PlaidClient::new(config).unwrap();
    tracing::info!(client = ?client, "client built");

    client.create_link_token("user-1").await.unwrap();
    let public = client
        .sandbox_public_token("ins_109508", vec!["transactions".into()])
        .await
        .unwrap();
    let item = client.exchange_public_token(&public).await.unwrap();
    let token = item.access_token.clone();
    tracing::info!(item = ?item, "exchanged");

    fake.fail_next("/transactions/sync", 2, Failure::internal());
    client.transactions_sync(&token, None, 50).await.unwrap();
    fake.fail_next("/accounts/get", 5, Failure::rate_limited(Some(0)));
    let _ = client.accounts(&token).await.unwrap_err();
    fake.fail_next("/item/get", 1, Failure::login_required());
    let _ = client.item(&token).await.unwrap_err();
    fake.set_delay(Some("/investments/holdings/get"), Duration::from_secs(1));
    let _ = client.holdings(&token).await.unwrap_err();
    let refused = AccessToken::new("access-sandbox-11111111-2222-3333-4444-555555555555");
    let _ = client.accounts(&refused).await.unwrap_err();
    client.remove_item(&token).await.unwrap();

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/transactions/sync"),
        "the calls are logged: {logs}"
    );
    assert!(logs.contains("attempt"), "{logs}");
    for secret in [SECRET, token.expose(), public.as_str(), refused.expose()] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
