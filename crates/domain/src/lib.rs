//! Nestegg's domain: the pure model of a person's finances and the rules it must obey.
//!
//! Exact decimal money, quantities, prices and percentages ([`decimal`]), ISO 4217 currencies
//! ([`currency`]), users ([`user`]), accounts and their asset/liability class ([`account`]),
//! transactions and their categories ([`transaction`]) and securities ([`investment`]). Every
//! value type validates on construction, so a value that exists is valid.
//!
//! This crate does no I/O and must never depend on a database, web framework, async runtime or
//! cache; binary floats never enter a money path. `README.md` beside this crate shows how
//! another service embeds it; its example runs as a doctest.

pub mod account;
pub mod currency;
pub mod decimal;
mod enumeration;
pub mod error;
pub mod investment;
pub mod ledger;
pub mod portfolio;
pub mod report;
pub mod sync;
pub mod text;
pub mod transaction;
pub mod user;

pub use account::{AccountClass, AccountName, AccountType};
pub use currency::CurrencyCode;
pub use decimal::{Money, Percentage, Price, Quantity, Rate, UnitCost};
pub use error::DomainError;
pub use investment::{InvestmentType, Symbol};
pub use sync::SyncStatus;
pub use transaction::{TransactionAmount, TransactionCategory};
pub use user::{Email, Password, Preferences, Username};

/// Runs the README's example as a doctest, so the documented embedding keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
