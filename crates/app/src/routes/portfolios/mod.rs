//! Portfolios: the portfolio itself here; its items, trades, and summary and rebalancing in
//! the sub-modules.

mod analysis;
mod items;
mod trades;

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use nestegg_application::AppError;
use nestegg_application::portfolios::{PortfolioInput, PortfolioPatch};
use nestegg_domain::{CurrencyCode, Money, Percentage};
use nestegg_ports::Portfolio;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::{Dec, Items, not_null, present};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::timestamp;
use crate::state::AppState;

/// Configures the portfolio routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(remove)
        .service(items::items)
        .service(items::add_item)
        .service(items::update_item)
        .service(items::delete_item)
        .service(trades::trade)
        .service(trades::trades)
        .service(analysis::summary)
        .service(analysis::rebalance);
}

#[derive(Debug, Serialize)]
pub(super) struct PortfolioDto {
    id: Uuid,
    name: String,
    description: Option<String>,
    currency: CurrencyCode,
    is_default: bool,
    target_allocation: BTreeMap<String, Percentage>,
    total_value: Money,
    created_at: String,
    updated_at: String,
}

impl From<Portfolio> for PortfolioDto {
    fn from(p: Portfolio) -> Self {
        Self {
            id: p.id,
            name: p.name,
            description: p.description,
            currency: p.currency,
            is_default: p.is_default,
            target_allocation: p
                .target_allocation
                .into_iter()
                .map(|(t, v)| (t.as_str().to_owned(), v))
                .collect(),
            total_value: p.total_value,
            created_at: timestamp(p.created_at),
            updated_at: timestamp(p.updated_at),
        }
    }
}

pub(super) fn targets(raw: Option<BTreeMap<String, Dec>>) -> Option<BTreeMap<String, Decimal>> {
    raw.map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    description: Option<String>,
    currency: Option<String>,
    is_default: Option<bool>,
    target_allocation: Option<BTreeMap<String, Dec>>,
}

#[get("/portfolios")]
async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let all = state.portfolios.list(user.0).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: all.into_iter().map(PortfolioDto::from).collect::<Vec<_>>(),
    }))
}

#[post("/portfolios")]
async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let p = state
        .portfolios
        .create(
            user.0,
            PortfolioInput {
                name: b.name,
                description: b.description,
                currency: b.currency,
                is_default: b.is_default,
                target_allocation: targets(b.target_allocation),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(PortfolioDto::from(p)))
}

#[get("/portfolios/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let p = state.portfolios.get(user.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(PortfolioDto::from(p)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    is_default: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    target_allocation: Option<Option<BTreeMap<String, Dec>>>,
}

#[patch("/portfolios/{id}")]
async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut nulls = BTreeMap::new();
    let name = not_null("name", b.name, &mut nulls);
    let is_default = not_null("is_default", b.is_default, &mut nulls);
    let target_allocation = not_null("target_allocation", b.target_allocation, &mut nulls);
    if !nulls.is_empty() {
        return Err(AppError::Validation(nulls).into());
    }
    let p = state
        .portfolios
        .update(
            user.0,
            id.into_inner(),
            PortfolioPatch {
                name,
                description: b.description,
                is_default,
                target_allocation: targets(target_allocation),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(PortfolioDto::from(p)))
}

#[delete("/portfolios/{id}")]
async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.portfolios.delete(user.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
