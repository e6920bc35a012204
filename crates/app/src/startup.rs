//! Wiring: adapters into use cases, use cases into the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::error::{InternalError, JsonPayloadError};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, ResponseError, web};
use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use nestegg_application::accounts::AccountService;
use nestegg_application::auth::{AuthPolicy, AuthPorts, AuthService};
use nestegg_application::cache::ReportCache;
use nestegg_application::demo::DemoService;
use nestegg_application::investments::InvestmentService;
use nestegg_application::portfolios::PortfolioService;
use nestegg_application::reports::ReportService;
use nestegg_application::transactions::TransactionService;
use nestegg_cache::{InMemoryCache, InMemoryThrottle, RedisCache, RedisStore, RedisThrottle};
use nestegg_crypto::{BcryptHasher, JwtAccessTokens, RandomSecretTokens};
use nestegg_persistence::{
    Db, SqlAccountRepository, SqlInvestmentRepository, SqlPortfolioRepository,
    SqlRefreshTokenRepository, SqlReportRepository, SqlTransactionRepository, SqlUserRepository,
};
use nestegg_ports::{AccessTokens, Cache, Clock, HealthProbe, LoginThrottle};

use crate::config::Settings;
use crate::error::{ApiError, envelope};
use crate::middleware::{envelope_errors, request_context};
use crate::routes;

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
    /// Security use cases.
    pub investments: InvestmentService,
    /// Portfolio use cases.
    pub portfolios: PortfolioService,
    /// Access-token checks for the extractor.
    pub access: Arc<dyn AccessTokens>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Database readiness.
    pub health: Arc<dyn HealthProbe>,
    /// Redis readiness, when Redis is configured.
    pub cache: Option<Arc<dyn HealthProbe>>,
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
        );
        let (throttle, report_cache, cache): Shared = match &settings.redis_url {
            Some(url) => {
                let store = RedisStore::new(url, &settings.redis_prefix)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                (
                    Arc::new(RedisThrottle::new(store.clone())),
                    Arc::new(RedisCache::new(store.clone())),
                    Some(Arc::new(store)),
                )
            }
            None => (
                Arc::new(InMemoryThrottle::default()),
                Arc::new(InMemoryCache::default()),
                None,
            ),
        };
        let reports_cache = ReportCache::new(report_cache, settings.cache_ttl);
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
        let ports = AuthPorts {
            users: users.clone(),
            tokens: Arc::new(SqlRefreshTokenRepository::new(db.clone())),
            hasher: Arc::new(
                BcryptHasher::new(settings.bcrypt_cost).context("NESTEGG_BCRYPT_COST")?,
            ),
            access: access.clone(),
            secrets: Arc::new(RandomSecretTokens::new()),
            throttle,
            clock: clock.clone(),
            cache: reports_cache.clone(),
        };
        Ok(Self {
            auth: AuthService::new(ports, AuthPolicy::default()),
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
            investments: InvestmentService::new(investments, clock.clone()),
            reports: ReportService::new(
                users.clone(),
                accounts,
                Arc::new(SqlReportRepository::new(db.clone())),
                reports_cache,
                clock.clone(),
            ),
            access,
            clock,
            health: users,
            cache,
        })
    }
}

/// A bound, ready-to-run server.
#[allow(missing_debug_implementations)]
pub struct Application {
    server: Server,
    port: u16,
}

impl Application {
    /// The port it listens on (useful with port 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (up to 10 s).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Connects to the database and migrates it.
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url)
        .await
        .context("cannot connect to the database (DATABASE_URL)")?;
    db.migrate_up().await.context("migrating the database")?;
    Ok(db)
}

/// Connects, migrates and binds: everything `nestegg serve` does before serving.
///
/// # Errors
/// When the database cannot be reached or migrated, or the address cannot be bound.
pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
    let db = open_database(settings).await?;
    let listener = TcpListener::bind(&settings.addr)
        .with_context(|| format!("cannot listen on {} (NESTEGG_ADDR)", settings.addr))?;
    let state = web::Data::new(AppState::new(&db, settings)?);
    serve(listener, state, settings.body_limit)
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::BadRequest {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "payload_too_large",
                message: "the request body is too large".into(),
            }
        }
        JsonPayloadError::ContentType => ApiError::BadRequest {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "send JSON with Content-Type: application/json".into(),
        },
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::bad_request("invalid_body", e.to_string())
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::bad_request("malformed_json", format!("malformed JSON: {e}"))
        }
        other => ApiError::bad_request("bad_request", other.to_string()),
    };
    InternalError::from_response(err, api.error_response()).into()
}

/// Serves the API on `listener`.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    body_limit: usize,
) -> anyhow::Result<Application> {
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(envelope_errors))
            .wrap(from_fn(request_context))
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(body_limit)
                    .error_handler(json_error),
            )
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                let api = ApiError::bad_request("invalid_path", err.to_string());
                InternalError::from_response(err, api.error_response()).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                let api = ApiError::bad_request("invalid_query", err.to_string());
                InternalError::from_response(err, api.error_response()).into()
            }))
            .configure(routes::configure)
            .default_service(web::to(|| async {
                envelope(StatusCode::NOT_FOUND, "not_found", "no such route", None)
            }))
    })
    .shutdown_timeout(10)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?
    .run();
    Ok(Application { server, port })
}
