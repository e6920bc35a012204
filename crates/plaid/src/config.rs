//! How to reach Plaid: the environment, the credentials and the client's limits.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A Plaid environment, as `PLAID_ENV` names it. The URLs are the spec's `servers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaidEnv {
    /// `sandbox`: test institutions and test credentials.
    Sandbox,
    /// `production`: real institutions.
    Production,
}

impl PlaidEnv {
    /// The environment's base URL.
    #[must_use]
    pub const fn base_url(self) -> &'static str {
        match self {
            Self::Sandbox => "https://sandbox.plaid.com",
            Self::Production => "https://production.plaid.com",
        }
    }

    /// The name `PLAID_ENV` uses.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for PlaidEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `PLAID_ENV` value that names no Plaid environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Plaid environment {0:?}: expected `sandbox` or `production`")]
pub struct UnknownPlaidEnv(pub String);

impl FromStr for PlaidEnv {
    type Err = UnknownPlaidEnv;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Self::Sandbox),
            "production" => Ok(Self::Production),
            _ => Err(UnknownPlaidEnv(s.to_owned())),
        }
    }
}

/// The API secret. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlaidSecret(String);

impl PlaidSecret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret, for the request header only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlaidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlaidSecret(***)")
    }
}

/// Everything the client needs. Build it with [`PlaidConfig::new`] and adjust the fields.
#[derive(Debug, Clone)]
pub struct PlaidConfig {
    /// `PLAID-CLIENT-ID`.
    pub client_id: String,
    /// `PLAID-SECRET`.
    pub secret: PlaidSecret,
    /// Where Plaid is, without a trailing slash.
    pub base_url: String,
    /// The webhook URL given to Link (`/link/token/create`), when there is one.
    pub webhook_url: Option<String>,
    /// The app's name as Link shows it.
    pub client_name: String,
    /// How long one HTTP attempt may take, connection included.
    pub timeout: Duration,
    /// How many times a failed call is tried again (0: never).
    pub max_retries: u32,
    /// The first backoff; each retry doubles it (with jitter).
    pub backoff_base: Duration,
    /// The longest single wait between two attempts.
    pub backoff_max: Duration,
    /// The most a call waits in all between its attempts; past it, the last error stands.
    pub max_total_wait: Duration,
}

impl PlaidConfig {
    /// A configuration for `env`, or for `base_url_override` (`PLAID_BASE_URL`, e.g. the
    /// fake) when given, with default limits: 30 s per attempt, 3 retries, 250 ms doubling
    /// backoff, at most 10 s waited per call.
    #[must_use]
    pub fn new(
        client_id: impl Into<String>,
        secret: impl Into<String>,
        env: PlaidEnv,
        base_url_override: Option<String>,
    ) -> Self {
        let base_url = base_url_override
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| env.base_url().to_owned());
        Self {
            client_id: client_id.into(),
            secret: PlaidSecret::new(secret),
            base_url: base_url.trim_end_matches('/').to_owned(),
            webhook_url: None,
            client_name: "Nestegg".to_owned(),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(5),
            max_total_wait: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaid_env_reads_the_names_plaid_uses_and_explains_others() {
        assert_eq!("sandbox".parse::<PlaidEnv>(), Ok(PlaidEnv::Sandbox));
        assert_eq!(" Production ".parse::<PlaidEnv>(), Ok(PlaidEnv::Production));
        let err = "development".parse::<PlaidEnv>().unwrap_err();
        assert!(err.to_string().contains("sandbox"), "{err}");
    }

    #[test]
    fn the_environment_picks_the_base_url_unless_overridden() {
        let c = PlaidConfig::new("id", "s", PlaidEnv::Sandbox, None);
        assert_eq!(c.base_url, "https://sandbox.plaid.com");
        let c = PlaidConfig::new("id", "s", PlaidEnv::Production, None);
        assert_eq!(c.base_url, "https://production.plaid.com");
        let c = PlaidConfig::new(
            "id",
            "s",
            PlaidEnv::Production,
            Some("http://127.0.0.1:8099/".into()),
        );
        assert_eq!(c.base_url, "http://127.0.0.1:8099");
    }

    #[test]
    fn debug_of_the_config_hides_the_secret() {
        let c = PlaidConfig::new("id", "very-secret-value", PlaidEnv::Sandbox, None);
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
    }
}
