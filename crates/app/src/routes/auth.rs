//! Register, login, refresh, logout.

use actix_web::{post, web};
use nestegg_application::auth::{Registration, TokenPair};
use serde::{Deserialize, Serialize};

use crate::extract::{Caller, ClientAddr};
use crate::routes::me::UserDto;
use crate::routes::{Reply, created, no_content, ok};
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
async fn register(state: web::Data<AppState>, body: web::Json<RegisterBody>) -> Reply {
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
) -> Reply {
    let pair = state
        .auth
        .login(&body.login, &body.password, client.0.as_deref())
        .await?;
    ok(TokenDto::from(pair))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

#[post("/auth/refresh")]
async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshBody>) -> Reply {
    let pair = state.auth.refresh(&body.refresh_token).await?;
    ok(TokenDto::from(pair))
}

#[post("/auth/logout")]
async fn logout(me: Caller, body: web::Json<RefreshBody>) -> Reply {
    me.app.auth.logout(me.claims(), &body.refresh_token).await?;
    no_content()
}
