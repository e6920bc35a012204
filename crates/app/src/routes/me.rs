//! The signed-in user's own account.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, put, web};
use nestegg_application::AppError;
use nestegg_application::auth::ProfileChange;
use nestegg_ports::User;
use serde::{Deserialize, Serialize};

use crate::dto::{not_null, present};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::timestamp;
use crate::state::AppState;

/// Configures the `/me` routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_me)
        .service(patch_me)
        .service(change_password)
        .service(delete_me);
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize)]
pub struct UserDto {
    id: String,
    email: String,
    username: String,
    is_active: bool,
    is_verified: bool,
    preferences: serde_json::Value,
    created_at: String,
    updated_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.as_str().to_owned(),
            username: u.username.as_str().to_owned(),
            is_active: u.is_active,
            is_verified: u.is_verified,
            preferences: u.preferences.to_value(),
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
        }
    }
}

#[get("/me")]
async fn get_me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let me = state.auth.me(user.0).await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&me)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchMeBody {
    #[serde(default, deserialize_with = "present")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    preferences: Option<Option<serde_json::Value>>,
}

#[patch("/me")]
async fn patch_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<PatchMeBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut nulls = BTreeMap::new();
    let change = ProfileChange {
        username: not_null("username", body.username, &mut nulls),
        preferences: not_null("preferences", body.preferences, &mut nulls),
    };
    if !nulls.is_empty() {
        return Err(AppError::Validation(nulls).into());
    }
    let me = state.auth.update_profile(user.0, change).await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&me)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[put("/me/password")]
async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .change_password(user.0, &body.current_password, &body.new_password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteMeBody {
    password: String,
}

#[delete("/me")]
async fn delete_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<DeleteMeBody>,
) -> Result<HttpResponse, ApiError> {
    state.auth.delete_account(user.0, &body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}
