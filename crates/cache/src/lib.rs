//! Cache and rate-limit adapters for Nestegg: in process, and in Redis (deadpool-redis).
//!
//! [`InMemoryThrottle`] counts failed logins for a single instance; [`RedisThrottle`] keeps
//! the counters in Redis so that every instance shares them. [`InMemoryCache`] and
//! [`RedisCache`] do the same for computed reports (the `Cache` port): values in versioned
//! scopes, so that a value computed before a write is never served after it; both are
//! bounded (in bytes in process, in values per scope in Redis) and expire each value on
//! its own TTL. [`SharedVersionCache`] keeps values in process but their versions in a store
//! every instance reads (the database), for several instances without Redis. Nothing here knows about HTTP or SQL; callers see only the ports.

mod memory;
mod redis;
mod throttle;

pub use memory::{CacheUsage, DEFAULT_MAX_BYTES, Evictions, InMemoryCache, SharedVersionCache};
pub use redis::{DEFAULT_MAX_FIELDS_PER_SCOPE, RedisCache, RedisStore};
pub use throttle::{InMemoryThrottle, RedisThrottle};
