//! Bank sync through Plaid: link tokens, connections, syncs, and Plaid's webhook.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, delete, get, post, web};
use nestegg_application::AppError;
use nestegg_application::plaid::{SyncReport, Webhook};
use nestegg_domain::SyncStatus;
use nestegg_ports::{Connection, SecurityError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::Items;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::routes::{Reply, created, no_content, ok, timestamp};
use crate::state::AppState;

/// Configures the Plaid routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
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

#[derive(Debug, Serialize)]
struct LinkTokenDto {
    link_token: String,
    expiration: String,
}

/// A connection as the API shows it; its access token never leaves the server.
#[derive(Debug, Serialize)]
pub(crate) struct ConnectionDto {
    id: Uuid,
    plaid_item_id: String,
    institution_id: Option<String>,
    institution_name: Option<String>,
    is_active: bool,
    sync_status: SyncStatus,
    last_sync_at: Option<String>,
    error_message: Option<String>,
    created_at: String,
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

#[derive(Debug, Serialize)]
struct SyncReportDto {
    accounts: usize,
    transactions_added: usize,
    transactions_modified: usize,
    transactions_removed: usize,
    holdings: usize,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    public_token: String,
}

#[post("/plaid/link-token")]
async fn link_token(me: Caller) -> Reply {
    configured(&me.app)?;
    let token = me.app.sync.link_token(me.id).await?;
    ok(LinkTokenDto {
        link_token: token.link_token,
        expiration: timestamp(token.expiration),
    })
}

#[post("/plaid/connections")]
async fn connect(me: Caller, body: web::Json<ConnectBody>) -> Reply {
    configured(&me.app)?;
    let connection = me.app.sync.connect(me.id, &body.public_token).await?;
    created(ConnectionDto::from(connection))
}

#[get("/plaid/connections")]
async fn list(me: Caller) -> Reply {
    configured(&me.app)?;
    ok(Items::<ConnectionDto>::from(me.app.sync.list(me.id).await?))
}

#[get("/plaid/connections/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    configured(&me.app)?;
    ok(ConnectionDto::from(
        me.app.sync.get(me.id, id.into_inner()).await?,
    ))
}

#[delete("/plaid/connections/{id}")]
async fn remove(me: Caller, id: web::Path<Uuid>) -> Reply {
    configured(&me.app)?;
    me.app.sync.delete(me.id, id.into_inner()).await?;
    no_content()
}

#[post("/plaid/connections/{id}/sync")]
async fn sync(me: Caller, id: web::Path<Uuid>) -> Reply {
    configured(&me.app)?;
    let report = me.app.sync.sync(me.id, id.into_inner()).await?;
    ok(SyncReportDto::from(report))
}

/// The fields of Plaid's webhook bodies this server acts on.
#[derive(Debug, Deserialize)]
struct WebhookBody {
    webhook_type: String,
    webhook_code: String,
    item_id: String,
    error: Option<WebhookError>,
    consent_expiration_time: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WebhookError {
    error_code: Option<String>,
}

/// Plaid's webhook: no bearer token, but a `Plaid-Verification` JWT over the exact body.
/// Anything unverified is a 401 and changes nothing; an unknown item is a 200 (Plaid retries
/// anything else, and there is nothing to retry).
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
    let hook: WebhookBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
    app.sync
        .webhook(&Webhook {
            webhook_type: hook.webhook_type,
            webhook_code: hook.webhook_code,
            item_id: hook.item_id,
            error_code: hook.error.and_then(|e| e.error_code),
            consent_expiration_time: hook.consent_expiration_time,
        })
        .await?;
    ok(serde_json::json!({ "received": true }))
}
