//! The HTTP server: the routes, the extractor configs and middleware, bound to a listener over
//! the [`AppState`] built in [`crate::state`].

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::error::{InternalError, JsonPayloadError, QueryPayloadError};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpRequest, HttpServer, ResponseError, web};
use anyhow::Context;
use nestegg_persistence::{ClaimError, Db, InstanceClaim, InstanceRole};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use utoipa_actix_web::AppExt;

use crate::config::{Instances, Settings};
use crate::decode;
use crate::error::ApiError;
use crate::metrics::server::{MetricsServer, serve_metrics};
use crate::middleware::{
    compress, envelope_errors, head_as_get, request_context, security_headers,
};
use crate::routes;
use crate::state::AppState;

/// How long a stop waits for requests in flight and for the sync the scheduler is running.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound, ready-to-run server.
#[allow(missing_debug_implementations)]
pub struct Application {
    server: Server,
    addr: SocketAddr,
    migrations_applied: Vec<String>,
    metrics: Option<MetricsServer>,
    /// Tells the background tasks to stop (`true`).
    stopping: watch::Sender<bool>,
    /// The scheduler, when it runs: awaited (up to the timeout) when stopping.
    scheduler: Option<JoinHandle<()>>,
    /// This instance's claim on the database, kept while it serves (see [`claim_database`]).
    claim: Option<(InstanceClaim, Db)>,
}

impl Application {
    /// The port it listens on (useful with port 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The migrations [`build`] applied before serving, oldest first (none when the database
    /// was up to date).
    #[must_use]
    pub fn migrations_applied(&self) -> &[String] {
        &self.migrations_applied
    }

    /// Where the metrics listener listens, when `NESTEGG_METRICS_ADDR` is set.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::addr)
    }

    /// Also serves the metrics on `metrics` while the API runs.
    #[must_use]
    pub fn with_metrics(self, metrics: MetricsServer) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    /// Serves until SIGINT or SIGTERM, then stops: no new connection is accepted, requests
    /// in flight are finished and the scheduler finishes the sync it is running but starts no
    /// other, all within [`SHUTDOWN_TIMEOUT`]; the
    /// metrics listener stops with it.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// As [`Application::run_until_stopped`], stopping when `stop` completes.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        let Self {
            mut server,
            stopping,
            scheduler,
            metrics,
            claim,
            ..
        } = self;
        let handle = server.handle();
        let metrics = metrics.map(|m| (m.server.handle(), tokio::spawn(m.run())));
        let lost = async move {
            match claim {
                Some((claim, db)) => keep_claim(claim, db).await,
                None => std::future::pending().await,
            }
        };
        let served = tokio::select! {
            served = &mut server => served,
            why = lost => {
                tracing::error!("{why}; stopping");
                stopping.send_replace(true);
                drop(handle.stop(true));
                // Whatever the server's own end, this instance must not go on serving.
                server.await.and(Err(std::io::Error::other(why)))
            }
            () = stop => {
                tracing::info!(
                    timeout_seconds = SHUTDOWN_TIMEOUT.as_secs(),
                    "stopping: finishing the requests in flight and the sync running; \
                     no new connection or sync"
                );
                stopping.send_replace(true);
                // Sent now; the server's own future finishes once its workers have.
                drop(handle.stop(true));
                server.await
            }
        };
        stopping.send_replace(true);
        if let Some(scheduler) = scheduler {
            // It was told to stop when the stop began, so its wait overlaps the requests'.
            if tokio::time::timeout(SHUTDOWN_TIMEOUT, scheduler)
                .await
                .is_err()
            {
                tracing::warn!(
                    "a scheduled sync was still running at the shutdown timeout; it is \
                     abandoned, and its connection's lease runs out by itself"
                );
            }
        }
        if let Some((handle, scraped)) = metrics {
            handle.stop(true).await;
            if let Ok(Err(e)) = scraped.await {
                tracing::warn!(error = %e, "the metrics listener failed");
            }
        }
        served
    }
}

