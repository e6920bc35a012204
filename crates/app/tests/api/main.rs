//! HTTP tests against the real app on a random port, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod auth;
mod cache;
mod compression;
mod contention;
mod demo;
mod errors;
mod export;
mod headers;
mod helpers;
mod investments;
mod ledger;
mod me;
mod methods;
mod metrics;
mod openapi;
mod plaid;
mod plaid_instances;
mod portfolios;
mod reports;
mod security;
mod sessions;
mod throttle;
mod transactions;
