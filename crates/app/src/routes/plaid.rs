//! Bank sync through Plaid: link tokens, connections, syncs, and Plaid's webhook.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, delete, get, post, web};
use nestegg_application::AppError;
use nestegg_application::plaid::{SyncReport, Webhook};
use nestegg_domain::SyncStatus;
use nestegg_ports::{Connection, SecurityError};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{Items, Json};
use crate::error::{ApiError, Envelope};
use crate::extract::Caller;
use crate::routes::{Reply, created, no_content, ok, timestamp};
use crate::state::AppState;

/// Configures the Plaid routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(link_token)
        .service(connect)
        .service(list)
        .service(get_one)
        .service(remove)
        .service(sync)
        .service(webhook);
}

/// Every Plaid route answers 503 `plaid_not_configured` on a server without Plaid settings.
fn configured(app: &AppState) -> Result<(), ApiError> {
    if app.sync.is_configured() {
        Ok(())
    } else {
        Err(AppError::NotConfigured("plaid").into())
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LinkTokenDto {
    link_token: String,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    expiration: String,
}

/// A connection as the API shows it; its access token never leaves the server.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConnectionDto {
    id: Uuid,
    plaid_item_id: String,
    institution_id: Option<String>,
    institution_name: Option<String>,
    is_active: bool,
    #[schema(value_type = crate::openapi::schema::SyncStatus)]
    sync_status: SyncStatus,
    #[schema(value_type = Option<crate::openapi::schema::Timestamp>)]
    last_sync_at: Option<String>,
    error_message: Option<String>,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    created_at: String,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    updated_at: String,
}

impl From<Connection> for ConnectionDto {
    fn from(c: Connection) -> Self {
        Self {
            id: c.id,
            plaid_item_id: c.plaid_item_id,
            institution_id: c.institution_id,
            institution_name: c.institution_name,
            is_active: c.is_active,
            sync_status: c.sync_status,
            last_sync_at: c.last_sync_at.map(timestamp),
            error_message: c.error_message,
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SyncReportDto {
    accounts: usize,
    transactions_added: usize,
    transactions_modified: usize,
    transactions_removed: usize,
    holdings: usize,
    #[schema(value_type = crate::openapi::schema::SyncStatus)]
    sync_status: SyncStatus,
    error_message: Option<String>,
}

impl From<SyncReport> for SyncReportDto {
    fn from(r: SyncReport) -> Self {
        Self {
            accounts: r.accounts,
            transactions_added: r.transactions_added,
            transactions_modified: r.transactions_modified,
            transactions_removed: r.transactions_removed,
            holdings: r.holdings,
            sync_status: r.sync_status,
            error_message: r.error_message,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    public_token: String,
}

#[utoipa::path(
    operation_id = "create_link_token", tag = "plaid",
    summary = "A Plaid Link token for the front end.",
    responses((status = 200, description = "The link token", body = LinkTokenDto)),
)]
#[post("/plaid/link-token")]
async fn link_token(me: Caller) -> Reply {
    configured(&me.app)?;
    let token = me.app.sync.link_token(me.id).await?;
    ok(LinkTokenDto {
        link_token: token.link_token,
        expiration: timestamp(token.expiration),
    })
}

#[utoipa::path(
    operation_id = "create_connection", tag = "plaid",
    summary = "Exchange Link's public token and start the first sync.",
    responses(
        (status = 201, description = "Linked", body = ConnectionDto),
        (status = 409, description = "The item is already linked (`already_linked`)", body = Envelope),
    ),
)]
#[post("/plaid/connections")]
async fn connect(me: Caller, body: Json<ConnectBody>) -> Reply {
    configured(&me.app)?;
    let connection = me.app.sync.connect(me.id, &body.public_token).await?;
    created(ConnectionDto::from(connection))
}

#[utoipa::path(
    operation_id = "list_connections", tag = "plaid", summary = "Every linked item.",
    responses((status = 200, description = "Connections", body = Items<ConnectionDto>)),
)]
#[get("/plaid/connections")]
async fn list(me: Caller) -> Reply {
    configured(&me.app)?;
    ok(Items::<ConnectionDto>::from(me.app.sync.list(me.id).await?))
}

