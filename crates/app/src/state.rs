//! What every handler can reach ([`AppState`]) and how it is built: adapters wired into use
//! cases. Routes and the extractor depend on this module; it depends on none of them.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use nestegg_application::accounts::AccountService;
use nestegg_application::auth::{AuthPolicy, AuthPorts, AuthService};
use nestegg_application::cache::ReportCache;
use nestegg_application::demo::DemoService;
use nestegg_application::export::ExportService;
use nestegg_application::investments::InvestmentService;
use nestegg_application::plaid::{BankSync, SyncSettings};
use nestegg_application::portfolios::PortfolioService;
use nestegg_application::reports::ReportService;
use nestegg_application::transactions::TransactionService;
use nestegg_cache::{
    InMemoryCache, InMemoryThrottle, RedisCache, RedisStore, RedisThrottle, SharedVersionCache,
};
use nestegg_crypto::{
    AesGcmCipher, BcryptHasher, JwtAccessTokens, PlaidWebhookVerifier, RandomSecretTokens,
};
use nestegg_persistence::{
    Db, SqlAccountRepository, SqlConnectionRepository, SqlExportRepository,
    SqlInvestmentRepository, SqlLoginThrottle, SqlPortfolioRepository, SqlRefreshTokenRepository,
    SqlReportRepository, SqlScopeVersions, SqlTransactionRepository, SqlUserRepository,
};
use nestegg_plaid::{PlaidClient, PlaidConfig, PlaidEnv};
use nestegg_ports::{
    AccessTokens, Cache, Cipher, Clock, HealthProbe, LoginThrottle, Plaid, WebhookVerifier,
};

use crate::config::{Instances, Settings};
use crate::metrics::{AppMetrics, CacheSource, Sources};

/// The wall clock, truncated to microseconds so that a time reads back the same from every
/// backend (PostgreSQL keeps microseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// What every handler can reach.
#[allow(missing_debug_implementations)]
pub struct AppState {
    /// Auth use cases.
    pub auth: AuthService,
    /// Account use cases.
    pub accounts: AccountService,
    /// Transaction use cases.
    pub transactions: TransactionService,
    /// Report use cases.
    pub reports: ReportService,
    /// The demo data generator.
    pub demo: DemoService,
    /// The export of a user's data.
    pub export: ExportService,
    /// Security use cases.
    pub investments: InvestmentService,
    /// Portfolio use cases.
    pub portfolios: PortfolioService,
    /// Bank sync through Plaid.
    pub sync: BankSync,
    /// Plaid webhook signatures, when Plaid is configured.
    pub webhooks: Option<Arc<dyn WebhookVerifier>>,
    /// Origins browsers may call the API from.
    pub cors_origins: Vec<String>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Database readiness.
    pub health: Arc<dyn HealthProbe>,
    /// Redis readiness, when Redis is configured.
    pub cache: Option<Arc<dyn HealthProbe>>,
    /// The report cache every use case shares (its invalidations that could not reach Redis
    /// are retried in the background).
    pub report_cache: ReportCache,
    /// Proxies whose forwarding headers name the client (`NESTEGG_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// What this server counts, served on `NESTEGG_METRICS_ADDR`.
    pub metrics: Arc<AppMetrics>,
}

