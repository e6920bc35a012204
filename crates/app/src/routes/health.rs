//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;

/// Configures the health routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready);
}

/// 200 while the process serves requests.
#[utoipa::path(
    operation_id = "health_live", tag = "health", summary = "The process serves requests.",
    responses((status = 200, description = "Alive", body = Liveness)),
)]
#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "ok" })
}

/// What `/health/live` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Liveness {
    /// Always `ok`.
    status: &'static str,
}

/// What `/health/ready` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Readiness {
    /// `ok` or `unavailable`.
    database: &'static str,
    /// `ok`, or `degraded` when Redis does not answer (answers stay correct without it).
    cache: &'static str,
    /// Only when the database does not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<crate::error::ErrorBody>,
}

/// 200 when the database answers (with `cache: "degraded"` if only Redis is down); 503 when
/// the database does not answer.
#[utoipa::path(
    operation_id = "health_ready", tag = "health",
    summary = "The database answers (the cache may be degraded).",
    responses(
        (status = 200, description = "Ready", body = crate::routes::health::Readiness),
        (status = 503, description = "The database does not answer", body = crate::routes::health::Readiness),
    ),
)]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let cache = match &state.cache {
        None => "ok",
        Some(redis) => match redis.ping().await {
            Ok(()) => "ok",
            Err(e) => {
                tracing::warn!(error = %e, "readiness: cache unavailable");
                "degraded"
            }
        },
    };
    match state.health.ping().await {
        Ok(()) => HttpResponse::Ok().json(Readiness {
            database: "ok",
            cache,
            error: None,
        }),
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unavailable");
            HttpResponse::ServiceUnavailable().json(Readiness {
                database: "unavailable",
                cache,
                error: Some(crate::error::ErrorBody {
                    code: "database_unavailable".into(),
                    message: "the database does not answer".into(),
                    fields: None,
                }),
            })
        }
    }
}
