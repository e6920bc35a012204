//! A portfolio's items: its holdings, kept valued.

use actix_web::{delete, get, patch, post, web};
use nestegg_application::portfolios::{ItemInput, ItemPatch};
use nestegg_domain::{Money, Percentage, Quantity, UnitCost};
use nestegg_ports::PortfolioItem;
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::dto::{Dec, Items, Json, Nulls, present};
use crate::error::{ApiError, Envelope};
use crate::extract::Caller;
use crate::routes::{Reply, created, no_content, ok, timestamp};

/// Configures the portfolio item routes.
pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(items)
        .service(add_item)
        .service(update_item)
        .service(delete_item);
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ItemDto {
    id: Uuid,
    portfolio_id: Uuid,
    investment_id: Uuid,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    quantity: Quantity,
    #[schema(value_type = crate::openapi::schema::Decimal)]
    average_cost: UnitCost,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    current_value: Option<Money>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    unrealized_gain_loss: Option<Money>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    unrealized_gain_loss_percent: Option<String>,
    #[schema(value_type = Option<crate::openapi::schema::Decimal>)]
    target_allocation: Option<Percentage>,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    created_at: String,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
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

#[utoipa::path(
    operation_id = "list_items", tag = "portfolios", summary = "A portfolio's holdings.",
    responses((status = 200, description = "Items", body = Items<ItemDto>)),
)]
#[get("/portfolios/{id}/items")]
async fn items(me: Caller, id: web::Path<Uuid>) -> Reply {
    let all = me.app.portfolios.items(me.id, id.into_inner()).await?;
    ok(Items::<ItemDto>::from(all))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    investment_id: Uuid,
    quantity: Dec,
    average_cost: Dec,
    target_allocation: Option<Dec>,
}

impl From<ItemBody> for ItemInput {
    fn from(body: ItemBody) -> Self {
        Self {
            investment_id: body.investment_id,
            quantity: body.quantity.0,
            average_cost: body.average_cost.0,
            target_allocation: body.target_allocation.map(|d| d.0),
        }
    }
}

#[utoipa::path(
    operation_id = "add_item", tag = "portfolios", summary = "Add a holding.",
    responses(
        (status = 201, description = "Created", body = ItemDto),
        (status = 409, description = "The security is already in this portfolio", body = Envelope),
    ),
)]
#[post("/portfolios/{id}/items")]
async fn add_item(me: Caller, id: web::Path<Uuid>, body: Json<ItemBody>) -> Reply {
    let input = ItemInput::from(body.into_inner());
    let item = me
        .app
        .portfolios
        .add_item(me.id, id.into_inner(), input)
        .await?;
    created(ItemDto::from(item))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ItemPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Dec)]
    quantity: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Dec)]
    average_cost: Option<Option<Dec>>,
    #[serde(default, deserialize_with = "present")]
    target_allocation: Option<Option<Dec>>,
}

/// Only `target_allocation` can be cleared with `null`.
impl TryFrom<ItemPatchBody> for ItemPatch {
    type Error = ApiError;

    fn try_from(body: ItemPatchBody) -> Result<Self, ApiError> {
        let mut nulls = Nulls::default();
        let patch = Self {
            quantity: nulls.take("quantity", body.quantity).map(|d| d.0),
            average_cost: nulls.take("average_cost", body.average_cost).map(|d| d.0),
            target_allocation: body.target_allocation.map(|t| t.map(|d| d.0)),
        };
        nulls.check()?;
        Ok(patch)
    }
}

#[utoipa::path(
    operation_id = "update_item", tag = "portfolios", summary = "Change a holding.",
    responses((status = 200, description = "The item", body = ItemDto)),
)]
#[patch("/portfolios/{id}/items/{item_id}")]
async fn update_item(
    me: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<ItemPatchBody>,
) -> Reply {
    let (id, item_id) = path.into_inner();
    let patch = ItemPatch::try_from(body.into_inner())?;
    let item = me
        .app
        .portfolios
        .update_item(me.id, id, item_id, patch)
        .await?;
    ok(ItemDto::from(item))
}

#[utoipa::path(
    operation_id = "delete_item", tag = "portfolios", summary = "Remove a holding.",
    responses((status = 204, description = "Deleted")),
)]
#[delete("/portfolios/{id}/items/{item_id}")]
async fn delete_item(me: Caller, path: web::Path<(Uuid, Uuid)>) -> Reply {
    let (id, item_id) = path.into_inner();
    me.app.portfolios.delete_item(me.id, id, item_id).await?;
    no_content()
}
