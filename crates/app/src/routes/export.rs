//! `GET /me/export`: all of the caller's data as one JSON document, streamed as it is read.
//!
//! The use case reads a page at a time inside one read transaction; a task renders each piece
//! with the API's own DTOs and sends it down a small bounded channel, so a slow client slows
//! the reading instead of making the server buffer the document.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get};
use nestegg_application::AppError;
use nestegg_application::export::ExportPart;
use nestegg_ports::ExportRecord;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::extract::Caller;
use crate::routes::accounts::{AccountDto, AdjustmentDto, SnapshotDto};
use crate::routes::investments::{InvestmentDto, PriceDto};
use crate::routes::me::UserDto;
use crate::routes::plaid::ConnectionDto;
use crate::routes::portfolios::PortfolioDto;
use crate::routes::portfolios::items::ItemDto;
use crate::routes::portfolios::trades::TradeDto;
use crate::routes::reports::RateDto;
use crate::routes::transactions::{HistoryDto, TransactionDto};
use crate::routes::{Reply, timestamp};

/// Rendered pieces waiting for the client: with pages of at most a thousand rows, this bounds
/// what the server holds for a slow reader.
const BUFFERED_PIECES: usize = 4;

/// Configures the export route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export);
}

#[utoipa::path(
    operation_id = "export_me", tag = "me",
    summary = "All of the caller's data as one JSON document, streamed.",
    responses(
        (status = 200, description = "The export document", content_type = "application/json", body = ExportDocument),
    ),
)]
#[get("/me/export")]
async fn export(me: Caller) -> Reply {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, AppError>>(BUFFERED_PIECES);
    let service = me.app.export.clone();
    let user_id = me.id;
    tokio::spawn(async move {
        let mut document = Document::default();
        let pieces = tx.clone();
        let done = service
            .export(user_id, move |part| {
                let piece = document.render(part);
                let pieces = pieces.clone();
                async move { pieces.send(piece).await.is_ok() }
            })
            .await;
        if let Err(e) = done {
            // Nobody may be listening any more; then there is nobody to tell.
            let _ = tx.send(Err(e)).await;
        }
    });
    // Until the first piece is read, a failure (the snapshot cannot be opened, the user is
    // gone) is still an ordinary error response.
    let head = match rx.recv().await {
        Some(Ok(head)) => head,
        Some(Err(e)) => return Err(e.into()),
        None => return Err(AppError::Unexpected(anyhow::anyhow!("the export ended early")).into()),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"nestegg-export.json\"",
        ))
        .body(Streamed {
            head: Some(head),
            rx,
        }))
}

/// The export document, for the OpenAPI document only: the handler writes it piece by piece
/// (see [`Document`]), in this order, each record the same shape as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExportDocument {
    /// Always `nestegg-export`.
    format: &'static str,
    /// The document's version; 1.
    version: u32,
    #[schema(value_type = crate::openapi::schema::Timestamp)]
    exported_at: String,
    /// The profile, without the password hash.
    user: UserDto,
    accounts: Vec<AccountDto>,
    transactions: Vec<TransactionDto>,
    /// Every entry of every transaction's history, deleted transactions' too.
    transaction_history: Vec<ExportedHistory>,
    snapshots: Vec<ExportedSnapshot>,
    adjustments: Vec<ExportedAdjustment>,
    fx_rates: Vec<ExportedRate>,
    /// The private securities (shared reference data is not the user's).
    securities: Vec<InvestmentDto>,
    prices: Vec<ExportedPrice>,
    portfolios: Vec<PortfolioDto>,
    portfolio_items: Vec<ItemDto>,
    trades: Vec<ExportedTrade>,
    /// Never their access tokens.
    plaid_connections: Vec<ConnectionDto>,
}

/// A history entry with the ids that place it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExportedHistory {
    id: uuid::Uuid,
    transaction_id: uuid::Uuid,
    account_id: uuid::Uuid,
    #[serde(flatten)]
    entry: HistoryDto,
}

/// A snapshot with the ids that place it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExportedSnapshot {
    id: uuid::Uuid,
    account_id: uuid::Uuid,
    #[serde(flatten)]
    snapshot: SnapshotDto,
}

/// An adjustment with its account.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExportedAdjustment {
    account_id: uuid::Uuid,
    #[serde(flatten)]
    adjustment: AdjustmentDto,
}

/// An exchange rate with its id.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExportedRate {
    id: uuid::Uuid,
    #[serde(flatten)]
    rate: RateDto,
}

