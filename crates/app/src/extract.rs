//! Extractors: the authenticated caller, and the client's address.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use nestegg_application::AppError;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The user a valid bearer token was issued to. Missing, malformed, forged and expired
/// tokens are all a 401 before the handler runs.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Uuid);

const UNAUTHORIZED: AppError = AppError::Unauthorized {
    code: "unauthorized",
    message: "a valid bearer token is required",
};
const EXPIRED: AppError = AppError::Unauthorized {
    code: "token_expired",
    message: "the access token has expired; refresh it",
};

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

/// What almost every handler needs: the authenticated user ([`AuthUser`]'s rules) and the
/// application state.
#[allow(missing_debug_implementations)]
pub struct Caller {
    /// The user the bearer token was issued to.
    pub id: Uuid,
    /// The use cases.
    pub app: web::Data<AppState>,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state(req).and_then(|app| {
            let AuthUser(id) = authenticate(req)?;
            Ok(Caller { id, app })
        }))
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("app state missing")).into())
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = state(req)?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(UNAUTHORIZED)?;
    match state.access.verify(token, state.clock.now()) {
        Ok(user) => Ok(AuthUser(user)),
        Err(nestegg_ports::TokenError::Expired) => Err(EXPIRED.into()),
        Err(nestegg_ports::TokenError::Invalid) => Err(UNAUTHORIZED.into()),
    }
}

/// The client's address as the login throttle counts it: the TCP peer, or behind a trusted
/// proxy (`NESTEGG_TRUSTED_PROXIES`) the address it forwarded ([`crate::proxy`]).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub Option<String>);

impl FromRequest for ClientAddr {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state(req).map(|app| {
            ClientAddr(crate::proxy::client_address(
                req.peer_addr().map(|a| a.ip()),
                req.headers(),
                &app.trusted_proxies,
            ))
        }))
    }
}
