//! The HTTP side: one POST per call, a timeout on each attempt, retries with backoff, and the
//! translation of Plaid's error object into [`PlaidError`].

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nestegg_ports::plaid::{
    AccessToken, ExchangedItem, Holdings, LinkToken, Plaid, PlaidAccount, PlaidError, PlaidItem,
    SyncPage, WebhookKey,
};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::PlaidConfig;
use crate::wire::{self, PlaidErrorBody};

/// The API version the shapes follow (the spec's `Plaid-Version`).
const PLAID_VERSION: &str = "2020-09-14";

/// Whether a call may be sent again when we cannot tell if Plaid received it (a timeout or a
/// broken connection). Reads may; calls that create or consume something may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    Safe,
    Unsafe,
}

/// Plaid over HTTP. Cheap to clone; share one per process.
///
/// Each request runs on the Tokio runtime the client was made on (when it was made on one),
/// so its pooled connections belong to that runtime. A server's worker threads each run a
/// runtime of their own that stops before the process does: a connection opened while
/// serving a request there would break for whoever used it next once that worker stopped
/// (at shutdown, the scheduler's sync in flight).
#[derive(Clone)]
pub struct PlaidClient {
    http: reqwest::Client,
    config: PlaidConfig,
    runtime: Option<tokio::runtime::Handle>,
}

/// One attempt failed without an answer.
#[derive(Debug)]
enum SendError {
    Http(reqwest::Error),
    /// The task running it was cancelled (its runtime is shutting down).
    Cancelled,
}

impl From<reqwest::Error> for SendError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

impl fmt::Debug for PlaidClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaidClient")
            .field("base_url", &self.config.base_url)
            .field("client_id", &self.config.client_id)
            .field("timeout", &self.config.timeout)
            .field("max_retries", &self.config.max_retries)
            .finish_non_exhaustive()
    }
}

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The client id or secret cannot go in an HTTP header.
    #[error("the Plaid client id or secret is not a valid header value")]
    BadCredentials,
    /// The HTTP client could not start (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl PlaidClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// When the credentials cannot be sent as headers or the HTTP client cannot start.
    pub fn new(config: PlaidConfig) -> Result<Self, BuildError> {
        let mut headers = HeaderMap::new();
        let client_id =
            HeaderValue::from_str(&config.client_id).map_err(|_| BuildError::BadCredentials)?;
        let mut secret = HeaderValue::from_str(config.secret.expose())
            .map_err(|_| BuildError::BadCredentials)?;
        secret.set_sensitive(true);
        headers.insert("PLAID-CLIENT-ID", client_id);
        headers.insert("PLAID-SECRET", secret);
        headers.insert("Plaid-Version", HeaderValue::from_static(PLAID_VERSION));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()?;
        Ok(Self {
            http,
            config,
            runtime: tokio::runtime::Handle::try_current().ok(),
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &PlaidConfig {
        &self.config
    }

    /// POSTs `body` to `path`, retrying what may be retried, and reads the answer as `T`.
    async fn call<B, T>(
        &self,
        path: &'static str,
        body: &B,
        replay: Replay,
    ) -> Result<T, PlaidError>
    where
        B: Serialize + Sync,
        T: DeserializeOwned,
    {
        let url = format!("{}{path}", self.config.base_url);
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            attempt += 1;
            let started = Instant::now();
            let sent = self.send(&url, body).await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let retries_left = attempt <= self.config.max_retries;
            match sent {
                Ok((status, _, bytes)) if status.is_success() => {
                    let request_id = request_id(&bytes);
                    tracing::debug!(
                        path,
                        status = status.as_u16(),
                        request_id = request_id.as_deref(),
                        attempt,
                        elapsed_ms,
                        "plaid call"
                    );
                    return serde_json::from_slice::<T>(&bytes).map_err(|e| {
                        tracing::warn!(path, request_id = request_id.as_deref(), error = %e,
                            "plaid answered a body we cannot read");
                        PlaidError::Other {
                            code: "INVALID_RESPONSE".into(),
                            request_id,
                        }
                    });
                }
                Ok((status, retry_after, bytes)) => {
                    let error = serde_json::from_slice::<PlaidErrorBody>(&bytes).ok();
                    tracing::warn!(
                        path,
                        status = status.as_u16(),
                        request_id = error.as_ref().and_then(|e| e.request_id.as_deref()),
                        error_type = error.as_ref().map(|e| e.error_type.as_str()),
                        error_code = error.as_ref().map(|e| e.error_code.as_str()),
                        attempt,
                        elapsed_ms,
                        "plaid call failed"
                    );
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if retryable && retries_left {
                        let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                        if waited + wait <= self.config.max_total_wait {
                            tokio::time::sleep(wait).await;
                            waited += wait;
                            continue;
                        }
                    }
                    return Err(map_error(status, error, retry_after));
                }
                Err(e) => {
                    let what = match e {
                        SendError::Http(e) if e.is_timeout() => "timed out",
                        SendError::Http(e) if e.is_connect() => "cannot connect",
                        SendError::Http(_) | SendError::Cancelled => "request failed",
                    };
                    tracing::warn!(path, attempt, elapsed_ms, error = what, "plaid call failed");
                    if replay == Replay::Safe && retries_left {
                        let wait = self.backoff(attempt);
                        if waited + wait <= self.config.max_total_wait {
                            tokio::time::sleep(wait).await;
                            waited += wait;
                            continue;
                        }
                    }
                    return Err(PlaidError::Unavailable(format!(
                        "{path}: {what} after {attempt} attempt(s)"
                    )));
                }
            }
        }
    }

    /// One attempt: the status, `Retry-After` and the body; on the client's runtime.
    async fn send<B: Serialize + Sync>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<(StatusCode, Option<Duration>, Vec<u8>), SendError> {
        let request = self.http.post(url).json(body);
        let attempt = async move {
            let response = request.send().await?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = response.bytes().await?;
            Ok((status, retry_after, bytes.to_vec()))
        };
        match &self.runtime {
            Some(runtime) => runtime
                .spawn(attempt)
                .await
                .unwrap_or(Err(SendError::Cancelled)),
            None => attempt.await,
        }
    }

    /// The wait before retry number `attempt` (1-based): the base doubled each time, capped,
    /// with jitter (somewhere between half of it and all of it).
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let full = exp.min(self.config.backoff_max);
        let half = full / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            random_u64() % spread
        };
        half + Duration::from_nanos(jitter)
    }
}

