//! The HTTP side: Plaid's endpoints (counted, delayed and failed as scripted, then
//! authenticated) and the `/fake/...` control routes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{Balances, Failure, FakeError, Item, NewTransaction, Script, TransactionChange};
use crate::webhook::{Keys, Signing, WebhookKind};
use crate::{FakeHandle, data, render};

/// Everything the fake knows.
#[derive(Debug, Default)]
pub struct State {
    pub items: HashMap<String, Item>,
    /// Access token -> item id.
    pub access_tokens: HashMap<String, String>,
    /// Public token -> item id (each works once).
    pub public_tokens: HashMap<String, String>,
    pub script: Script,
    pub webhook_url: Option<String>,
    pub seed: u64,
}

/// The state and what does not change.
#[derive(Debug)]
pub struct Shared {
    pub client_id: String,
    pub secret: String,
    pub state: Mutex<State>,
    pub keys: Keys,
    pub http: reqwest::Client,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A Plaid-style `request_id`.
#[must_use]
pub fn request_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id.get(..15).unwrap_or(&id).to_owned()
}

/// A Plaid error answer.
#[derive(Debug)]
struct PlaidErr {
    status: u16,
    error_type: &'static str,
    error_code: &'static str,
    message: String,
}

impl PlaidErr {
    fn new(status: u16, error_type: &'static str, error_code: &'static str, message: &str) -> Self {
        Self {
            status,
            error_type,
            error_code,
            message: message.to_owned(),
        }
    }

    fn missing(field: &str) -> Self {
        Self::new(
            400,
            "INVALID_REQUEST",
            "MISSING_FIELDS",
            &format!("the following required fields are missing: {field}"),
        )
    }

    fn invalid_field(message: &str) -> Self {
        Self::new(400, "INVALID_REQUEST", "INVALID_FIELD", message)
    }

    fn invalid_access_token() -> Self {
        Self::new(
            400,
            "INVALID_INPUT",
            "INVALID_ACCESS_TOKEN",
            "provided access token is in an invalid format. expected format: access-<environment>-<identifier>",
        )
    }

    fn login_required() -> Self {
        Self::new(
            400,
            "ITEM_ERROR",
            "ITEM_LOGIN_REQUIRED",
            "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state",
        )
    }
}

fn error_response(status: u16, error_type: &str, error_code: &str, message: &str) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    HttpResponse::build(code).json(render::error_object(error_type, error_code, message))
}

fn failure_response(f: &Failure) -> HttpResponse {
    let code = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(code);
    if let Some(secs) = f.retry_after {
        response.insert_header(("Retry-After", secs.to_string()));
    }
    response.json(render::error_object(
        &f.error_type,
        &f.error_code,
        "scripted failure of the fake Plaid",
    ))
}

fn str_field<'a>(body: &'a Value, field: &str) -> Result<&'a str, PlaidErr> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PlaidErr::missing(field))
}

/// Every Plaid endpoint: count, delay, scripted failure, credentials, then the endpoint.
pub async fn plaid(
    req: HttpRequest,
    body: web::Bytes,
    fake: web::Data<FakeHandle>,
) -> HttpResponse {
    let shared = &fake.shared;
    let path = req.path().to_owned();
    let (delay, failure) = {
        let mut st = shared.lock();
        *st.script.calls.entry(path.clone()).or_default() += 1;
        let failure = st
            .script
            .failures
            .get_mut(&path)
            .and_then(VecDeque::pop_front);
        (st.script.delay(&path), failure)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(failure) = failure {
        return failure_response(&failure);
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error_response(
                400,
                "INVALID_REQUEST",
                "INVALID_BODY",
                "body could not be parsed as JSON",
            );
        }
    };
    let answer = authenticate(shared, &req, &body).and_then(|()| route(&fake, &path, &body));
    match answer {
        Ok(mut value) => {
            if let Some(map) = value.as_object_mut() {
                map.insert("request_id".into(), Value::String(request_id()));
            }
            HttpResponse::Ok().json(value)
        }
        Err(e) => error_response(e.status, e.error_type, e.error_code, &e.message),
    }
}

