//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

/// Configures the health routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(live).service(ready);
}

/// 200 while the process serves requests.
#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when the database answers (with `cache: "degraded"` if only Redis is down); 503 when
/// the database does not answer.
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
        Ok(()) => HttpResponse::Ok().json(json!({"database": "ok", "cache": cache})),
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unavailable");
            HttpResponse::ServiceUnavailable().json(json!({
                "database": "unavailable",
                "cache": cache,
                "error": {
                    "code": "database_unavailable",
                    "message": "the database does not answer",
                },
            }))
        }
    }
}