impl AppState {
    /// Builds the use cases over `db` with the settings' secrets.
    ///
    /// # Errors
    /// When a secret is unusable.
    pub fn new(db: &Db, settings: &Settings) -> anyhow::Result<Self> {
        type Shared = (
            Arc<dyn LoginThrottle>,
            Arc<dyn Cache>,
            Option<Arc<dyn HealthProbe>>,
            CacheSource,
        );
        let (throttle, report_cache, cache, cache_source): Shared = match &settings.redis_url {
            Some(url) => {
                let store = RedisStore::new(url, &settings.redis_prefix)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let redis = RedisCache::new(store.clone())
                    .with_max_fields_per_scope(settings.cache_max_entries_per_user);
                (
                    Arc::new(RedisThrottle::new(store.clone())),
                    Arc::new(redis.clone()),
                    Some(Arc::new(store)),
                    CacheSource::Redis(redis),
                )
            }
            None if settings.instances == Instances::Several => {
                // No cache server between the instances: values stay in each one's memory,
                // their versions and the login counters go to the database they share.
                let memory = Arc::new(InMemoryCache::new(settings.cache_max_bytes));
                let versions = Arc::new(SqlScopeVersions::new(db.clone()));
                (
                    Arc::new(SqlLoginThrottle::new(db.clone())),
                    Arc::new(SharedVersionCache::new(memory.clone(), versions)),
                    None,
                    CacheSource::Memory(memory),
                )
            }
            None => {
                let memory = Arc::new(InMemoryCache::new(settings.cache_max_bytes));
                (
                    Arc::new(InMemoryThrottle::default()),
                    memory.clone(),
                    None,
                    CacheSource::Memory(memory),
                )
            }
        };
        let metrics = Arc::new(AppMetrics::new(Sources {
            db: db.clone(),
            cache: cache_source,
        }));
        let reports_cache =
            ReportCache::new(report_cache, settings.cache_ttl).with_metrics(metrics.clone());
        let accounts = Arc::new(SqlAccountRepository::new(db.clone()));
        let transactions = Arc::new(SqlTransactionRepository::new(db.clone()));
        let investments = Arc::new(SqlInvestmentRepository::new(db.clone()));
        let portfolios = Arc::new(SqlPortfolioRepository::new(db.clone()));
        let users = Arc::new(SqlUserRepository::new(db.clone()));
        let access: Arc<dyn AccessTokens> = Arc::new(
            JwtAccessTokens::new(settings.jwt_secret.expose(), settings.access_token_ttl)
                .context("NESTEGG_JWT_SECRET is unusable")?,
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let previous: Vec<&[u8]> = settings
            .previous_encryption_keys
            .iter()
            .map(crate::config::Secret::expose)
            .collect();
        let cipher: Arc<dyn Cipher> = Arc::new(
            AesGcmCipher::with_previous(settings.encryption_key.expose(), &previous)
                .map_err(|_| anyhow::anyhow!("NESTEGG_ENCRYPTION_KEY is unusable"))?,
        );
        let plaid: Option<Arc<dyn Plaid>> = match &settings.plaid {
            None => None,
            Some(p) => {
                let env: PlaidEnv = p
                    .env
                    .parse()
                    .map_err(|e| anyhow::anyhow!("PLAID_ENV: {e}"))?;
                let secret = String::from_utf8(p.secret.expose().to_vec())
                    .context("PLAID_SECRET is not text")?;
                let mut config = PlaidConfig::new(&p.client_id, secret, env, p.base_url.clone());
                config.webhook_url.clone_from(&p.webhook_url);
                Some(Arc::new(
                    PlaidClient::new(config).map_err(|e| anyhow::anyhow!("Plaid client: {e}"))?,
                ))
            }
        };
        let webhooks = plaid
            .clone()
            .map(|plaid| Arc::new(PlaidWebhookVerifier::new(plaid)) as Arc<dyn WebhookVerifier>);
        let sync = BankSync::new(
            plaid,
            Arc::new(SqlConnectionRepository::new(db.clone())),
            cipher,
            reports_cache.clone(),
            clock.clone(),
            SyncSettings {
                lease: settings.sync_lease,
                ..SyncSettings::default()
            },
        )
        .with_metrics(metrics.clone());
        let ports = AuthPorts {
            users: users.clone(),
            tokens: Arc::new(SqlRefreshTokenRepository::new(db.clone())),
            hasher: Arc::new(
                BcryptHasher::with_queue(settings.bcrypt_cost, settings.bcrypt_queue)
                    .context("NESTEGG_BCRYPT_COST")?,
            ),
            access,
            secrets: Arc::new(RandomSecretTokens::new()),
            throttle,
            clock: clock.clone(),
            cache: reports_cache.clone(),
        };
        Ok(Self {
            auth: AuthService::new(
                ports,
                AuthPolicy {
                    session_max_age: settings.session_max_age,
                    session_check_ttl: settings.session_check_ttl(),
                    registration_open: settings.registration_open,
                    ..AuthPolicy::default()
                },
            )
            .with_metrics(metrics.clone()),
            accounts: AccountService::new(accounts.clone(), reports_cache.clone(), clock.clone()),
            transactions: TransactionService::new(
                transactions.clone(),
                reports_cache.clone(),
                clock.clone(),
            ),
            demo: DemoService::new(
                accounts.clone(),
                transactions,
                investments.clone(),
                portfolios.clone(),
                clock.clone(),
            ),
            portfolios: PortfolioService::new(portfolios, clock.clone()),
            export: ExportService::new(
                Arc::new(SqlExportRepository::new(db.clone())),
                clock.clone(),
            )
            .with_slots(export_slots(db)),
            sync,
            webhooks,
            cors_origins: settings.cors_origins.clone(),
            investments: InvestmentService::new(investments, clock.clone()),
            reports: ReportService::new(
                users.clone(),
                accounts,
                Arc::new(SqlReportRepository::new(db.clone())),
                reports_cache.clone(),
                clock.clone(),
            ),
            report_cache: reports_cache,
            clock,
            health: users,
            cache,
            trusted_proxies: settings.trusted_proxies.clone(),
            metrics,
        })
    }
}

/// Exports that may run at once: a quarter of the database pool (`with_slots` keeps at least
/// one), since each holds a connection for as long as its client reads.
fn export_slots(db: &Db) -> usize {
    db.pool_stats()
        .map_or(nestegg_application::export::DEFAULT_EXPORT_SLOTS, |pool| {
            usize::try_from(pool.max / 4).unwrap_or(usize::MAX)
        })
}