#[utoipa::path(
    operation_id = "get_connection", tag = "plaid", summary = "One linked item.",
    responses((status = 200, description = "The connection", body = ConnectionDto)),
)]
#[get("/plaid/connections/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    configured(&me.app)?;
    ok(ConnectionDto::from(
        me.app.sync.get(me.id, id.into_inner()).await?,
    ))
}

#[utoipa::path(
    operation_id = "delete_connection", tag = "plaid",
    summary = "Unlink an item; its accounts stay as manual data.",
    responses((status = 204, description = "Unlinked")),
)]
#[delete("/plaid/connections/{id}")]
async fn remove(me: Caller, id: web::Path<Uuid>) -> Reply {
    configured(&me.app)?;
    me.app.sync.delete(me.id, id.into_inner()).await?;
    no_content()
}

#[utoipa::path(
    operation_id = "sync_connection", tag = "plaid", summary = "Sync an item now.",
    responses(
        (status = 200, description = "What the sync did", body = SyncReportDto),
        (status = 409, description = "A sync of this item is running", body = Envelope),
    ),
)]
#[post("/plaid/connections/{id}/sync")]
async fn sync(me: Caller, id: web::Path<Uuid>) -> Reply {
    configured(&me.app)?;
    let report = me.app.sync.sync(me.id, id.into_inner()).await?;
    ok(SyncReportDto::from(report))
}

/// What a verified webhook is answered with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct WebhookReceived {
    /// Always `true`.
    received: bool,
}

/// The fields of Plaid's webhook bodies this server acts on.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct WebhookBody {
    webhook_type: String,
    webhook_code: String,
    item_id: String,
    error: Option<WebhookError>,
    consent_expiration_time: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct WebhookError {
    error_code: Option<String>,
}

/// Plaid's webhook: no bearer token, but a `Plaid-Verification` JWT over the exact body.
/// Anything unverified is a 401 and changes nothing; an unknown item is a 200 (Plaid retries
/// anything else, and there is nothing to retry).
#[utoipa::path(
    operation_id = "plaid_webhook", tag = "plaid",
    summary = "Plaid's webhook, verified by its `Plaid-Verification` JWT.",
    request_body(content = WebhookBody, description = "The webhook Plaid sent", content_type = "application/json"),
    responses(
        (status = 200, description = "Received", body = WebhookReceived),
        (status = 401, description = "The signature is missing or does not match (`invalid_signature`)", body = Envelope),
    ),
)]
#[post("/plaid/webhook")]
async fn webhook(req: HttpRequest, app: web::Data<AppState>, body: web::Bytes) -> Reply {
    configured(&app)?;
    let Some(verifier) = app.webhooks.clone() else {
        return Err(AppError::NotConfigured("plaid").into());
    };
    let unverified = || ApiError::BadRequest {
        status: StatusCode::UNAUTHORIZED,
        code: "invalid_signature",
        message: "the Plaid-Verification header is missing or does not match this body".into(),
        fields: None,
    };
    let jwt = req
        .headers()
        .get("Plaid-Verification")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unverified)?;
    match verifier.verify(jwt, &body, app.clock.now()).await {
        Ok(()) => {}
        Err(SecurityError::Invalid) => return Err(unverified()),
        Err(e) => {
            return Err(AppError::Unavailable(e.to_string()).into());
        }
    }
    let hook: WebhookBody = crate::decode::json(&body)?;
    app.sync
        .webhook(&Webhook {
            webhook_type: hook.webhook_type,
            webhook_code: hook.webhook_code,
            item_id: hook.item_id,
            error_code: hook.error.and_then(|e| e.error_code),
            consent_expiration_time: hook.consent_expiration_time,
        })
        .await?;
    ok(WebhookReceived { received: true })
}
