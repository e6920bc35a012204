//! Cache and rate-limit adapters for Nestegg: in process, and in Redis (deadpool-redis).
//!
//! [`InMemoryThrottle`] counts failed logins for a single instance; [`RedisThrottle`] keeps
//! the counters in Redis so that every instance shares them. [`InMemoryCache`] and
//! [`RedisCache`] do the same for computed reports (the `Cache` port): values in versioned
//! scopes, so that a value computed before a write is never stored after it. Nothing here
//! knows about HTTP or SQL; callers see only the ports.

mod memory;
mod redis;
mod throttle;

pub use memory::InMemoryCache;
pub use redis::{RedisCache, RedisStore};
pub use throttle::{InMemoryThrottle, RedisThrottle};
