//! Nestegg's HTTP API: configuration, routes, DTOs, the auth extractor, the error envelope and
//! the wiring of adapters into use cases, served by actix-web as the `nestegg` binary.
//!
//! This crate is deliberately thin: handlers turn requests into use-case calls and results
//! into JSON. It holds no SQL and no business rules; those live in `nestegg-persistence` and
//! `nestegg-domain`/`nestegg-application`.

pub mod config;
pub mod decode;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod proxy;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use config::Settings;
pub use startup::{Application, build};
