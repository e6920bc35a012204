//! The ports of Nestegg's core: every trait through which the use cases reach the world.
//!
//! Repositories, Plaid, the login throttle, password hashing, tokens, the cipher and the clock are
//! object-safe `async_trait`s held as `Arc<dyn Port>`; with the `mocks` feature each also gets a
//! mockall mock for the use cases' unit tests. Errors are in the ports' own terms
//! ([`RepoError`], [`SecurityError`], ...): no database, HTTP or crypto library type ever crosses
//! a port, and this crate must never depend on one.

pub mod account;
pub mod cache;
pub mod clock;
pub mod connection;
pub mod error;
pub mod export;
pub mod health;
pub mod investment;
pub mod metrics;
pub mod plaid;
pub mod portfolio;
pub mod report;
pub mod security;
pub mod throttle;
pub mod token;
pub mod transaction;
pub mod user;

pub use account::{
    Account, AccountRepository, AccountUpdate, Adjustment, NewAccount, Snapshot, WriteTime,
};
pub use cache::{Cache, CacheError, Cached, ScopeVersions};
pub use clock::Clock;
pub use connection::{
    Connection, ConnectionRepository, ConnectionSecret, HoldingsBatch, NewConnection, SyncBatch,
    SyncCounts, SyncedAccount, SyncedHolding, SyncedSecurity, SyncedTransaction,
};
pub use error::{Conflict, RepoError, SecurityError, TokenError};
pub use export::{ExportPage, ExportReader, ExportRecord, ExportRepository, ExportSection};
pub use health::HealthProbe;
pub use investment::{
    Investment, InvestmentFilter, InvestmentPage, InvestmentRepository, NewInvestment, PricePoint,
};
pub use metrics::{
    CacheLookup, Metrics, NoMetrics, SyncOutcome, SyncTrigger, ThrottleCheck, ThrottleRefusal,
};
pub use plaid::{
    AccessToken, ExchangedItem, Holdings, LinkToken, Plaid, PlaidAccount, PlaidError, PlaidHolding,
    PlaidItem, PlaidSecurity, PlaidTransaction, RemovedTransaction, SyncPage, WebhookKey,
    WebhookVerifier,
};
pub use portfolio::{
    ItemUpdate, NewItem, NewPortfolio, NewTrade, Portfolio, PortfolioHoldings, PortfolioItem,
    PortfolioRepository, PortfolioUpdate, Trade, TypeTargets,
};
pub use report::{CashflowGrouping, FxRate, ReportRepository};
pub use security::{
    AccessClaims, AccessTokens, Cipher, IssuedAccessToken, PasswordHasher, Sealed, SecretTokens,
};
pub use throttle::{Counter as ThrottleCounter, LoginThrottle, ThrottleKey, Throttled};
pub use token::{
    NewRefreshToken, NewSession, RefreshToken, RefreshTokenRepository, Rotation, Session,
};
pub use transaction::{
    HistoryAction, HistoryEntry, NewTransaction, Transaction, TransactionFilter, TransactionPage,
    TransactionRepository, TransactionUpdate,
};
pub use user::{NewUser, User, UserRepository};
