//! Register, login, refresh, logout.

use actix_web::{post, web};
use nestegg_application::auth::{Registration, TokenPair};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::dto::Json;
use crate::error::Envelope;
use crate::extract::{Caller, ClientAddr};
use crate::routes::me::UserDto;
use crate::routes::{Reply, created, no_content, ok};
use crate::state::AppState;

/// Configures the auth routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout);
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(pattern = r"^[a-z0-9_.-]{3,32}$")]
    username: String,
    #[schema(min_length = 10, max_length = 128)]
    password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RegisteredDto {
    user: UserDto,
}

#[utoipa::path(
    operation_id = "register", tag = "auth", summary = "Create a user.",
    responses(
        (status = 201, description = "Registered", body = RegisteredDto),
        (status = 403, description = "Registration is closed (`registration_closed`)", body = Envelope),
        (status = 409, description = "The username or email is taken", body = Envelope),
        (status = 429, description = "Too many attempts", body = Envelope),
    ),
)]
#[post("/auth/register")]
async fn register(state: web::Data<AppState>, body: Json<RegisterBody>) -> Reply {
    let body = body.into_inner();
    let user = state
        .auth
        .register(Registration {
            email: body.email,
            username: body.username,
            password: body.password,
        })
        .await?;
    created(RegisteredDto {
        user: UserDto::from(&user),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TokenDto {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
}

impl From<TokenPair> for TokenDto {
    fn from(p: TokenPair) -> Self {
        Self {
            access_token: p.access_token,
            token_type: "Bearer",
            expires_in: p.expires_in,
            refresh_token: p.refresh_token,
        }
    }
}

#[utoipa::path(
    operation_id = "login", tag = "auth", summary = "Log in with a username or email.",
    responses(
        (status = 200, description = "Tokens", body = TokenDto),
        (status = 401, description = "Wrong login or password (`invalid_credentials`)", body = Envelope),
        (status = 429, description = "Too many failed attempts (`rate_limited`, `Retry-After`)", body = Envelope),
    ),
)]
#[post("/auth/login")]
async fn login(state: web::Data<AppState>, client: ClientAddr, body: Json<LoginBody>) -> Reply {
    let pair = state
        .auth
        .login(&body.login, &body.password, client.0.as_deref())
        .await?;
    ok(TokenDto::from(pair))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

#[utoipa::path(
    operation_id = "refresh", tag = "auth",
    summary = "Trade a refresh token for a new pair (the old one is spent).",
    responses(
        (status = 200, description = "Tokens", body = TokenDto),
        (status = 401, description = "The refresh token is unknown, spent or expired", body = Envelope),
    ),
)]
#[post("/auth/refresh")]
async fn refresh(state: web::Data<AppState>, body: Json<RefreshBody>) -> Reply {
    let pair = state.auth.refresh(&body.refresh_token).await?;
    ok(TokenDto::from(pair))
}

#[utoipa::path(
    operation_id = "logout", tag = "auth",
    summary = "End this session and revoke its refresh token.",
    responses((status = 204, description = "Logged out")),
)]
#[post("/auth/logout")]
async fn logout(me: Caller, body: Json<RefreshBody>) -> Reply {
    me.app.auth.logout(me.claims(), &body.refresh_token).await?;
    no_content()
}
