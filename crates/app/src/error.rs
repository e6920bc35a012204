//! The one error envelope every failure is rendered in.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use nestegg_application::AppError;
use serde::Serialize;

/// `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope {
    /// The error.
    pub error: ErrorBody,
}

/// The inside of the envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code.
    pub code: String,
    /// Human sentence.
    pub message: String,
    /// Per-field reasons: for validation failures (422), and for a 400 naming the body field,
    /// query parameter or path parameter that could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// An error on its way to becoming a response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// From a use case.
    #[error(transparent)]
    App(#[from] AppError),
    /// A request the framework could not read (bad JSON, path, query).
    #[error("{message}")]
    BadRequest {
        /// HTTP status (400, 413, 415).
        status: StatusCode,
        /// Stable code.
        code: &'static str,
        /// What was wrong.
        message: String,
        /// The fields or parameters that could not be read, each with what was expected.
        fields: Option<BTreeMap<String, String>>,
    },
}

impl ApiError {
    /// A 400 with this code and message.
    #[must_use]
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            fields: None,
        }
    }

    /// A 400 with this code naming each field that could not be read with what was expected:
    /// the message says `field: reason` for each, and `fields` holds them.
    #[must_use]
    pub fn unreadable(code: &'static str, fields: BTreeMap<String, String>) -> Self {
        let message = fields
            .iter()
            .map(|(field, reason)| format!("{field}: {reason}"))
            .collect::<Vec<_>>()
            .join("; ");
        Self::BadRequest {
            status: StatusCode::BAD_REQUEST,
            code,
            message,
            fields: Some(fields),
        }
    }
}

/// Renders an envelope with `status`.
#[must_use]
pub fn envelope(
    status: StatusCode,
    code: &str,
    message: &str,
    fields: Option<BTreeMap<String, String>>,
) -> HttpResponse {
    HttpResponse::build(status).json(Envelope {
        error: ErrorBody {
            code: code.to_owned(),
            message: message.to_owned(),
            fields,
        },
    })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { status, .. } => *status,
            ApiError::App(e) => match e {
                AppError::Validation(_) | AppError::Rule { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
                AppError::NotFound(_) => StatusCode::NOT_FOUND,
                AppError::Conflict { .. } => StatusCode::CONFLICT,
                AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
                AppError::Unavailable(_)
                | AppError::NotConfigured(_)
                | AppError::Overloaded { .. }
                | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let e = match self {
            ApiError::BadRequest {
                code,
                message,
                fields,
                ..
            } => {
                return envelope(status, code, message, fields.clone());
            }
            ApiError::App(e) => e,
        };
        match e {
            AppError::Validation(fields) => envelope(
                status,
                "validation_failed",
                "some fields are invalid",
                Some(fields.clone()),
            ),
            AppError::Rule { code, message } => envelope(status, code, message, None),
            AppError::Unauthorized { code, message } => {
                let mut response = envelope(status, code, message, None);
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            AppError::NotFound(what) => {
                envelope(status, "not_found", &format!("{what} not found"), None)
            }
            AppError::Conflict {
                code,
                message,
                field,
            } => {
                let fields = field.map(|f| BTreeMap::from([(f.to_owned(), message.clone())]));
                envelope(status, code, message, fields)
            }
            AppError::RateLimited { retry_after } => with_retry_after(
                envelope(
                    status,
                    "rate_limited",
                    "too many attempts; try again later",
                    None,
                ),
                *retry_after,
            ),
            AppError::Forbidden { code, message } => envelope(status, code, message, None),
            AppError::Overloaded { retry_after } => with_retry_after(
                envelope(
                    status,
                    "overloaded",
                    "the server is busy with this kind of request; try again shortly",
                    None,
                ),
                *retry_after,
            ),
            AppError::Unavailable(why) => {
                tracing::error!(reason = %why, "dependency unavailable");
                envelope(
                    status,
                    "service_unavailable",
                    "a service this request needs is unavailable; try again shortly",
                    None,
                )
            }
            AppError::Busy => {
                tracing::warn!("writes kept colliding; answered 503");
                let mut response = envelope(
                    status,
                    "busy",
                    "other changes are being written; try again in a moment",
                    None,
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            AppError::NotConfigured(what) => envelope(
                status,
                &format!("{what}_not_configured"),
                &e.to_string(),
                None,
            ),
            AppError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "unexpected error");
                envelope(
                    status,
                    "internal_error",
                    "something went wrong on our side",
                    None,
                )
            }
        }
    }
}

/// Adds `Retry-After` in whole seconds, at least 1 (0 would invite an immediate retry).
fn with_retry_after(mut response: HttpResponse, wait: std::time::Duration) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}
