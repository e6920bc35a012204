//! What an operator watches, in Prometheus's text format: requests by route and status, the
//! database pool, the report cache, login-throttle refusals and bank syncs. One registry per
//! server ([`AppMetrics`]), served on its own listener (`NESTEGG_METRICS_ADDR`, [`server`]),
//! never on the API's.
//!
//! Requests are counted by [`observe`], a middleware; the use cases count through the
//! `Metrics` port, which [`AppMetrics`] implements; the pool and the cache's evictions are
//! read when Prometheus scrapes ([`Sources`]).

pub mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use nestegg_cache::{InMemoryCache, RedisCache};
use nestegg_persistence::Db;
use nestegg_ports::{
    CacheLookup, Metrics, SyncOutcome, SyncTrigger, ThrottleCheck, ThrottleRefusal,
};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// The route label of a request no route took: one value, whatever the path.
pub const UNMATCHED: &str = "unmatched";

/// Request latencies, in seconds: Prometheus's usual buckets, 5 ms to 10 s.
const HTTP_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    check: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    trigger: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}

/// Sync durations: 0.1 s to about 7 minutes, doubling.
fn sync_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.1, 2.0, 13))
}

/// Every metric of one server, and the registry that renders them.
#[derive(Debug)]
pub struct AppMetrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    latency: Histograms<HttpLabels>,
    cache_lookups: Family<LookupLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    syncs: Family<SyncLabels, Counter>,
    sync_seconds: Histograms<SyncLabels>,
    scheduler_passes: Family<OutcomeLabels, Counter>,
}

/// What is read at each scrape rather than counted as it happens.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The database, for its pool and its transactions' waits.
    pub db: Db,
    /// The report cache's adapter, for its evictions.
    pub cache: CacheSource,
}

/// The report cache in use.
#[derive(Debug, Clone)]
pub enum CacheSource {
    /// In process.
    Memory(Arc<InMemoryCache>),
    /// Redis.
    Redis(RedisCache),
}