/// A random number from the standard library's per-process hash keys (enough for jitter).
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// The `request_id` of a successful body, for the logs.
fn request_id(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct RequestId {
        #[serde(default)]
        request_id: Option<String>,
    }
    serde_json::from_slice::<RequestId>(bytes)
        .ok()
        .and_then(|r| r.request_id)
}

/// Plaid's answer (after retries) as the port's error.
fn map_error(
    status: StatusCode,
    error: Option<PlaidErrorBody>,
    retry_after: Option<Duration>,
) -> PlaidError {
    let Some(error) = error else {
        return if status == StatusCode::TOO_MANY_REQUESTS {
            PlaidError::RateLimited { retry_after }
        } else if status.is_server_error() {
            PlaidError::Unavailable(format!("HTTP {}", status.as_u16()))
        } else {
            PlaidError::Other {
                code: format!("HTTP_{}", status.as_u16()),
                request_id: None,
            }
        };
    };
    match (error.error_type.as_str(), error.error_code.as_str()) {
        (_, "ITEM_LOGIN_REQUIRED") => PlaidError::LoginRequired,
        (_, "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION") => PlaidError::MutationDuringPagination,
        ("RATE_LIMIT_EXCEEDED", _) => PlaidError::RateLimited { retry_after },
        _ if status == StatusCode::TOO_MANY_REQUESTS => PlaidError::RateLimited { retry_after },
        ("INVALID_INPUT", "INVALID_ACCESS_TOKEN" | "INVALID_API_KEYS") => PlaidError::InvalidToken,
        ("API_ERROR" | "INSTITUTION_ERROR", code) => {
            PlaidError::Unavailable(describe(&error, code))
        }
        (_, code) if status.is_server_error() => PlaidError::Unavailable(describe(&error, code)),
        (_, code) => PlaidError::Other {
            code: code.to_owned(),
            request_id: error.request_id,
        },
    }
}

