//! The HTTP routes, one module per feature.

pub mod accounts;
pub mod auth;
pub mod export;
pub mod health;
pub mod investments;
pub mod me;
pub mod plaid;
pub mod portfolios;
pub mod reports;
pub mod transactions;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;

/// What a handler answers.
pub(crate) type Reply = Result<HttpResponse, ApiError>;

/// `200 OK` with `body` as JSON.
pub(crate) fn ok(body: impl Serialize) -> Reply {
    Ok(HttpResponse::Ok().json(body))
}

/// `201 Created` with `body` as JSON.
pub(crate) fn created(body: impl Serialize) -> Reply {
    Ok(HttpResponse::Created().json(body))
}

/// `204 No Content`.
pub(crate) fn no_content() -> Reply {
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts every route: health at the root, the API under `/api/v1`. The same calls collect
/// the OpenAPI document ([`crate::openapi`]).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.configure(health::configure).service(
        scope("/api/v1")
            .configure(crate::openapi::configure)
            .configure(auth::configure)
            .configure(me::configure)
            .configure(export::configure)
            .configure(accounts::configure)
            .configure(transactions::configure)
            .configure(reports::configure)
            .configure(investments::configure)
            .configure(portfolios::configure)
            .configure(plaid::configure),
    );
}

/// Timestamps as RFC 3339 in UTC with millisecond precision, the same on every backend.
pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
