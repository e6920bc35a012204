//! Accounts and their balance snapshots.

use actix_web::{delete, get, patch, post, web};
use chrono::NaiveDate;
use nestegg_application::accounts::{AccountInput, AccountPatch};
use nestegg_domain::{AccountType, CurrencyCode, Money};
use nestegg_ports::{Account, Adjustment, Snapshot};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{Dec, Items, Json, Nulls, Query, RangeQuery, present};
use crate::error::{ApiError, Envelope};
use crate::extract::Caller;
use crate::routes::{Reply, created, no_content, ok, timestamp};

/// Configures the account routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(remove)
        .service(snapshots)
        .service(adjustments);
}

/// An account as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountDto {
    id: Uuid,
    name: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::schema::AccountType)]
    account_type: AccountType,
    institution_name: Option<String>,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    current_balance: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    opening_balance: Money,
    opened_on: NaiveDate,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    available_balance: Option<Money>,
    #[schema(value_type = crate::openapi::schema::Currency)]
    currency: CurrencyCode,
    plaid_account_id: Option<String>,
    connection_id: Option<Uuid>,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    created_at: String,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    updated_at: String,
}

impl From<Account> for AccountDto {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            name: a.name,
            account_type: a.account_type,
            institution_name: a.institution_name,
            current_balance: a.current_balance,
            opening_balance: a.opening_balance,
            opened_on: a.opened_on,
            available_balance: a.available_balance,
            currency: a.currency,
            plaid_account_id: a.plaid_account_id,
            connection_id: a.connection_id,
            created_at: timestamp(a.created_at),
            updated_at: timestamp(a.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewAccountBody {
    #[schema(min_length = 1, max_length = 255)]
    name: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::openapi::schema::AccountType)]
    account_type: String,
    #[schema(max_length = 255)]
    institution_name: Option<String>,
    current_balance: Dec,
    available_balance: Option<Dec>,
    #[schema(value_type = Option<crate::openapi::schema::Currency>)]
    currency: Option<String>,
    opened_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AccountPatchBody {
    #[schema(min_length = 1, max_length = 255)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    name: Option<Option<String>>,
    #[schema(max_length = 255)]
    #[serde(default, deserialize_with = "present")]
    institution_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Dec)]
    current_balance: Option<Option<Dec>>,
    as_of: Option<NaiveDate>,
    #[serde(default, deserialize_with = "present")]
    available_balance: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = NaiveDate)]
    opened_on: Option<Option<NaiveDate>>,
}

impl From<NewAccountBody> for AccountInput {
    fn from(body: NewAccountBody) -> Self {
        Self {
            name: body.name,
            account_type: body.account_type,
            institution_name: body.institution_name,
            current_balance: body.current_balance.0,
            available_balance: body.available_balance.map(|d| d.0),
            currency: body.currency,
            opened_on: body.opened_on,
        }
    }
}

/// Only `institution_name` and `available_balance` can be cleared with `null`.
impl TryFrom<AccountPatchBody> for AccountPatch {
    type Error = ApiError;

    fn try_from(body: AccountPatchBody) -> Result<Self, ApiError> {
        let mut nulls = Nulls::default();
        let patch = Self {
            name: nulls.take("name", body.name),
            institution_name: body.institution_name,
            current_balance: nulls
                .take("current_balance", body.current_balance)
                .map(|d| d.0),
            as_of: body.as_of,
            available_balance: body.available_balance.map(|a| a.map(|d| d.0)),
            opened_on: nulls.take("opened_on", body.opened_on),
        };
        nulls.check()?;
        Ok(patch)
    }
}

#[utoipa::path(
    operation_id = "list_accounts", tag = "accounts", summary = "Every account.",
    responses((status = 200, description = "Accounts", body = Items<AccountDto>)),
)]
#[get("/accounts")]
async fn list(me: Caller) -> Reply {
    let accounts = me.app.accounts.list(me.id).await?;
    ok(Items::<AccountDto>::from(accounts))
}