fn describe(error: &PlaidErrorBody, code: &str) -> String {
    match &error.request_id {
        Some(id) => format!("{} {code} (request {id})", error.error_type),
        None => format!("{} {code}", error.error_type),
    }
}

fn bad_number(path: &'static str) -> impl Fn(wire::BadNumber) -> PlaidError {
    move |e| {
        tracing::warn!(path, error = %e, "plaid sent an amount we cannot hold exactly");
        PlaidError::Other {
            code: "INVALID_RESPONSE".into(),
            request_id: None,
        }
    }
}

#[async_trait]
impl Plaid for PlaidClient {
    async fn create_link_token(&self, client_user_id: &str) -> Result<LinkToken, PlaidError> {
        let body = wire::LinkTokenCreateRequest {
            client_name: &self.config.client_name,
            language: "en",
            country_codes: vec!["US"],
            user: wire::LinkTokenCreateRequestUser { client_user_id },
            products: vec!["transactions"],
            optional_products: vec!["investments"],
            webhook: self.config.webhook_url.as_deref(),
        };
        let r: wire::LinkTokenCreateResponse =
            self.call("/link/token/create", &body, Replay::Safe).await?;
        Ok(r.into())
    }

    async fn exchange_public_token(&self, public_token: &str) -> Result<ExchangedItem, PlaidError> {
        let body = wire::PublicTokenRequest { public_token };
        let r: wire::ItemPublicTokenExchangeResponse = self
            .call("/item/public_token/exchange", &body, Replay::Unsafe)
            .await?;
        Ok(ExchangedItem {
            access_token: AccessToken::new(r.access_token),
            item_id: r.item_id,
        })
    }

    async fn item(&self, token: &AccessToken) -> Result<PlaidItem, PlaidError> {
        let body = wire::AccessTokenRequest {
            access_token: token.expose(),
        };
        let r: wire::ItemGetResponse = self.call("/item/get", &body, Replay::Safe).await?;
        Ok(r.item.into())
    }

    async fn accounts(&self, token: &AccessToken) -> Result<Vec<PlaidAccount>, PlaidError> {
        const PATH: &str = "/accounts/get";
        let body = wire::AccessTokenRequest {
            access_token: token.expose(),
        };
        let r: wire::AccountsGetResponse = self.call(PATH, &body, Replay::Safe).await?;
        r.accounts
            .into_iter()
            .map(PlaidAccount::try_from)
            .collect::<Result<_, _>>()
            .map_err(bad_number(PATH))
    }

    async fn transactions_sync(
        &self,
        token: &AccessToken,
        cursor: Option<String>,
        count: u32,
    ) -> Result<SyncPage, PlaidError> {
        const PATH: &str = "/transactions/sync";
        let body = wire::TransactionsSyncRequest {
            access_token: token.expose(),
            cursor: cursor.as_deref().filter(|c| !c.is_empty()),
            count: count.clamp(1, 500),
            options: wire::TransactionsSyncRequestOptions {
                include_personal_finance_category: true,
            },
        };
        let r: wire::TransactionsSyncResponse = self.call(PATH, &body, Replay::Safe).await?;
        SyncPage::try_from(r).map_err(bad_number(PATH))
    }

    async fn holdings(&self, token: &AccessToken) -> Result<Holdings, PlaidError> {
        const PATH: &str = "/investments/holdings/get";
        let body = wire::AccessTokenRequest {
            access_token: token.expose(),
        };
        let r: wire::InvestmentsHoldingsGetResponse = self.call(PATH, &body, Replay::Safe).await?;
        Holdings::try_from(r).map_err(bad_number(PATH))
    }

