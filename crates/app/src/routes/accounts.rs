//! Accounts and their balance snapshots.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use nestegg_application::accounts::{AccountInput, AccountPatch};
use nestegg_domain::{AccountType, CurrencyCode, Money};
use nestegg_ports::{Account, Snapshot};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use std::collections::BTreeMap;

use nestegg_application::AppError;

use crate::dto::{Dec, Items, not_null, present};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::timestamp;
use crate::state::AppState;

/// Configures the account routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(remove)
        .service(snapshots);
}

/// An account as the API shows it.
#[derive(Debug, Serialize)]
pub struct AccountDto {
    id: Uuid,
    name: String,
    #[serde(rename = "type")]
    account_type: AccountType,
    institution_name: Option<String>,
    current_balance: Money,
    available_balance: Option<Money>,
    currency: CurrencyCode,
    plaid_account_id: Option<String>,
    connection_id: Option<Uuid>,
    created_at: String,
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
            available_balance: a.available_balance,
            currency: a.currency,
            plaid_account_id: a.plaid_account_id,
            connection_id: a.connection_id,
            created_at: timestamp(a.created_at),
            updated_at: timestamp(a.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(rename = "type")]
    account_type: String,
    institution_name: Option<String>,
    current_balance: Dec,
    available_balance: Option<Dec>,
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    institution_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    current_balance: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    available_balance: Option<Option<Dec>>,
}

#[get("/accounts")]
async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let accounts = state.accounts.list(user.0).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: accounts
            .into_iter()
            .map(AccountDto::from)
            .collect::<Vec<_>>(),
    }))
}

#[post("/accounts")]
async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let account = state
        .accounts
        .create(
            user.0,
            AccountInput {
                name: body.name,
                account_type: body.account_type,
                institution_name: body.institution_name,
                current_balance: body.current_balance.0,
                available_balance: body.available_balance.map(|d| d.0),
                currency: body.currency,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(AccountDto::from(account)))
}

#[get("/accounts/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let account = state.accounts.get(user.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AccountDto::from(account)))
}

#[patch("/accounts/{id}")]
async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut nulls = BTreeMap::new();
    let name = not_null("name", body.name, &mut nulls);
    let current_balance = not_null("current_balance", body.current_balance, &mut nulls);
    if !nulls.is_empty() {
        return Err(AppError::Validation(nulls).into());
    }
    let account = state
        .accounts
        .update(
            user.0,
            id.into_inner(),
            AccountPatch {
                name,
                institution_name: body.institution_name,
                current_balance: current_balance.map(|d| d.0),
                available_balance: body.available_balance.map(|a| a.map(|d| d.0)),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(AccountDto::from(account)))
}

#[delete("/accounts/{id}")]
async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.accounts.delete(user.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct SnapshotDto {
    date: NaiveDate,
    balance: Money,
    available_balance: Option<Money>,
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

#[get("/accounts/{id}/snapshots")]
async fn snapshots(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    range: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .accounts
        .snapshots(user.0, id.into_inner(), range.from, range.to)
        .await?;
    Ok(HttpResponse::Ok().json(Items {
        items: items.into_iter().map(SnapshotDto::from).collect::<Vec<_>>(),
    }))
}