/// The credentials, from the `PLAID-CLIENT-ID`/`PLAID-SECRET` headers or the body.
fn authenticate(shared: &Shared, req: &HttpRequest, body: &Value) -> Result<(), PlaidErr> {
    let from = |header: &str, field: &str| {
        req.headers()
            .get(header)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| body.get(field).and_then(Value::as_str).map(str::to_owned))
            .filter(|s| !s.is_empty())
    };
    let client_id =
        from("PLAID-CLIENT-ID", "client_id").ok_or_else(|| PlaidErr::missing("client_id"))?;
    let secret = from("PLAID-SECRET", "secret").ok_or_else(|| PlaidErr::missing("secret"))?;
    if client_id != shared.client_id || secret != shared.secret {
        return Err(PlaidErr::new(
            400,
            "INVALID_INPUT",
            "INVALID_API_KEYS",
            "invalid client_id or secret provided",
        ));
    }
    Ok(())
}

fn route(fake: &FakeHandle, path: &str, body: &Value) -> Result<Value, PlaidErr> {
    let mut st = fake.shared.lock();
    let st = &mut *st;
    match path {
        "/link/token/create" => link_token_create(body),
        "/sandbox/public_token/create" => {
            let institution_id = str_field(body, "institution_id")?;
            let products: Vec<String> = body
                .get("initial_products")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if products.is_empty() {
                return Err(PlaidErr::missing("initial_products"));
            }
            let webhook = body
                .pointer("/options/webhook")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let item_id = new_item(st, institution_id, products, webhook);
            let public_token = format!("public-sandbox-{}", uuid::Uuid::new_v4());
            st.public_tokens.insert(public_token.clone(), item_id);
            Ok(json!({ "public_token": public_token }))
        }
        "/item/public_token/exchange" => {
            let public_token = str_field(body, "public_token")?;
            let item_id = st.public_tokens.remove(public_token).ok_or_else(|| {
                PlaidErr::new(
                    400,
                    "INVALID_INPUT",
                    "INVALID_PUBLIC_TOKEN",
                    "provided public token is expired. Public tokens expire 30 minutes after creation at which point they can no longer be exchanged",
                )
            })?;
            let access_token = new_access_token(st, &item_id);
            Ok(json!({ "access_token": access_token, "item_id": item_id }))
        }
        "/item/get" => {
            let item = item_for(st, body)?;
            Ok(json!({ "item": render::item(item), "status": null }))
        }
        "/accounts/get" => {
            let item = live_item_for(st, body)?;
            Ok(json!({
                "accounts": item.accounts.iter().map(render::account).collect::<Vec<_>>(),
                "item": render::item(item),
            }))
        }
        "/transactions/sync" => transactions_sync(st, body),
        "/investments/holdings/get" => {
            let item = live_item_for(st, body)?;
            Ok(json!({
                "accounts": item
                    .accounts
                    .iter()
                    .filter(|a| a.account_type == "investment")
                    .map(render::account)
                    .collect::<Vec<_>>(),
                "holdings": item.holdings.iter().map(render::holding).collect::<Vec<_>>(),
                "securities": item.securities.iter().map(render::security).collect::<Vec<_>>(),
                "item": render::item(item),
            }))
        }
        "/item/remove" => {
            let token = str_field(body, "access_token")?;
            let item_id = st
                .access_tokens
                .remove(token)
                .ok_or_else(PlaidErr::invalid_access_token)?;
            st.items.remove(&item_id);
            st.access_tokens.retain(|_, id| *id != item_id);
            Ok(json!({}))
        }
        "/webhook_verification_key/get" => {
            let key_id = str_field(body, "key_id")?;
            if key_id != fake.shared.keys.kid() {
                return Err(PlaidErr::invalid_field("invalid key_id provided"));
            }
            Ok(json!({ "key": fake.shared.keys.jwk() }))
        }
        _ => Err(PlaidErr::new(
            404,
            "INVALID_REQUEST",
            "UNKNOWN_ENDPOINT",
            "the fake Plaid does not serve this endpoint",
        )),
    }
}

