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
use uuid::Uuid;

use crate::dto::{Dec, Items, Nulls, present};
use crate::extract::Caller;
use crate::routes::{Reply, created, no_content, ok, timestamp};

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
pub(crate) struct PortfolioDto {
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
async fn list(me: Caller) -> Reply {
    let all = me.app.portfolios.list(me.id).await?;
    ok(Items::<PortfolioDto>::from(all))
}

#[post("/portfolios")]
async fn create(me: Caller, body: web::Json<CreateBody>) -> Reply {
    let b = body.into_inner();
    let p = me
        .app
        .portfolios
        .create(
            me.id,
            PortfolioInput {
                name: b.name,
                description: b.description,
                currency: b.currency,
                is_default: b.is_default,
                target_allocation: targets(b.target_allocation),
            },
        )
        .await?;
    created(PortfolioDto::from(p))
}

#[get("/portfolios/{id}")]
async fn get_one(me: Caller, id: web::Path<Uuid>) -> Reply {
    ok(PortfolioDto::from(
        me.app.portfolios.get(me.id, id.into_inner()).await?,
    ))
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
async fn update(me: Caller, id: web::Path<Uuid>, body: web::Json<PatchBody>) -> Reply {
    let b = body.into_inner();
    let mut nulls = Nulls::default();
    let name = nulls.take("name", b.name);
    let is_default = nulls.take("is_default", b.is_default);
    let target_allocation = nulls.take("target_allocation", b.target_allocation);
    nulls.check()?;
    let p = me
        .app
        .portfolios
        .update(
            me.id,
            id.into_inner(),
            PortfolioPatch {
                name,
                description: b.description,
                is_default,
                target_allocation: targets(target_allocation),
            },
        )
        .await?;
    ok(PortfolioDto::from(p))
}

#[delete("/portfolios/{id}")]
async fn remove(me: Caller, id: web::Path<Uuid>) -> Reply {
    me.app.portfolios.delete(me.id, id.into_inner()).await?;
    no_content()
}
