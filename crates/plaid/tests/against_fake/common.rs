//! Starting the fake Plaid and a client pointed at it.

use std::str::FromStr;
use std::time::Duration;

use nestegg_plaid::{PlaidClient, PlaidConfig, PlaidEnv};
use nestegg_plaid_fake::{FakeConfig, FakePlaid};
use nestegg_ports::plaid::{AccessToken, Plaid};
use rust_decimal::Decimal;

pub const SECRET: &str = "sup3r-s3cret-plaid-value-8675309";

/// A fake with a known secret.
pub async fn fake() -> FakePlaid {
    FakePlaid::start(FakeConfig {
        secret: SECRET.to_owned(),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

/// A config for the fake, with fast retries.
pub fn config(fake: &FakePlaid) -> PlaidConfig {
    let mut c = PlaidConfig::new(
        fake.client_id(),
        fake.secret(),
        PlaidEnv::Sandbox,
        Some(fake.base_url().to_owned()),
    );
    c.timeout = Duration::from_secs(5);
    c.max_retries = 3;
    c.backoff_base = Duration::from_millis(5);
    c.backoff_max = Duration::from_millis(20);
    c.max_total_wait = Duration::from_secs(2);
    c
}

pub fn client(fake: &FakePlaid) -> PlaidClient {
    PlaidClient::new(config(fake)).unwrap()
}

/// Links a sandbox item through the client: its id and access token.
pub async fn link(client: &PlaidClient) -> (String, AccessToken) {
    let public = client
        .sandbox_public_token("ins_109508", vec!["transactions".into()])
        .await
        .unwrap();
    let item = client.exchange_public_token(&public).await.unwrap();
    (item.item_id, item.access_token)
}

/// A fake, a client of it and a linked item (its id and access token): most tests' start.
pub async fn linked() -> (FakePlaid, PlaidClient, (String, AccessToken)) {
    let fake = fake().await;
    let client = client(&fake);
    let item = link(&client).await;
    (fake, client, item)
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