/// Completes at SIGINT (Ctrl-C) or SIGTERM (a service manager's stop).
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Connects to the database and migrates it.
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    Ok(migrated_database(settings).await?.0)
}

/// Connects to the database and migrates it; also returns the names of the migrations
/// applied now (none when it was up to date).
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn migrated_database(settings: &Settings) -> anyhow::Result<(Db, Vec<String>)> {
    let db = Db::connect(&settings.database_url).await?;
    let applied = db.migrate_up().await.context("migrating the database")?;
    Ok((db, applied))
}

/// Connects, migrates and binds: everything `nestegg serve` does before serving.
///
/// # Errors
/// When the database cannot be reached or migrated, or the address cannot be bound.
pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
    let (db, migrations_applied) = migrated_database(settings).await?;
    let claim = claim_database(&db, settings.instances).await?;
    let listener = TcpListener::bind(&settings.addr)
        .with_context(|| format!("cannot listen on {} (NESTEGG_ADDR)", settings.addr))?;
    let metrics_listener = match &settings.metrics_addr {
        None => None,
        Some(addr) => Some(
            TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on {addr} (NESTEGG_METRICS_ADDR)"))?,
        ),
    };
    let state = web::Data::new(AppState::new(&db, settings)?);
    // Outstanding invalidations are retried whatever holds the versions (Redis, or the
    // database several instances share): until one gets through, other instances could
    // still serve the reports it concerns. Alone and in process, none is ever outstanding.
    spawn_cache_upkeep(state.clone());
    let metrics = metrics_listener
        .map(|listener| serve_metrics(listener, state.metrics.clone()))
        .transpose()?;
    let mut app = serve(listener, state.clone(), settings.body_limit)?;
    if settings.plaid.is_some() && !settings.sync_interval.is_zero() {
        app.scheduler = Some(spawn_scheduler(
            state,
            settings.sync_interval,
            app.stopping.subscribe(),
        ));
    }
    app.migrations_applied = migrations_applied;
    app.metrics = metrics;
    app.claim = Some((claim, db));
    Ok(app)
}

/// How long a start waits for a claim another instance holds: a process that was just
/// killed leaves its connection, and so its lock, to the database for a moment.
const CLAIM_PATIENCE: Duration = Duration::from_secs(5);

/// How often a serving instance checks that its claim still holds.
const CLAIM_CHECK: Duration = Duration::from_secs(1);

/// Claims the database for this instance's role (`NESTEGG_INSTANCES`): a sole instance must
/// be the only one, an instance of several must not meet a sole one.
///
/// # Errors
/// When another instance holds the database in a role that excludes this one (after waiting
/// up to [`CLAIM_PATIENCE`]), or the database cannot be asked.
pub async fn claim_database(db: &Db, instances: Instances) -> anyhow::Result<InstanceClaim> {
    let role = match instances {
        Instances::One => InstanceRole::Sole,
        Instances::Several => InstanceRole::Shared,
    };
    let started = std::time::Instant::now();
    loop {
        match InstanceClaim::claim(db, role).await {
            Ok(claim) => return Ok(claim),
            Err(ClaimError::Taken(why)) if started.elapsed() < CLAIM_PATIENCE => {
                tracing::debug!(why, "the database is claimed; asking again");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("claiming the database")),
        }
    }
}

/// Checks the claim every [`CLAIM_CHECK`] and claims again when its connection went (the
/// database restarted): returns only when another instance took the database meanwhile in
/// a role that excludes this one, with why.
async fn keep_claim(mut claim: InstanceClaim, db: Db) -> String {
    let mut warned = false;
    loop {
        tokio::time::sleep(CLAIM_CHECK).await;
        if claim.holds().await {
            continue;
        }
        if !warned {
            tracing::warn!("the connection holding this instance's claim went; claiming again");
            warned = true;
        }
        match claim.renew(&db).await {
            Ok(()) => {
                warned = false;
                tracing::info!("this instance's claim on the database holds again");
            }
            Err(ClaimError::Taken(why)) => return why.to_owned(),
            Err(ClaimError::Store(e)) => {
                tracing::debug!(error = %e, "cannot claim the database yet");
            }
        }
    }
}