    async fn remove_item(&self, token: &AccessToken) -> Result<(), PlaidError> {
        let body = wire::AccessTokenRequest {
            access_token: token.expose(),
        };
        let _: serde::de::IgnoredAny = self.call("/item/remove", &body, Replay::Unsafe).await?;
        Ok(())
    }

    async fn webhook_verification_key(&self, key_id: &str) -> Result<WebhookKey, PlaidError> {
        let body = wire::WebhookVerificationKeyGetRequest { key_id };
        let r: wire::WebhookVerificationKeyGetResponse = self
            .call("/webhook_verification_key/get", &body, Replay::Safe)
            .await?;
        Ok(r.key.into())
    }

    async fn sandbox_public_token(
        &self,
        institution_id: &str,
        products: Vec<String>,
    ) -> Result<String, PlaidError> {
        let body = wire::SandboxPublicTokenCreateRequest {
            institution_id,
            initial_products: &products,
        };
        let r: wire::SandboxPublicTokenCreateResponse = self
            .call("/sandbox/public_token/create", &body, Replay::Unsafe)
            .await?;
        Ok(r.public_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PlaidEnv;

    fn body(error_type: &str, error_code: &str) -> Option<PlaidErrorBody> {
        Some(PlaidErrorBody {
            error_type: error_type.into(),
            error_code: error_code.into(),
            request_id: Some("req-1".into()),
        })
    }

    #[test]
    fn plaid_error_objects_map_to_the_ports_errors() {
        let bad = StatusCode::BAD_REQUEST;
        assert_eq!(
            map_error(bad, body("ITEM_ERROR", "ITEM_LOGIN_REQUIRED"), None),
            PlaidError::LoginRequired
        );
        assert_eq!(
            map_error(
                bad,
                body(
                    "TRANSACTIONS_ERROR",
                    "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"
                ),
                None
            ),
            PlaidError::MutationDuringPagination
        );
        assert_eq!(
            map_error(
                StatusCode::TOO_MANY_REQUESTS,
                body("RATE_LIMIT_EXCEEDED", "TRANSACTIONS_LIMIT"),
                Some(Duration::from_secs(3))
            ),
            PlaidError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            map_error(bad, body("INVALID_INPUT", "INVALID_ACCESS_TOKEN"), None),
            PlaidError::InvalidToken
        );
        assert_eq!(
            map_error(bad, body("INVALID_INPUT", "INVALID_API_KEYS"), None),
            PlaidError::InvalidToken
        );
        assert!(matches!(
            map_error(bad, body("INSTITUTION_ERROR", "INSTITUTION_DOWN"), None),
            PlaidError::Unavailable(_)
        ));
        assert!(matches!(
            map_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                body("API_ERROR", "INTERNAL_SERVER_ERROR"),
                None
            ),
            PlaidError::Unavailable(_)
        ));
        assert_eq!(
            map_error(bad, body("INVALID_REQUEST", "MISSING_FIELDS"), None),
            PlaidError::Other {
                code: "MISSING_FIELDS".into(),
                request_id: Some("req-1".into())
            }
        );
        assert_eq!(
            map_error(StatusCode::TOO_MANY_REQUESTS, None, None),
            PlaidError::RateLimited { retry_after: None }
        );
        assert!(matches!(
            map_error(StatusCode::BAD_GATEWAY, None, None),
            PlaidError::Unavailable(_)
        ));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_its_cap() {
        let mut config = PlaidConfig::new("id", "secret", PlaidEnv::Sandbox, None);
        config.backoff_base = Duration::from_millis(100);
        config.backoff_max = Duration::from_millis(300);
        let client = PlaidClient::new(config).unwrap();
        for _ in 0..50 {
            let first = client.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let second = client.backoff(2);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
            let tenth = client.backoff(10);
            assert!(tenth >= Duration::from_millis(150) && tenth <= Duration::from_millis(300));
        }
    }

    #[test]
    fn debug_of_the_client_hides_the_secret() {
        let config = PlaidConfig::new("id", "very-secret-value", PlaidEnv::Sandbox, None);
        let client = PlaidClient::new(config).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
    }
}
