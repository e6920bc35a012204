//! Request ids, access logs, compression, and the envelope for the framework's own error
//! responses.

use actix_http::encoding::Encoder;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, AcceptEncoding, ContentEncoding, Encoding, HeaderName, HeaderValue,
};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

use crate::error::envelope;

/// Header carrying the request id, echoed on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| v.to_owned())
}

/// Gives each request an id (a well-formed incoming `x-request-id`, or a new UUID), runs it
/// inside a span carrying that id so every log line of the request has it, logs one access
/// line, and echoes the id on the response.
///
/// # Errors
/// Those of the inner service.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = std::time::Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let micros = started.elapsed().as_micros();
    let mut response = match result {
        Ok(r) => r,
        Err(e) => {
            let status = e.as_response_error().status_code();
            log_access(status, micros, Some(&e));
            return Err(e);
        }
    };
    log_access(response.status(), micros, None);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(response)
}

/// The access line: INFO for answers and client errors (a 404, a refused overdraft, a taken
/// username are the API working, not an alarm), WARN for a 503 (a dependency down, writes
/// colliding, a full queue: the cause is logged where it is known), ERROR for other server
/// errors, which an operator must look at.
fn log_access(status: StatusCode, micros: u128, error: Option<&Error>) {
    let code = status.as_u16();
    let error = error.map(tracing::field::display);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(status = code, micros, error, "request");
    } else if status.is_server_error() {
        tracing::error!(status = code, micros, error, "request");
    } else {
        tracing::info!(status = code, micros, error, "request");
    }
}

/// Replaces any error response the framework produced without our envelope (an unmatched
/// method, a failed extractor without a handler of ours, ...) with an enveloped one, keeping
/// its status and headers such as `Allow`.
///
/// # Errors
/// Those of the inner service.
pub async fn envelope_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let response = next.call(req).await?;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return Ok(response.map_into_left_body());
    }
    let (code, message) = match status.as_u16() {
        404 => ("not_found", "no such route"),
        405 => (
            "method_not_allowed",
            "this method is not allowed on this route",
        ),
        413 => ("payload_too_large", "the request body is too large"),
        415 => (
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        ),
        s if s >= 500 => ("internal_error", "something went wrong on our side"),
        _ => ("bad_request", "the request could not be read"),
    };
    let (req, old) = response.into_parts();
    let mut fresh = envelope(status, code, message, None);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, fresh).map_into_right_body())
}

/// Headers every response carries: no MIME sniffing, no referrer, and no caching of anything
/// under `/api/` (every API answer is a user's data or a token).
///
/// # Errors
/// Those of the inner service.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let api = req.path().starts_with("/api/");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// Answers `HEAD` wherever `GET` answers: the request is routed as a `GET`, and the HTTP/1
/// codec, which noted the `HEAD` when it read the request, sends the headers without the body.
///
/// # Errors
/// Those of the inner service.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

/// Bodies smaller than this are sent as they are: gzip saves little on them and adds its own
/// header and trailer.
pub const COMPRESS_FROM_BYTES: u64 = 1024;

/// Gzips a body of at least [`COMPRESS_FROM_BYTES`], or streamed (the export), when the
/// client accepts gzip; sends every other body as it is, never answering 406 (a client that
/// accepts no coding we have gets the plain body, as RFC 9110 advises). Every answer says
/// `Vary: Accept-Encoding`.
///
/// # Errors
/// Those of the inner service.
pub async fn compress(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let gzip = req
        .get_header::<AcceptEncoding>()
        .and_then(|accept| accept.negotiate([Encoding::gzip(), Encoding::identity()].iter()))
        == Some(Encoding::gzip());
    let response = next.call(req).await?;
    Ok(response.map_body(move |head, body| {
        let worth_it = match body.size() {
            BodySize::Sized(n) => n >= COMPRESS_FROM_BYTES,
            BodySize::Stream => true,
            BodySize::None => false,
        };
        let encoding = if gzip && worth_it && !head.headers().contains_key(header::CONTENT_ENCODING)
        {
            ContentEncoding::Gzip
        } else {
            // The encoder adds `Vary` when it encodes.
            head.headers_mut()
                .append(header::VARY, HeaderValue::from_static("accept-encoding"));
            ContentEncoding::Identity
        };
        Encoder::response(encoding, head, body)
    }))
}