/// How often the scheduler looks for due connections: a webhook's request waits at most this.
const SCHEDULER_TICK: Duration = Duration::from_secs(15);

/// Syncs due connections in the background: those a webhook asked for, and those not synced
/// for `interval`. Several instances may run it at once: each item's lease admits one sync.
/// Once `stop` turns `true` it starts no further sync, finishes the one running, and ends.
pub fn spawn_scheduler(
    state: web::Data<AppState>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SCHEDULER_TICK.min(interval));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|stopping| *stopping) => break,
            }
            let keep_going = || !*stop.borrow();
            let pass = state.sync.sync_due_while(interval, 20, &keep_going).await;
            state.metrics.scheduler_pass(pass.is_ok());
            match pass {
                Ok(0) => {}
                Ok(n) => tracing::info!(synced = n, "scheduled syncs ran"),
                Err(e) => tracing::warn!(error = %e, "looking for due syncs failed"),
            }
        }
        tracing::info!("scheduler stopped");
    })
}

/// How often invalidations that could not reach Redis (or the database holding the versions)
/// are tried again, so that other instances stop serving the reports they concern soon after
/// it is back.
const CACHE_UPKEEP_TICK: Duration = Duration::from_secs(1);

/// Retries, every [`CACHE_UPKEEP_TICK`], the report-cache invalidations that failed.
fn spawn_cache_upkeep(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CACHE_UPKEEP_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state.report_cache.retry_invalidations().await;
        }
    });
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::BadRequest {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "payload_too_large",
                message: "the request body is too large".into(),
                fields: None,
            }
        }
        JsonPayloadError::ContentType => ApiError::BadRequest {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "send JSON with Content-Type: application/json".into(),
            fields: None,
        },
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::bad_request("invalid_body", decode::reason(&e.to_string()))
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::bad_request("malformed_json", format!("malformed JSON: {e}"))
        }
        other => ApiError::bad_request("bad_request", other.to_string()),
    };
    InternalError::from_response(err, api.error_response()).into()
}

/// Browsers may call the API from `origins` only, with a bearer token (no cookies are used).
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .allowed_header(crate::middleware::REQUEST_ID)
        .expose_headers([crate::middleware::REQUEST_ID, header::RETRY_AFTER])
        .max_age(600)
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
    let addr = listener.local_addr()?;
    let origins = state.cors_origins.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(head_as_get))
            .wrap(from_fn(envelope_errors))
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(compress))
            .wrap(from_fn(request_context))
            .wrap(from_fn(crate::metrics::observe))
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(body_limit)
                    .error_handler(json_error),
            )
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(web::PathConfig::default().error_handler(|err, req| {
                let api = decode::path(req.match_info());
                InternalError::from_response(err, api.error_response()).into()
            }))
            // Routes read queries with `dto::Query`, which names the parameter; this is for
            // any `web::Query`, whose error does not say which parameter failed.
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                let reason = match &err {
                    QueryPayloadError::Deserialize(e) => decode::reason(&e.to_string()),
                    _ => "the query string could not be read".into(),
                };
                let api = ApiError::bad_request("invalid_query", reason);
                InternalError::from_response(err, api.error_response()).into()
            }))
            .into_utoipa_app()
            .configure(routes::configure)
            .into_app()
            .default_service(web::to(routes::unrouted))
    })
    // Answers go out as soon as they are written: without TCP_NODELAY, the last piece of a
    // chunked (compressed or streamed) answer waited for the ACK of the piece before it, which
    // clients delay by up to 40 ms on a kept-alive connection.
    .on_connect(|connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>()
            && let Err(e) = tcp.set_nodelay(true)
        {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    })
    // Signals are handled by `run_until_stopped`, which also stops the scheduler.
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?
    .run();
    Ok(Application {
        server,
        addr,
        migrations_applied: Vec::new(),
        metrics: None,
        stopping: watch::channel(false).0,
        claim: None,
        scheduler: None,
    })
}
