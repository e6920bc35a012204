//! The metrics listener (`NESTEGG_METRICS_ADDR`): a second, small server answering
//! `GET /metrics` with the registry in Prometheus's text format, and 404 to anything else. It
//! is not part of the API: it has no token, no envelope and no OpenAPI entry, so it must
//! listen where only the scraper reaches (loopback, or a private network).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE as PROMETHEUS_TEXT;

use super::AppMetrics;

/// The metrics server, bound and ready to run.
#[allow(missing_debug_implementations)]
pub struct MetricsServer {
    pub(crate) server: Server,
    addr: SocketAddr,
}

impl MetricsServer {
    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until stopped (it does not handle signals itself: the API's server stops it).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn scrape(metrics: web::Data<Arc<AppMetrics>>) -> HttpResponse {
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT)))
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "rendering the metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Serves `metrics` on `listener` with one worker; signals are left to the API's server,
/// which stops this one when it stops.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<AppMetrics>,
) -> anyhow::Result<MetricsServer> {
    let addr = listener.local_addr()?;
    let metrics = web::Data::new(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .service(web::resource("/metrics").get(scrape))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(MetricsServer { server, addr })
}