/// A price with the ids that place it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExportedPrice {
    id: uuid::Uuid,
    investment_id: uuid::Uuid,
    #[serde(flatten)]
    price: PriceDto,
}

/// A trade with its portfolio.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExportedTrade {
    portfolio_id: uuid::Uuid,
    #[serde(flatten)]
    trade: TradeDto,
}

/// The response body: the pieces as the task sends them.
struct Streamed {
    head: Option<Bytes>,
    rx: mpsc::Receiver<Result<Bytes, AppError>>,
}

impl MessageBody for Streamed {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(head)));
        }
        self.rx.poll_recv(cx).map(|piece| {
            piece.map(|piece| {
                piece.map_err(|e| {
                    // The status is sent already: breaking the connection is the only way left
                    // to tell the client that the document is not whole.
                    tracing::error!(error = %e, "the export failed while streaming");
                    std::io::Error::other("the export failed")
                })
            })
        })
    }
}

/// Renders the pieces one after the other into the document's text.
#[derive(Debug, Default)]
struct Document {
    /// A section's array is open.
    open: bool,
    /// The open array has no element yet.
    empty: bool,
}

impl Document {
    fn render(&mut self, part: ExportPart) -> Result<Bytes, AppError> {
        let mut out = String::new();
        match part {
            ExportPart::Begin { user, exported_at } => {
                out.push_str(&format!(
                    "{{\"format\":\"nestegg-export\",\"version\":1,\"exported_at\":{},\"user\":{}",
                    text(&timestamp(exported_at))?,
                    text(&UserDto::from(&user))?
                ));
            }
            ExportPart::Section(section) => {
                if self.open {
                    out.push(']');
                }
                out.push_str(&format!(",{}:[", text(&section.key())?));
                self.open = true;
                self.empty = true;
            }
            ExportPart::Records(records) => {
                for record in records {
                    if !self.empty {
                        out.push(',');
                    }
                    self.empty = false;
                    out.push_str(&text(&shown(record)?)?);
                }
            }
            ExportPart::End => {
                if self.open {
                    out.push(']');
                }
                out.push_str("}\n");
                self.open = false;
            }
        }
        Ok(Bytes::from(out))
    }
}

fn text(value: &impl Serialize) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Unexpected(e.into()))
}

/// A record as the API shows it, with the ids of its owners that the API's own shape leaves
/// to the URL (`/accounts/{id}/snapshots`, ...).
fn shown(record: ExportRecord) -> Result<Value, AppError> {
    fn with(dto: impl Serialize, ids: &[(&str, uuid::Uuid)]) -> Result<Value, AppError> {
        let mut value = serde_json::to_value(dto).map_err(|e| AppError::Unexpected(e.into()))?;
        if let Value::Object(map) = &mut value {
            let mut extra: Map<String, Value> = ids
                .iter()
                .map(|(k, id)| ((*k).to_owned(), json!(id)))
                .collect();
            extra.append(map);
            *map = extra;
        }
        Ok(value)
    }
    match record {
        ExportRecord::Account(a) => with(AccountDto::from(a), &[]),
        ExportRecord::Transaction(t) => with(TransactionDto::from(t), &[]),
        ExportRecord::History {
            id,
            transaction_id,
            account_id,
            entry,
        } => with(
            HistoryDto::from(entry),
            &[
                ("id", id),
                ("transaction_id", transaction_id),
                ("account_id", account_id),
            ],
        ),
        ExportRecord::Snapshot {
            id,
            account_id,
            snapshot,
        } => with(
            SnapshotDto::from(snapshot),
            &[("id", id), ("account_id", account_id)],
        ),
        ExportRecord::Adjustment(a) => {
            let account_id = a.account_id;
            with(AdjustmentDto::from(a), &[("account_id", account_id)])
        }
        ExportRecord::FxRate { id, rate } => with(RateDto::from(rate), &[("id", id)]),
        ExportRecord::Security(s) => with(InvestmentDto::from(s), &[]),
        ExportRecord::Price {
            id,
            investment_id,
            point,
        } => with(
            PriceDto::from(point),
            &[("id", id), ("investment_id", investment_id)],
        ),
        ExportRecord::Portfolio(p) => with(PortfolioDto::from(p), &[]),
        ExportRecord::Item(i) => with(ItemDto::from(i), &[]),
        ExportRecord::Trade {
            portfolio_id,
            trade,
        } => with(TradeDto::from(trade), &[("portfolio_id", portfolio_id)]),
        ExportRecord::Connection(c) => with(ConnectionDto::from(c), &[]),
    }
}
