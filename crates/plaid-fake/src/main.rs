//! `cargo run -p nestegg-plaid-fake`: a fake Plaid on `PLAID_FAKE_ADDR` (default
//! `127.0.0.1:8099`), accepting `PLAID_FAKE_CLIENT_ID` / `PLAID_FAKE_SECRET` (defaults
//! `fake-client-id` / `fake-secret`), posting webhooks to `PLAID_FAKE_WEBHOOK_URL` if set.

use std::io::Write as _;

use nestegg_plaid_fake::{FakeConfig, FakePlaid};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let env = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let config = FakeConfig {
        client_id: env("PLAID_FAKE_CLIENT_ID", "fake-client-id"),
        secret: env("PLAID_FAKE_SECRET", "fake-secret"),
        addr: env("PLAID_FAKE_ADDR", "127.0.0.1:8099"),
        webhook_url: std::env::var("PLAID_FAKE_WEBHOOK_URL")
            .ok()
            .filter(|v| !v.is_empty()),
        workers: 2,
    };
    let fake = FakePlaid::start(config).await?;
    let url = fake.base_url().to_owned();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "fake Plaid listening on {url}\n\
         \n\
         Point Nestegg at it:  PLAID_BASE_URL={url} PLAID_CLIENT_ID={id} PLAID_SECRET={secret}\n\
         \n\
         Link an item:\n\
         \x20 curl -s {url}/sandbox/public_token/create -H 'Content-Type: application/json' \\\n\
         \x20   -H 'PLAID-CLIENT-ID: {id}' -H 'PLAID-SECRET: {secret}' \\\n\
         \x20   -d '{{\"institution_id\":\"ins_109508\",\"initial_products\":[\"transactions\"]}}'\n\
         \x20 curl -s {url}/item/public_token/exchange ... -d '{{\"public_token\":\"public-sandbox-...\"}}'\n\
         Or, in one step:  curl -s -X POST {url}/fake/items\n\
         \n\
         Script it (see crates/plaid-fake/README.md):\n\
         \x20 curl -s {url}/fake/items\n\
         \x20 curl -s {url}/fake/items/ITEM_ID/transactions/generate -H 'Content-Type: application/json' -d '{{\"count\":1000}}'\n\
         \x20 curl -s {url}/fake/failures -H 'Content-Type: application/json' \\\n\
         \x20   -d '{{\"endpoint\":\"/transactions/sync\",\"times\":2,\"status\":500,\"error_type\":\"API_ERROR\",\"error_code\":\"INTERNAL_SERVER_ERROR\"}}'\n\
         \x20 curl -s {url}/fake/calls\n\
         \n\
         Ctrl-C stops it.",
        id = fake.client_id(),
        secret = fake.secret(),
    )?;
    drop(out);
    tokio::select! {
        served = fake.wait() => served,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