#[utoipa::path(
    operation_id = "create_account", tag = "accounts", summary = "Create a manual account.",
    responses((status = 201, description = "Created", body = AccountDto)),
)]
#[post("/accounts")]
async fn create(me: Caller, body: Json<NewAccountBody>) -> Reply {
    let input = AccountInput::from(body.into_inner());
    let account = me.app.accounts.create(me.id, input).await?;
    created(AccountDto::from(account))
}

#[utoipa::path(
    operation_id = "get_account", tag = "accounts", summary = "One account.",
    responses((status = 200, description = "The account", body = AccountDto)),
)]
#[get("/accounts/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    ok(AccountDto::from(
        me.app.accounts.get(me.id, id.into_inner()).await?,
    ))
}

#[utoipa::path(
    operation_id = "update_account", tag = "accounts",
    summary = "Change an account; a new balance is reconciled as an adjustment.",
    responses((status = 200, description = "The account", body = AccountDto)),
)]
#[patch("/accounts/{id}")]
async fn update(me: Caller, id: web::Path<Uuid>, body: Json<AccountPatchBody>) -> Reply {
    let patch = AccountPatch::try_from(body.into_inner())?;
    let account = me
        .app
        .accounts
        .update(me.id, id.into_inner(), patch)
        .await?;
    ok(AccountDto::from(account))
}

#[utoipa::path(
    operation_id = "delete_account", tag = "accounts",
    summary = "Delete an account that has no transactions left.",
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The account still has transactions (`account_has_transactions`)", body = Envelope),
    ),
)]
#[delete("/accounts/{id}")]
async fn remove(me: Caller, id: web::Path<Uuid>) -> Reply {
    me.app.accounts.delete(me.id, id.into_inner()).await?;
    no_content()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SnapshotDto {
    date: NaiveDate,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    balance: Money,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    available_balance: Option<Money>,
    #[schema(value_type = crate::openapi::schema::Currency)]
    currency: CurrencyCode,
}

impl From<Snapshot> for SnapshotDto {
    fn from(s: Snapshot) -> Self {
        Self {
            date: s.date,
            balance: s.balance,
            available_balance: s.available_balance,
            currency: s.currency,
        }
    }
}

#[utoipa::path(
    operation_id = "list_snapshots", tag = "accounts", params(RangeQuery),
    summary = "The account's end-of-day balances.",
    responses((status = 200, description = "Snapshots, oldest first", body = Items<SnapshotDto>)),
)]
#[get("/accounts/{id}/snapshots")]
async fn snapshots(me: Caller, id: web::Path<Uuid>, range: Query<RangeQuery>) -> Reply {
    let items = me
        .app
        .accounts
        .snapshots(me.id, id.into_inner(), range.from, range.to)
        .await?;
    ok(Items::<SnapshotDto>::from(items))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AdjustmentDto {
    id: Uuid,
    date: NaiveDate,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    amount: Money,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    balance: Money,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    created_at: String,
}

impl From<Adjustment> for AdjustmentDto {
    fn from(a: Adjustment) -> Self {
        Self {
            id: a.id,
            date: a.date,
            amount: a.amount,
            balance: a.balance,
            created_at: timestamp(a.created_at),
        }
    }
}

/// The account's reconciliations, oldest first (an addition to the contract).
#[utoipa::path(
    operation_id = "list_adjustments", tag = "accounts",
    summary = "The account's reconciliations, oldest first.",
    responses((status = 200, description = "Adjustments", body = Items<AdjustmentDto>)),
)]
#[get("/accounts/{id}/adjustments")]
async fn adjustments(me: Caller, id: web::Path<Uuid>) -> Reply {
    let all = me.app.accounts.adjustments(me.id, id.into_inner()).await?;
    ok(Items::<AdjustmentDto>::from(all))
}
