//! Reading all of a user's data, a page at a time, from one snapshot: for `GET /me/export`.

use async_trait::async_trait;
use uuid::Uuid;

use crate::account::{Account, Adjustment, Snapshot};
use crate::connection::Connection;
use crate::error::RepoError;
use crate::investment::{Investment, PricePoint};
use crate::portfolio::{Portfolio, PortfolioItem, Trade};
use crate::report::FxRate;
use crate::transaction::{HistoryEntry, Transaction};
use crate::user::User;

/// The parts of an export, in the order the document lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportSection {
    /// Accounts.
    Accounts,
    /// Transactions.
    Transactions,
    /// Every entry of every transaction's history (deleted transactions' too).
    TransactionHistory,
    /// Balance snapshots of the user's accounts.
    Snapshots,
    /// Balance adjustments (reconciliations) of the user's accounts.
    Adjustments,
    /// The user's FX rates.
    FxRates,
    /// The user's private securities (shared reference data is not theirs).
    Securities,
    /// Prices of the private securities.
    Prices,
    /// Portfolios.
    Portfolios,
    /// Portfolio items.
    Items,
    /// Trades.
    Trades,
    /// Plaid connections, never their tokens.
    Connections,
}

impl ExportSection {
    /// Every section, in document order.
    pub const ALL: [ExportSection; 12] = [
        ExportSection::Accounts,
        ExportSection::Transactions,
        ExportSection::TransactionHistory,
        ExportSection::Snapshots,
        ExportSection::Adjustments,
        ExportSection::FxRates,
        ExportSection::Securities,
        ExportSection::Prices,
        ExportSection::Portfolios,
        ExportSection::Items,
        ExportSection::Trades,
        ExportSection::Connections,
    ];

    /// The section's key in the document.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            ExportSection::Accounts => "accounts",
            ExportSection::Transactions => "transactions",
            ExportSection::TransactionHistory => "transaction_history",
            ExportSection::Snapshots => "snapshots",
            ExportSection::Adjustments => "adjustments",
            ExportSection::FxRates => "fx_rates",
            ExportSection::Securities => "securities",
            ExportSection::Prices => "prices",
            ExportSection::Portfolios => "portfolios",
            ExportSection::Items => "portfolio_items",
            ExportSection::Trades => "trades",
            ExportSection::Connections => "plaid_connections",
        }
    }
}

/// One exported row, with the owner ids its port type leaves out.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportRecord {
    /// An account.
    Account(Account),
    /// A transaction.
    Transaction(Transaction),
    /// A history entry of a transaction.
    History {
        /// The entry's id.
        id: Uuid,
        /// The transaction (it may since have been deleted).
        transaction_id: Uuid,
        /// Its account.
        account_id: Uuid,
        /// The entry.
        entry: HistoryEntry,
    },
    /// A balance snapshot.
    Snapshot {
        /// The snapshot's id.
        id: Uuid,
        /// Its account.
        account_id: Uuid,
        /// The point.
        snapshot: Snapshot,
    },
    /// A balance adjustment.
    Adjustment(Adjustment),
    /// An FX rate.
    FxRate {
        /// The rate's id.
        id: Uuid,
        /// The rate.
        rate: FxRate,
    },
    /// A private security.
    Security(Investment),
    /// A price of a private security.
    Price {
        /// The price's id.
        id: Uuid,
        /// Its security.
        investment_id: Uuid,
        /// The point.
        point: PricePoint,
    },
    /// A portfolio.
    Portfolio(Portfolio),
    /// A portfolio item.
    Item(PortfolioItem),
    /// A trade.
    Trade {
        /// Its portfolio.
        portfolio_id: Uuid,
        /// The trade.
        trade: Trade,
    },
    /// A Plaid connection, without its access token or sync cursor.
    Connection(Connection),
}

/// One page of a section, in id order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportPage {
    /// The rows.
    pub records: Vec<ExportRecord>,
    /// The id to read on after, when another page may follow.
    pub next: Option<Uuid>,
}

/// Opens exports.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ExportRepository: Send + Sync {
    /// A reader over one consistent snapshot of the user's data, where the backend allows.
    ///
    /// # Errors
    /// When the store fails.
    async fn open(&self, user_id: Uuid) -> Result<Box<dyn ExportReader>, RepoError>;
}

/// Reads one user's data from the snapshot it was opened on; dropping it ends the snapshot.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ExportReader: Send {
    /// The user.
    ///
    /// # Errors
    /// [`RepoError::NotFound`] when the user is gone.
    async fn user(&mut self) -> Result<User, RepoError>;

    /// At most `limit` rows of `section` after the id `after`, in id order (keyset paging,
    /// so that memory stays bounded however much the user has).
    ///
    /// # Errors
    /// When the store fails.
    async fn page(
        &mut self,
        section: ExportSection,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<ExportPage, RepoError>;
}
