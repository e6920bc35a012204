//! What an access token's session was last seen to be, kept for a few seconds so that not every
//! request reads the database, and forgotten at once when this instance ends the session.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Most sessions remembered at once. Only genuine (signed) tokens reach the cache, so this is
/// a guard against a burst of real sessions, not against forged ones.
const CAPACITY: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    user_id: Uuid,
    live: bool,
    until: DateTime<Utc>,
}

/// Session states as last read, each until a deadline.
#[derive(Debug, Default)]
pub(crate) struct SessionCache {
    seen: Mutex<HashMap<Uuid, Seen>>,
}

impl SessionCache {
    /// What was seen of `session` (its owner, and whether it was live), if not yet stale at `now`.
    pub(crate) fn get(&self, session: Uuid, now: DateTime<Utc>) -> Option<(Uuid, bool)> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(&session)
            .filter(|s| now < s.until)
            .map(|s| (s.user_id, s.live))
    }

    /// Remembers `session`'s state, read at `now`, until `until`.
    pub(crate) fn put(
        &self,
        session: Uuid,
        user_id: Uuid,
        live: bool,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= CAPACITY {
            seen.retain(|_, s| now < s.until);
            // Every entry is fresh: a cold start costs less than growing without bound.
            if seen.len() >= CAPACITY {
                seen.clear();
            }
        }
        seen.insert(
            session,
            Seen {
                user_id,
                live,
                until,
            },
        );
    }

    /// Forgets `session`, so the next check reads the database.
    pub(crate) fn forget(&self, session: Uuid) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.remove(&session);
    }

    /// Forgets every session of `user_id`.
    pub(crate) fn forget_user(&self, user_id: Uuid) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|_, s| s.user_id != user_id);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
