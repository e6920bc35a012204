//! Cache and rate-limit adapters for Nestegg.
//!
//! The in-process [`InMemoryThrottle`] counts failed logins for a single instance. A Redis
//! adapter (deadpool-redis) joins it for shared state across instances. Nothing here knows
//! about HTTP or SQL; callers see only the ports.

mod throttle;

pub use throttle::InMemoryThrottle;