impl AppMetrics {
    /// The metrics of a server over `sources`, every counter at zero.
    #[must_use]
    pub fn new(sources: Sources) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<HttpLabels, Counter>::default();
        let latency: Histograms<HttpLabels> = Family::new_with_constructor(http_histogram);
        let cache_lookups = Family::<LookupLabels, Counter>::default();
        let refusals = Family::<RefusalLabels, Counter>::default();
        let syncs = Family::<SyncLabels, Counter>::default();
        let sync_seconds: Histograms<SyncLabels> = Family::new_with_constructor(sync_histogram);
        let scheduler_passes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "nestegg_http_requests",
            "HTTP requests answered, by method, route pattern (`unmatched` when no route took \
             the request) and status",
            requests.clone(),
        );
        registry.register(
            "nestegg_http_request_duration_seconds",
            "Time from a request's arrival to its response head, by method, route pattern and \
             status",
            latency.clone(),
        );
        registry.register(
            "nestegg_report_cache_lookups",
            "Report-cache lookups: hit, miss (computed), unavailable (Redis down: computed, not \
             stored)",
            cache_lookups.clone(),
        );
        registry.register(
            "nestegg_login_throttle_refusals",
            "Attempts the login throttle refused (429), by check (login, password_confirmation) \
             and reason (limit: a counter at its limit; busy: earlier attempts still judged)",
            refusals.clone(),
        );
        registry.register(
            "nestegg_plaid_syncs",
            "Bank syncs that ended, by trigger (manual, scheduled) and outcome",
            syncs.clone(),
        );
        registry.register(
            "nestegg_plaid_sync_duration_seconds",
            "How long bank syncs took, by trigger and outcome",
            sync_seconds.clone(),
        );
        registry.register(
            "nestegg_plaid_scheduler_passes",
            "Passes of the sync scheduler (every 15 s): ok, or error when due connections \
             could not be looked up",
            scheduler_passes.clone(),
        );
        registry.register_collector(Box::new(Scraped(sources)));
        let metrics = Self {
            registry,
            requests,
            latency,
            cache_lookups,
            refusals,
            syncs,
            sync_seconds,
            scheduler_passes,
        };
        metrics.start_at_zero();
        metrics
    }

    /// Shows every label value the use cases can count, at zero, so that a rate over them
    /// has a start.
    fn start_at_zero(&self) {
        for result in [
            CacheLookup::Hit,
            CacheLookup::Miss,
            CacheLookup::Unavailable,
        ] {
            let result = result.as_str();
            self.cache_lookups
                .get_or_create(&LookupLabels { result })
                .inc_by(0);
        }
        for check in [ThrottleCheck::Login, ThrottleCheck::PasswordConfirmation] {
            for reason in [ThrottleRefusal::Limit, ThrottleRefusal::Busy] {
                let labels = RefusalLabels {
                    check: check.as_str(),
                    reason: reason.as_str(),
                };
                self.refusals.get_or_create(&labels).inc_by(0);
            }
        }
        for trigger in [SyncTrigger::Manual, SyncTrigger::Scheduled] {
            for outcome in SyncOutcome::ALL {
                let labels = SyncLabels {
                    trigger: trigger.as_str(),
                    outcome: outcome.as_str(),
                };
                self.syncs.get_or_create(&labels).inc_by(0);
            }
        }
        for outcome in ["ok", "error"] {
            self.scheduler_passes
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(0);
        }
    }

    /// Counts an answered request.
    pub fn request(
        &self,
        method: &Method,
        route: Option<String>,
        status: StatusCode,
        took: Duration,
    ) {
        let labels = HttpLabels {
            method: method_label(method),
            route: route.unwrap_or_else(|| UNMATCHED.to_owned()),
            status: status.as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts a pass of the sync scheduler.
    pub fn scheduler_pass(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.scheduler_passes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Everything, in Prometheus's text format (version 0.0.4).
    ///
    /// # Errors
    /// Never in practice: the text is written to a `String`.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A method as a label: the standard ones by name, anything else as `other`, so that a client
/// cannot make up label values.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Metrics for AppMetrics {
    fn report_cache(&self, lookup: CacheLookup) {
        self.cache_lookups
            .get_or_create(&LookupLabels {
                result: lookup.as_str(),
            })
            .inc();
    }

    fn throttle_refused(&self, check: ThrottleCheck, refusal: ThrottleRefusal) {
        self.refusals
            .get_or_create(&RefusalLabels {
                check: check.as_str(),
                reason: refusal.as_str(),
            })
            .inc();
    }

    fn sync_finished(&self, trigger: SyncTrigger, outcome: SyncOutcome, elapsed: Duration) {
        let labels = SyncLabels {
            trigger: trigger.as_str(),
            outcome: outcome.as_str(),
        };
        self.syncs.get_or_create(&labels).inc();
        self.sync_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

/// The pool and the cache, read at each scrape.
#[derive(Debug)]
struct Scraped(Sources);

fn gauge(value: impl TryInto<i64>) -> ConstGauge {
    ConstGauge::new(value.try_into().unwrap_or(i64::MAX))
}

/// Writes one unlabelled metric: its name, help and type, then its value.
fn encode_one(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(pool) = self.0.db.pool_stats() {
            encode_one(
                &mut encoder,
                "nestegg_db_pool_max_connections",
                "The most connections the database pool opens",
                gauge(pool.max),
            )?;
            let mut family = encoder.encode_descriptor(
                "nestegg_db_pool_connections",
                "Open database connections: in_use (held by a query or a transaction) or idle",
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for (state, n) in [("in_use", pool.in_use()), ("idle", pool.idle)] {
                gauge(n).encode(family.encode_family(&[("state", state)])?)?;
            }
        }
        let waits = self.0.db.begin_waits();
        encode_one(
            &mut encoder,
            "nestegg_db_transactions_begun",
            "Database transactions begun (or that failed to begin)",
            ConstCounter::new(waits.count),
        )?;
        encode_one(
            &mut encoder,
            "nestegg_db_transaction_begin_wait_seconds",
            "Time transactions waited to begin: for a pooled connection, on SQLite for the \
             write gate, and BEGIN",
            ConstCounter::new(waits.seconds),
        )?;
        let mut evictions = encoder.encode_descriptor(
            "nestegg_report_cache_evictions",
            "Cached reports dropped before a write dropped them: size (the in-process byte \
             budget), expired (their TTL, in process), per_user_bound (Redis: a user's limit)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        match &self.0.cache {
            CacheSource::Memory(cache) => {
                let counts = cache.evictions();
                for (cause, n) in [("size", counts.size), ("expired", counts.expired)] {
                    ConstCounter::new(n).encode(evictions.encode_family(&[("cause", cause)])?)?;
                }
            }
            CacheSource::Redis(cache) => {
                ConstCounter::new(cache.evictions())
                    .encode(evictions.encode_family(&[("cause", "per_user_bound")])?)?;
            }
        }
        if let CacheSource::Memory(cache) = &self.0.cache {
            let usage = cache.usage();
            encode_one(
                &mut encoder,
                "nestegg_report_cache_entries",
                "Reports held by the in-process cache",
                gauge(usage.entries),
            )?;
            encode_one(
                &mut encoder,
                "nestegg_report_cache_bytes",
                "Bytes the in-process cache holds, as counted against NESTEGG_CACHE_MAX_BYTES",
                gauge(usage.bytes),
            )?;
        }
        Ok(())
    }
}

/// Counts every request by method, route pattern (never the path itself, which holds ids)
/// and status, with its latency to the response head (a streamed body, the export, goes on
/// after it).
///
/// # Errors
/// Those of the inner service.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| Arc::clone(&state.metrics));
    let method = req.method().clone();
    let route = req.match_pattern();
    let result = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &result {
            Ok(response) => response.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        metrics.request(&method, route, status, started.elapsed());
    }
    result
}