fn link_token_create(body: &Value) -> Result<Value, PlaidErr> {
    str_field(body, "client_name")?;
    str_field(body, "language")?;
    if body
        .get("country_codes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        return Err(PlaidErr::missing("country_codes"));
    }
    body.pointer("/user/client_user_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PlaidErr::missing("user.client_user_id"))?;
    let expiration = (Utc::now() + chrono::Duration::hours(4))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(json!({
        "link_token": format!("link-sandbox-{}", uuid::Uuid::new_v4()),
        "expiration": expiration,
    }))
}

fn transactions_sync(st: &mut State, body: &Value) -> Result<Value, PlaidErr> {
    let token = str_field(body, "access_token")?;
    let item_id = st
        .access_tokens
        .get(token)
        .ok_or_else(PlaidErr::invalid_access_token)?;
    let item = st
        .items
        .get_mut(item_id)
        .ok_or_else(PlaidErr::invalid_access_token)?;
    if item.login_required {
        return Err(PlaidErr::login_required());
    }
    let count = match body.get("count") {
        None | Some(Value::Null) => 100,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=500) => usize::try_from(n).unwrap_or(100),
            _ => return Err(PlaidErr::invalid_field("count must be between 1 and 500")),
        },
    };
    let cursor = body.get("cursor").and_then(Value::as_str);
    let page = item.page_number(cursor);
    if st.script.sync_mutation_at_page == Some(page) {
        st.script.sync_mutation_at_page = None;
        item.pagination = None;
        return Err(PlaidErr::new(
            400,
            "TRANSACTIONS_ERROR",
            "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
            "Underlying transaction data changed since last page was fetched. Please restart pagination from last update.",
        ));
    }
    let result = item
        .sync(cursor, count)
        .map_err(|_| PlaidErr::invalid_field("cursor is not valid for this item"))?;
    let mut added = Vec::new();
    let mut modified = Vec::new();
    let mut removed = Vec::new();
    for update in result.updates {
        match update {
            crate::model::Update::Added(t) => added.push(render::transaction(t)),
            crate::model::Update::Modified(t) => modified.push(render::transaction(t)),
            crate::model::Update::Removed {
                transaction_id,
                account_id,
            } => removed.push(json!({
                "transaction_id": transaction_id,
                "account_id": account_id,
            })),
        }
    }
    let accounts: Vec<Value> = item
        .accounts
        .iter()
        .filter(|a| a.account_type != "investment")
        .map(render::account)
        .collect();
    let next_cursor = result.next_cursor;
    let has_more = result.has_more;
    item.pagination = has_more.then(|| (next_cursor.clone(), page));
    Ok(json!({
        "transactions_update_status": "HISTORICAL_UPDATE_COMPLETE",
        "accounts": accounts,
        "added": added,
        "modified": modified,
        "removed": removed,
        "next_cursor": next_cursor,
        "has_more": has_more,
    }))
}

fn item_for<'a>(st: &'a State, body: &Value) -> Result<&'a Item, PlaidErr> {
    let token = str_field(body, "access_token")?;
    st.access_tokens
        .get(token)
        .and_then(|id| st.items.get(id))
        .ok_or_else(PlaidErr::invalid_access_token)
}

fn live_item_for<'a>(st: &'a State, body: &Value) -> Result<&'a Item, PlaidErr> {
    let item = item_for(st, body)?;
    if item.login_required {
        return Err(PlaidErr::login_required());
    }
    Ok(item)
}

