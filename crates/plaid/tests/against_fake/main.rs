//! The real client against the fake Plaid, over HTTP on 127.0.0.1. Nothing here reaches the
//! internet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod failures;
mod link_and_sync;
mod logs;
mod webhooks;
