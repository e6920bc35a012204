//! Register, login, refresh, logout.

use actix_web::{HttpResponse, post, web};
use nestegg_application::auth::{Registration, TokenPair};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{AuthUser, ClientAddr};
use crate::routes::me::UserDto;
use crate::state::AppState;

/// Configures the auth routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout);
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    username: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct RegisteredDto {
    user: UserDto,
}

#[post("/auth/register")]
async fn register(
    state: web::Data<AppState>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = state
        .auth
        .register(Registration {
            email: body.email,
            username: body.username,
            password: body.password,
        })
        .await?;
    Ok(HttpResponse::Created().json(RegisteredDto {
        user: UserDto::from(&user),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
}

#[derive(Debug, Serialize)]
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

#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    client: ClientAddr,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let pair = state
        .auth
        .login(&body.login, &body.password, client.0.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(TokenDto::from(pair)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

#[post("/auth/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let pair = state.auth.refresh(&body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(TokenDto::from(pair)))
}

#[post("/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    state.auth.logout(user.0, &body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}
