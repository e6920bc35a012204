//! A portfolio's items: its holdings, kept valued.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use nestegg_application::AppError;
use nestegg_application::portfolios::{ItemInput, ItemPatch};
use nestegg_domain::{Money, Percentage, Quantity, UnitCost};
use nestegg_ports::PortfolioItem;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dto::{Dec, Items, not_null, present};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::timestamp;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub(super) struct ItemDto {
    id: Uuid,
    portfolio_id: Uuid,
    investment_id: Uuid,
    quantity: Quantity,
    average_cost: UnitCost,
    current_value: Option<Money>,
    unrealized_gain_loss: Option<Money>,
    unrealized_gain_loss_percent: Option<String>,
    target_allocation: Option<Percentage>,
    created_at: String,
    updated_at: String,
}

impl From<PortfolioItem> for ItemDto {
    fn from(i: PortfolioItem) -> Self {
        Self {
            id: i.id,
            portfolio_id: i.portfolio_id,
            investment_id: i.investment_id,
            quantity: i.quantity,
            average_cost: i.average_cost,
            current_value: i.current_value,
            unrealized_gain_loss: i.unrealized_gain_loss,
            unrealized_gain_loss_percent: i
                .unrealized_gain_loss_percent
                .map(nestegg_domain::decimal::to_text),
            target_allocation: i.target_allocation,
            created_at: timestamp(i.created_at),
            updated_at: timestamp(i.updated_at),
        }
    }
}

#[get("/portfolios/{id}/items")]
pub(super) async fn items(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let all = state.portfolios.items(user.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: all.into_iter().map(ItemDto::from).collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    investment_id: Uuid,
    quantity: Dec,
    average_cost: Dec,
    target_allocation: Option<Dec>,
}

#[post("/portfolios/{id}/items")]
pub(super) async fn add_item(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ItemBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let item = state
        .portfolios
        .add_item(
            user.0,
            id.into_inner(),
            ItemInput {
                investment_id: b.investment_id,
                quantity: b.quantity.0,
                average_cost: b.average_cost.0,
                target_allocation: b.target_allocation.map(|d| d.0),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(ItemDto::from(item)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemPatchBody {
    #[serde(default, deserialize_with = "present")]
    quantity: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    average_cost: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    target_allocation: Option<Option<Dec>>,
}

#[patch("/portfolios/{id}/items/{item_id}")]
pub(super) async fn update_item(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<ItemPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    let b = body.into_inner();
    let mut nulls = BTreeMap::new();
    let quantity = not_null("quantity", b.quantity, &mut nulls);
    let average_cost = not_null("average_cost", b.average_cost, &mut nulls);
    if !nulls.is_empty() {
        return Err(AppError::Validation(nulls).into());
    }
    let item = state
        .portfolios
        .update_item(
            user.0,
            id,
            item_id,
            ItemPatch {
                quantity: quantity.map(|d| d.0),
                average_cost: average_cost.map(|d| d.0),
                target_allocation: b.target_allocation.map(|t| t.map(|d| d.0)),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ItemDto::from(item)))
}

#[delete("/portfolios/{id}/items/{item_id}")]
pub(super) async fn delete_item(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    state.portfolios.delete_item(user.0, id, item_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
