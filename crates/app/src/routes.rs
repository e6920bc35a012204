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

/// What answers a request no route took: 405 with `Allow` when the path is known but the
/// method is not, 404 otherwise; both in the envelope.
pub(crate) async fn unrouted(req: actix_web::HttpRequest) -> HttpResponse {
    use actix_web::http::StatusCode;
    use actix_web::http::header::{ALLOW, HeaderValue};

    let Some(allowed) = allowed_methods(req.path()) else {
        return crate::error::envelope(StatusCode::NOT_FOUND, "not_found", "no such route", None);
    };
    let allow = allowed.join(", ");
    let mut response = crate::error::envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("{} is not allowed here; use {allow}", req.method()),
        None,
    );
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

/// The methods a concrete path answers (`HEAD` beside `GET`), read from the OpenAPI document,
/// which is collected from the same `service(..)` calls that mount the routes; `None` for a
/// path no route matches.
fn allowed_methods(path: &str) -> Option<Vec<&'static str>> {
    type Table = Vec<(Vec<Option<String>>, Vec<&'static str>)>;
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        crate::openapi::document()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect();
                let mut methods = Vec::new();
                for (name, present) in [
                    ("GET", item.get.is_some()),
                    ("HEAD", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ] {
                    if present {
                        methods.push(name);
                    }
                }
                (segments, methods)
            })
            .collect()
    });
    let parts: Vec<&str> = path.split('/').collect();
    table.iter().find_map(|(segments, methods)| {
        let matches = segments.len() == parts.len()
            && segments
                .iter()
                .zip(&parts)
                .all(|(s, p)| s.as_deref().map_or(!p.is_empty(), |s| s == *p));
        matches.then(|| methods.clone())
    })
}

/// Timestamps as RFC 3339 in UTC with millisecond precision, the same on every backend.
pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
