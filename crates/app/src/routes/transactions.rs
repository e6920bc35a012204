//! Transactions, their search and their history.

use actix_web::{delete, get, patch, post, web};
use chrono::NaiveDate;
use nestegg_application::AppError;
use nestegg_application::transactions::{TransactionInput, TransactionPatch, TransactionQuery};
use nestegg_domain::{Money, TransactionCategory};
use nestegg_ports::{HistoryEntry, Transaction};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{
    Dec, Items, Json, Page, Query, decode_cursor, encode_cursor, parse_cursor, present,
};
use crate::error::Envelope;
use crate::extract::Caller;
use crate::routes::{Reply, created, no_content, ok, timestamp};

/// Configures the transaction routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(remove)
        .service(history);
}

/// A transaction as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransactionDto {
    id: Uuid,
    account_id: Uuid,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    amount: Money,
    date: NaiveDate,
    description: String,
    merchant_name: Option<String>,
    #[schema(value_type = crate::openapi::schema::TransactionCategory)]
    category: TransactionCategory,
    is_pending: bool,
    is_recurring: bool,
    plaid_transaction_id: Option<String>,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    created_at: String,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    updated_at: String,
}

impl From<Transaction> for TransactionDto {
    fn from(t: Transaction) -> Self {
        Self {
            id: t.id,
            account_id: t.account_id,
            amount: t.amount,
            date: t.date,
            description: t.description,
            merchant_name: t.merchant_name,
            category: t.category,
            is_pending: t.is_pending,
            is_recurring: t.is_recurring,
            plaid_transaction_id: t.plaid_transaction_id,
            created_at: timestamp(t.created_at),
            updated_at: timestamp(t.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTransactionBody {
    account_id: Uuid,
    amount: Dec,
    date: NaiveDate,
    #[schema(min_length = 1, max_length = 500)]
    description: String,
    #[schema(max_length = 255)]
    merchant_name: Option<String>,
    #[schema(value_type = Option<crate::openapi::schema::TransactionCategory>)]
    category: Option<String>,
    is_pending: Option<bool>,
    is_recurring: Option<bool>,
}

impl From<NewTransactionBody> for TransactionInput {
    fn from(body: NewTransactionBody) -> Self {
        Self {
            account_id: body.account_id,
            amount: body.amount.0,
            date: body.date,
            description: body.description,
            merchant_name: body.merchant_name,
            category: body.category,
            is_pending: body.is_pending,
            is_recurring: body.is_recurring,
        }
    }
}

#[utoipa::path(
    operation_id = "create_transaction", tag = "transactions",
    summary = "Record a transaction; a posted one moves its account's balance.",
    responses(
        (status = 201, description = "Created", body = TransactionDto),
        (status = 404, description = "The account does not exist for this user", body = Envelope),
    ),
)]
#[post("/transactions")]
async fn create(me: Caller, body: Json<NewTransactionBody>) -> Reply {
    let input = TransactionInput::from(body.into_inner());
    let stored = me.app.transactions.create(me.id, input).await?;
    created(TransactionDto::from(stored))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    account_id: Option<Uuid>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    #[param(value_type = Option<crate::openapi::schema::TransactionCategory>)]
    category: Option<String>,
    q: Option<String>,
    min_amount: Option<Dec>,
    max_amount: Option<Dec>,
    is_pending: Option<bool>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[utoipa::path(
    operation_id = "list_transactions", tag = "transactions", params(ListQuery),
    summary = "Search transactions, newest first, a page at a time.",
    responses(
        (status = 200, description = "A page", body = Page<TransactionDto>),
        (status = 404, description = "The account does not exist for this user", body = Envelope),
    ),
)]
#[get("/transactions")]
async fn list(me: Caller, query: Query<ListQuery>) -> Reply {
    let q = query.into_inner();
    let after = parse_cursor(q.cursor.as_deref(), decode_cursor)?;
    let page = me
        .app
        .transactions
        .list(
            me.id,
            TransactionQuery {
                account_id: q.account_id,
                from: q.from,
                to: q.to,
                category: q.category,
                q: q.q,
                min_amount: q.min_amount.map(|d| d.0),
                max_amount: q.max_amount.map(|d| d.0),
                is_pending: q.is_pending,
                limit: q.limit,
                after,
            },
        )
        .await?;
    ok(Page {
        items: page.items.into_iter().map(TransactionDto::from).collect(),
        next_cursor: page.next.map(|(d, id)| encode_cursor(d, id)),
    })
}

#[utoipa::path(
    operation_id = "get_transaction", tag = "transactions", summary = "One transaction.",
    responses((status = 200, description = "The transaction", body = TransactionDto)),
)]
#[get("/transactions/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    ok(TransactionDto::from(
        me.app.transactions.get(me.id, id.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TransactionPatchBody {
    #[schema(min_length = 1, max_length = 500)]
    description: Option<String>,
    #[schema(max_length = 255)]
    #[serde(default, deserialize_with = "present")]
    merchant_name: Option<Option<String>>,
    #[schema(value_type = Option<crate::openapi::schema::TransactionCategory>)]
    category: Option<String>,
    is_recurring: Option<bool>,
    amount: Option<Dec>,
    date: Option<NaiveDate>,
    /// `false` posts a pending transaction (its amount then moves the balance from its date
    /// on); `true` makes it pending again. Manual transactions only.
    is_pending: Option<bool>,
    account_id: Option<Uuid>,
}

impl From<TransactionPatchBody> for TransactionPatch {
    fn from(body: TransactionPatchBody) -> Self {
        Self {
            description: body.description,
            merchant_name: body.merchant_name,
            category: body.category,
            is_recurring: body.is_recurring,
            amount: body.amount.map(|d| d.0),
            date: body.date,
            is_pending: body.is_pending,
            account_id: body.account_id,
        }
    }
}

#[utoipa::path(
    operation_id = "update_transaction", tag = "transactions",
    summary = "Change a transaction, or post a pending one; balances follow.",
    responses((status = 200, description = "The transaction", body = TransactionDto)),
)]
#[patch("/transactions/{id}")]
async fn update(me: Caller, id: web::Path<Uuid>, body: Json<TransactionPatchBody>) -> Reply {
    let patch = TransactionPatch::from(body.into_inner());
    let t = me
        .app
        .transactions
        .update(me.id, id.into_inner(), patch)
        .await?;
    ok(TransactionDto::from(t))
}

#[utoipa::path(
    operation_id = "delete_transaction", tag = "transactions",
    summary = "Delete a transaction; balances follow.",
    responses((status = 204, description = "Deleted")),
)]
#[delete("/transactions/{id}")]
async fn remove(me: Caller, id: web::Path<Uuid>) -> Reply {
    me.app.transactions.delete(me.id, id.into_inner()).await?;
    no_content()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct HistoryDto {
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    at: String,
    action: &'static str,
    changes: serde_json::Value,
}

impl From<HistoryEntry> for HistoryDto {
    fn from(h: HistoryEntry) -> Self {
        Self {
            at: timestamp(h.at),
            action: h.action.as_str(),
            changes: h.changes,
        }
    }
}

#[utoipa::path(
    operation_id = "transaction_history", tag = "transactions",
    summary = "Every change to a transaction, oldest first.",
    responses((status = 200, description = "History", body = Items<HistoryDto>)),
)]
#[get("/transactions/{id}/history")]
async fn history(me: Caller, id: web::Path<Uuid>) -> Reply {
    let entries = me
        .app
        .transactions
        .history(me.id, id.into_inner())
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("transaction"),
            other => other,
        })?;
    ok(Items::<HistoryDto>::from(entries))
}
