//! Nestegg's use cases: what a user can do, written against the ports only.
//!
//! Each service is a plain struct over `Arc<dyn Port>`s with one method per use case
//! ([`auth::AuthService`]). Rules on values come from `nestegg-domain`; storage, crypto and time
//! come through `nestegg-ports`. This crate must never depend on a database, web framework,
//! cache client or crypto library; its tests use the ports' mockall mocks.

pub mod accounts;
pub mod auth;
pub mod cache;
pub mod demo;
pub mod error;
pub mod export;
pub mod investments;
pub mod plaid;
pub mod portfolios;
pub mod reports;
#[cfg(test)]
mod test_support;
pub mod transactions;

pub use error::AppError;
