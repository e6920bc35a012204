//! Cache and rate-limit adapters for Nestegg: in process, and in Redis (deadpool-redis).
//!
//! [`InMemoryThrottle`] counts failed logins for a single instance; [`RedisThrottle`] keeps
//! the counters in Redis so that every instance shares them. Nothing here knows about HTTP or
//! SQL; callers see only the ports.

mod redis;
mod throttle;

pub use redis::{RedisStore, RedisThrottle};
pub use throttle::InMemoryThrottle;
