//! The in-memory cache keeps the cache contract; what only it does is tested beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod contract;

cache_contract!(
    in_memory_cache,
    Some(nestegg_cache::InMemoryCache::default())
);
