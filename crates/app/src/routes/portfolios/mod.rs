//! Portfolios: the portfolio itself here; its items, trades, and summary and rebalancing in
//! the sub-modules.

mod analysis;
pub(crate) mod items;
pub(crate) mod trades;

use std::collections::BTreeMap;

use actix_web::{delete, get, patch, post, web};
use nestegg_application::portfolios::{PortfolioInput, PortfolioPatch};
use nestegg_domain::{CurrencyCode, Money, Percentage};
use nestegg_ports::Portfolio;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{Dec, Items, Json, Nulls, present};
use crate::error::{ApiError, Envelope};
use crate::extract::Caller;
use crate::routes::{Reply, created, no_content, ok, timestamp};

/// Configures the portfolio routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get_one)
        .service(update)
        .service(remove)
        .configure(items::configure)
        .configure(trades::configure)
        .configure(analysis::configure);
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PortfolioDto {
    id: Uuid,
    name: String,
    description: Option<String>,
    #[schema(value_type = crate::openapi::schema::Currency)]
    currency: CurrencyCode,
    is_default: bool,
    #[schema(value_type = BTreeMap<String, crate::openapi::schema::Decimal>)]
    target_allocation: BTreeMap<String, Percentage>,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    total_value: Money,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    created_at: String,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPortfolioBody {
    #[schema(min_length = 1, max_length = 255)]
    name: String,
    #[schema(max_length = 2000)]
    description: Option<String>,
    #[schema(value_type = Option<crate::openapi::schema::Currency>)]
    currency: Option<String>,
    is_default: Option<bool>,
    target_allocation: Option<BTreeMap<String, Dec>>,
}

impl From<NewPortfolioBody> for PortfolioInput {
    fn from(body: NewPortfolioBody) -> Self {
        Self {
            name: body.name,
            description: body.description,
            currency: body.currency,
            is_default: body.is_default,
            target_allocation: targets(body.target_allocation),
        }
    }
}

#[utoipa::path(
    operation_id = "list_portfolios", tag = "portfolios", summary = "Every portfolio.",
    responses((status = 200, description = "Portfolios", body = Items<PortfolioDto>)),
)]
#[get("/portfolios")]
async fn list(me: Caller) -> Reply {
    let all = me.app.portfolios.list(me.id).await?;
    ok(Items::<PortfolioDto>::from(all))
}

#[utoipa::path(
    operation_id = "create_portfolio", tag = "portfolios", summary = "Create a portfolio.",
    responses(
        (status = 201, description = "Created", body = PortfolioDto),
        (status = 409, description = "A portfolio with this name exists", body = Envelope),
    ),
)]
#[post("/portfolios")]
async fn create(me: Caller, body: Json<NewPortfolioBody>) -> Reply {
    let input = PortfolioInput::from(body.into_inner());
    let p = me.app.portfolios.create(me.id, input).await?;
    created(PortfolioDto::from(p))
}

#[utoipa::path(
    operation_id = "get_portfolio", tag = "portfolios", summary = "One portfolio.",
    responses((status = 200, description = "The portfolio", body = PortfolioDto)),
)]
#[get("/portfolios/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    ok(PortfolioDto::from(
        me.app.portfolios.get(me.id, id.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PortfolioPatchBody {
    #[schema(min_length = 1, max_length = 255)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    name: Option<Option<String>>,
    #[schema(max_length = 2000)]
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    is_default: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = BTreeMap<String, Dec>)]
    target_allocation: Option<Option<BTreeMap<String, Dec>>>,
}

/// Only `description` can be cleared with `null`.
impl TryFrom<PortfolioPatchBody> for PortfolioPatch {
    type Error = ApiError;

    fn try_from(body: PortfolioPatchBody) -> Result<Self, ApiError> {
        let mut nulls = Nulls::default();
        let patch = Self {
            name: nulls.take("name", body.name),
            description: body.description,
            is_default: nulls.take("is_default", body.is_default),
            target_allocation: targets(nulls.take("target_allocation", body.target_allocation)),
        };
        nulls.check()?;
        Ok(patch)
    }
}

#[utoipa::path(
    operation_id = "update_portfolio", tag = "portfolios", summary = "Change a portfolio.",
    responses(
        (status = 200, description = "The portfolio", body = PortfolioDto),
        (status = 409, description = "A portfolio with this name exists", body = Envelope),
    ),
)]
#[patch("/portfolios/{id}")]
async fn update(me: Caller, id: web::Path<Uuid>, body: Json<PortfolioPatchBody>) -> Reply {
    let patch = PortfolioPatch::try_from(body.into_inner())?;
    let p = me
        .app
        .portfolios
        .update(me.id, id.into_inner(), patch)
        .await?;
    ok(PortfolioDto::from(p))
}

#[utoipa::path(
    operation_id = "delete_portfolio", tag = "portfolios",
    summary = "Delete a portfolio with its items and trades.",
    responses((status = 204, description = "Deleted")),
)]
#[delete("/portfolios/{id}")]
async fn remove(me: Caller, id: web::Path<Uuid>) -> Reply {
    me.app.portfolios.delete(me.id, id.into_inner()).await?;
    no_content()
}
