//! Extractors: the authenticated caller, and the client's address.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use nestegg_application::AppError;
use nestegg_application::auth::BAD_ACCESS;
use nestegg_ports::AccessClaims;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The user a valid bearer token was issued to. Missing, malformed, forged and expired
/// tokens, and tokens whose session has ended, are all a 401 before the handler runs.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Uuid);

/// An extractor's future that awaits something (the session lookup).
type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move { Ok(AuthUser(caller.await?.id)) })
    }
}

/// What almost every handler needs: the authenticated user ([`AuthUser`]'s rules) and the
/// application state.
#[allow(missing_debug_implementations)]
pub struct Caller {
    /// The user the bearer token was issued to.
    pub id: Uuid,
    /// The session the bearer token was issued in.
    pub session: Uuid,
    /// The use cases.
    pub app: web::Data<AppState>,
}

impl Caller {
    /// Whom the bearer token speaks for.
    #[must_use]
    pub fn claims(&self) -> AccessClaims {
        AccessClaims {
            user_id: self.id,
            session_id: self.session,
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = state(req).and_then(|app| Ok((bearer(req)?, app)));
        Box::pin(async move {
            let (token, app) = found?;
            // The session is looked up on every request (through a cache of a few seconds), so
            // a logout or password change elsewhere is honoured here too.
            let claims = app.auth.authenticate(&token).await?;
            Ok(Caller {
                id: claims.user_id,
                session: claims.session_id,
                app,
            })
        })
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("app state missing")).into())
}

/// The bearer token of the `Authorization` header.
fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(BAD_ACCESS)?;
    Ok(token.to_owned())
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
