//! The signed-in user's own account.

use actix_web::{delete, get, patch, put};
use nestegg_application::auth::ProfileChange;
use nestegg_ports::User;
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::dto::{Json, Nulls, present};
use crate::error::Envelope;
use crate::extract::Caller;
use crate::routes::{Reply, no_content, ok, timestamp};

/// Configures the `/me` routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_me)
        .service(patch_me)
        .service(change_password)
        .service(delete_me);
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDto {
    id: String,
    email: String,
    username: String,
    is_active: bool,
    is_verified: bool,
    preferences: serde_json::Value,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    created_at: String,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
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

#[utoipa::path(
    operation_id = "get_me", tag = "me", summary = "The caller's profile.",
    responses((status = 200, description = "Profile", body = UserDto)),
)]
#[get("/me")]
async fn get_me(me: Caller) -> Reply {
    let me = me.app.auth.me(me.id).await?;
    ok(UserDto::from(&me))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchMeBody {
    #[schema(pattern = r"^[a-z0-9_.-]{3,32}$")]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = serde_json::Value)]
    preferences: Option<Option<serde_json::Value>>,
}

#[utoipa::path(
    operation_id = "update_me", tag = "me", summary = "Change the username or preferences.",
    responses(
        (status = 200, description = "Profile", body = UserDto),
        (status = 409, description = "The username is taken", body = Envelope),
    ),
)]
#[patch("/me")]
async fn patch_me(me: Caller, body: Json<PatchMeBody>) -> Reply {
    let body = body.into_inner();
    let mut nulls = Nulls::default();
    let change = ProfileChange {
        username: nulls.take("username", body.username),
        preferences: nulls.take("preferences", body.preferences),
    };
    nulls.check()?;
    let me = me.app.auth.update_profile(me.id, change).await?;
    ok(UserDto::from(&me))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    #[schema(min_length = 10, max_length = 128)]
    new_password: String,
}

#[utoipa::path(
    operation_id = "change_password", tag = "me",
    summary = "Change the password; other sessions end.",
    responses(
        (status = 204, description = "Changed"),
        (status = 429, description = "Too many wrong current passwords", body = Envelope),
    ),
)]
#[put("/me/password")]
async fn change_password(me: Caller, body: Json<PasswordBody>) -> Reply {
    me.app
        .auth
        .change_password(me.id, &body.current_password, &body.new_password)
        .await?;
    no_content()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DeleteMeBody {
    password: String,
}

#[utoipa::path(
    operation_id = "delete_me", tag = "me", summary = "Delete the user and all their data.",
    responses(
        (status = 204, description = "Deleted"),
        (status = 429, description = "Too many wrong passwords", body = Envelope),
    ),
)]
#[delete("/me")]
async fn delete_me(me: Caller, body: Json<DeleteMeBody>) -> Reply {
    me.app.auth.delete_account(me.id, &body.password).await?;
    no_content()
}