/// Creates an item with the default data; its id.
pub fn new_item(
    st: &mut State,
    institution_id: &str,
    products: Vec<String>,
    webhook: Option<String>,
) -> String {
    st.seed = st.seed.wrapping_add(1);
    let item = data::default_item(
        st.seed,
        institution_id,
        products,
        webhook,
        Utc::now().date_naive(),
    );
    let item_id = item.item_id.clone();
    st.items.insert(item_id.clone(), item);
    item_id
}

/// A new access token for `item_id`.
pub fn new_access_token(st: &mut State, item_id: &str) -> String {
    let token = format!("access-sandbox-{}", uuid::Uuid::new_v4());
    st.access_tokens.insert(token.clone(), item_id.to_owned());
    token
}

// ----- control routes -----

fn control_error(e: &FakeError) -> HttpResponse {
    let status = match e {
        FakeError::NoItem(_) | FakeError::NoAccount(_) | FakeError::NoTransaction(_) => {
            StatusCode::NOT_FOUND
        }
        FakeError::Delivery(_) => StatusCode::BAD_GATEWAY,
        FakeError::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    HttpResponse::build(status).json(json!({ "error": e.to_string() }))
}

fn reply(result: Result<Value, FakeError>) -> HttpResponse {
    match result {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => control_error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct CreateItem {
    #[serde(default)]
    institution_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Generate {
    count: usize,
}

#[derive(Debug, Default, Deserialize)]
struct Post {
    #[serde(default, deserialize_with = "crate::model::opt_decimal")]
    amount: Option<rust_decimal::Decimal>,
}

#[derive(Debug, Deserialize)]
struct LoginRequired {
    #[serde(default = "yes")]
    required: bool,
}

const fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct FailNext {
    endpoint: String,
    #[serde(default = "one")]
    times: u32,
    status: u16,
    error_type: String,
    error_code: String,
    #[serde(default)]
    retry_after: Option<u64>,
}

const fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
struct SyncMutation {
    page: u32,
}

#[derive(Debug, Deserialize)]
struct Delay {
    #[serde(default)]
    endpoint: Option<String>,
    millis: u64,
}

#[derive(Debug, Deserialize)]
struct WebhookUrl {
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FireWebhook {
    kind: WebhookKind,
    #[serde(default)]
    signing: Signing,
    #[serde(default = "yes")]
    send: bool,
}

type Fake = web::Data<FakeHandle>;

/// Registers the `/fake/...` routes.
pub fn control_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fake")
            .route("/items", web::get().to(|f: Fake| async move { HttpResponse::Ok().json(f.items_summary()) }))
            .route(
                "/items",
                web::post().to(|f: Fake, body: Option<web::Json<CreateItem>>| async move {
                    let institution = body
                        .and_then(|b| b.into_inner().institution_id)
                        .unwrap_or_else(|| "ins_109508".to_owned());
                    let (item_id, access_token) = f.create_item(&institution);
                    HttpResponse::Ok().json(json!({ "item_id": item_id, "access_token": access_token }))
                }),
            )
            .route(
                "/items/{item_id}",
                web::get().to(|f: Fake, p: web::Path<String>| async move {
                    reply(f.item_summary(&p))
                }),
            )
            .route(
                "/items/{item_id}/transactions",
                web::post().to(|f: Fake, p: web::Path<String>, b: web::Json<NewTransaction>| async move {
                    reply(f.add_transaction(&p, b.into_inner()).map(|id| json!({ "transaction_id": id })))
                }),
            )
            .route(
                "/items/{item_id}/transactions/generate",
                web::post().to(|f: Fake, p: web::Path<String>, b: web::Json<Generate>| async move {
                    reply(f.add_generated_transactions(&p, b.count).map(|n| json!({ "added": n })))
                }),
            )
            .route(
                "/items/{item_id}/transactions/{transaction_id}/modify",
                web::post().to(
                    |f: Fake, p: web::Path<(String, String)>, b: web::Json<TransactionChange>| async move {
                        reply(f.modify_transaction(&p.0, &p.1, b.into_inner()).map(|()| json!({})))
                    },
                ),
            )
            .route(
                "/items/{item_id}/transactions/{transaction_id}/remove",
                web::post().to(|f: Fake, p: web::Path<(String, String)>| async move {
                    reply(f.remove_transaction(&p.0, &p.1).map(|()| json!({})))
                }),
            )
            .route(
                "/items/{item_id}/transactions/{transaction_id}/post",
                web::post().to(
                    |f: Fake, p: web::Path<(String, String)>, b: Option<web::Json<Post>>| async move {
                        let amount = b.and_then(|b| b.into_inner().amount);
                        reply(
                            f.post_pending(&p.0, &p.1, amount)
                                .map(|id| json!({ "transaction_id": id })),
                        )
                    },
                ),
            )
            .route(
                "/items/{item_id}/accounts/{account_id}/balances",
                web::post().to(
                    |f: Fake, p: web::Path<(String, String)>, b: web::Json<Balances>| async move {
                        reply(f.set_balances(&p.0, &p.1, b.into_inner()).map(|()| json!({})))
                    },
                ),
            )
            .route(
                "/items/{item_id}/login_required",
                web::post().to(
                    |f: Fake, p: web::Path<String>, b: web::Json<LoginRequired>| async move {
                        reply(f.set_login_required(&p, b.required).map(|()| json!({})))
                    },
                ),
            )
            .route(
                "/items/{item_id}/webhook",
                web::post().to(|f: Fake, p: web::Path<String>, b: web::Json<FireWebhook>| async move {
                    let b = b.into_inner();
                    if b.send {
                        match f.send_webhook(&p, b.kind, b.signing).await {
                            Ok((status, hook)) => HttpResponse::Ok().json(json!({
                                "status": status,
                                "body": hook.body,
                                "plaid_verification": hook.plaid_verification,
                            })),
                            Err(e) => control_error(&e),
                        }
                    } else {
                        reply(f.webhook(&p, b.kind, b.signing).map(|hook| json!({
                            "body": hook.body,
                            "plaid_verification": hook.plaid_verification,
                        })))
                    }
                }),
            )
            .route(
                "/webhook_url",
                web::post().to(|f: Fake, b: web::Json<WebhookUrl>| async move {
                    f.set_webhook_url(b.into_inner().url);
                    HttpResponse::Ok().json(json!({}))
                }),
            )
            .route(
                "/failures",
                web::post().to(|f: Fake, b: web::Json<FailNext>| async move {
                    let b = b.into_inner();
                    let failure = Failure {
                        status: b.status,
                        error_type: b.error_type,
                        error_code: b.error_code,
                        retry_after: b.retry_after,
                    };
                    f.fail_next(&b.endpoint, b.times, failure);
                    HttpResponse::Ok().json(json!({}))
                }),
            )
            .route(
                "/failures/clear",
                web::post().to(|f: Fake| async move {
                    f.clear_failures();
                    HttpResponse::Ok().json(json!({}))
                }),
            )
            .route(
                "/sync_mutation",
                web::post().to(|f: Fake, b: web::Json<SyncMutation>| async move {
                    f.fail_sync_at_page(b.page);
                    HttpResponse::Ok().json(json!({}))
                }),
            )
            .route(
                "/delay",
                web::post().to(|f: Fake, b: web::Json<Delay>| async move {
                    let b = b.into_inner();
                    f.set_delay(b.endpoint.as_deref(), Duration::from_millis(b.millis));
                    HttpResponse::Ok().json(json!({}))
                }),
            )
            .route(
                "/calls",
                web::get().to(|f: Fake| async move { HttpResponse::Ok().json(f.calls()) }),
            )
            .route(
                "/calls/reset",
                web::post().to(|f: Fake| async move {
                    f.reset_calls();
                    HttpResponse::Ok().json(json!({}))
                }),
            ),
    );
}
