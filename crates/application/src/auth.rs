//! Registration, login, token refresh and the user's own profile.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nestegg_domain::{Email, Password, Preferences, Username};
use nestegg_ports::{
    AccessClaims, AccessTokens, Clock, Conflict, LoginThrottle, Metrics, NewRefreshToken,
    NewSession, NewUser, NoMetrics, PasswordHasher, RefreshTokenRepository, RepoError, Rotation,
    SecretTokens, ThrottleCheck, ThrottleKey, ThrottleRefusal, Throttled, TokenError, User,
    UserRepository,
};
use uuid::Uuid;

use crate::cache::ReportCache;
use crate::error::{AppError, FieldErrors, valid};

mod sessions;

use sessions::SessionCache;

/// How long tokens live, how logins are throttled and who may sign up.
///
/// Failed logins are counted three ways in one window: per (account, client address) and per
/// client address, each refusing further attempts once at its limit; and per account (from
/// every address), which never refuses but slows every login of that account down, so that
/// nobody can lock the owner out from elsewhere.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Lifetime of a refresh token.
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a session (a login and every refresh after it).
    pub session_max_age: Duration,
    /// How long a session's state, once read, is trusted without reading it again: how long a
    /// session ended on another server instance may still be honoured here.
    pub session_check_ttl: Duration,
    /// Failed logins allowed per (account, client address) per window: the tight limit.
    pub failures_per_pair: u32,
    /// Failed logins allowed per client address per window, whatever the account: the loose
    /// limit.
    pub failures_per_address: u32,
    /// Failed logins of one account (from anywhere) before its logins are slowed down.
    pub slowdown_after: u32,
    /// The first slowdown; it doubles with each further failure.
    pub slowdown_base: Duration,
    /// The longest slowdown.
    pub slowdown_max: Duration,
    /// The throttle window.
    pub throttle_window: Duration,
    /// How long an attempt may wait for the verdicts of attempts before it (see
    /// [`Throttled::Busy`]) before it is refused.
    pub busy_wait: Duration,
    /// Whether anyone may register (`NESTEGG_REGISTRATION`).
    pub registration_open: bool,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            session_max_age: Duration::from_secs(90 * 24 * 3600),
            session_check_ttl: Duration::from_secs(5),
            failures_per_pair: 5,
            failures_per_address: 50,
            slowdown_after: 5,
            slowdown_base: Duration::from_millis(500),
            slowdown_max: Duration::from_secs(8),
            throttle_window: Duration::from_secs(15 * 60),
            busy_wait: Duration::from_secs(10),
            registration_open: true,
        }
    }
}

impl AuthPolicy {
    /// The slowdown of a login whose account has had `failures` failed logins this window:
    /// none up to [`AuthPolicy::slowdown_after`], then the base, doubling, up to the maximum.
    #[must_use]
    pub fn slowdown(&self, failures: u32) -> Duration {
        match failures.checked_sub(self.slowdown_after) {
            None => Duration::ZERO,
            Some(over) => self
                .slowdown_base
                .saturating_mul(1u32 << over.min(16))
                .min(self.slowdown_max),
        }
    }
}

/// How often an attempt asks again while attempts before it are being judged.
const BUSY_POLL: Duration = Duration::from_millis(20);

/// What login and refresh return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// Bearer token for API calls.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use token for `POST /auth/refresh`.
    pub refresh_token: String,
}

/// Registration input, unvalidated.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Email address.
    pub email: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Profile changes, unvalidated; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    /// New username.
    pub username: Option<String>,
    /// New preferences (replace the old ones whole).
    pub preferences: Option<serde_json::Value>,
}

/// The ports the auth use cases need.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct AuthPorts {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Refresh tokens.
    pub tokens: Arc<dyn RefreshTokenRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Access tokens.
    pub access: Arc<dyn AccessTokens>,
    /// Refresh-token generation and hashing.
    pub secrets: Arc<dyn SecretTokens>,
    /// Failed-login throttle.
    pub throttle: Arc<dyn LoginThrottle>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Cached reports, dropped when the base currency may change.
    pub cache: ReportCache,
}

/// Registration, login, refresh, logout and the user's own account.
#[allow(missing_debug_implementations)]
pub struct AuthService {
    ports: AuthPorts,
    policy: AuthPolicy,
    sessions: SessionCache,
    metrics: Arc<dyn Metrics>,
}

/// A refusal of the caller's credentials, with its stable code and message.
const fn unauthorized(code: &'static str, message: &'static str) -> AppError {
    AppError::Unauthorized { code, message }
}

const BAD_CREDENTIALS: AppError =
    unauthorized("invalid_credentials", "the login or password is wrong");
const BAD_REFRESH: AppError = unauthorized(
    "invalid_refresh_token",
    "the refresh token is invalid, expired or already used",
);
const REGISTRATION_CLOSED: AppError = AppError::Forbidden {
    code: "registration_closed",
    message: "this server does not accept new accounts",
};
const NOT_AUTHENTICATED: AppError = unauthorized("unauthorized", "authentication is required");
/// A missing, malformed or forged bearer token (the extractor answers it too, before a token is
/// even read).
pub const BAD_ACCESS: AppError = unauthorized("unauthorized", "a valid bearer token is required");
const EXPIRED_ACCESS: AppError =
    unauthorized("token_expired", "the access token has expired; refresh it");
const SESSION_ENDED: AppError =
    unauthorized("session_ended", "the session has ended; log in again");

impl AuthService {
    /// A service over these ports.
    #[must_use]
    pub fn new(ports: AuthPorts, policy: AuthPolicy) -> Self {
        Self {
            ports,
            policy,
            sessions: SessionCache::default(),
            metrics: Arc::new(NoMetrics),
        }
    }

    /// The same service, counting the throttle's refusals in `metrics`.
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// Whom a bearer token speaks for: it must be genuine, unexpired, and its session live.
    /// A session's state is read from the store at most once per
    /// [`AuthPolicy::session_check_ttl`] on this instance, and again at once after this
    /// instance ends it.
    ///
    /// # Errors
    /// [`AppError::Unauthorized`]: `unauthorized` (not genuine), `token_expired`,
    /// `session_ended` (logged out, password changed, reuse detected, lifetime over, user gone).
    pub async fn authenticate(&self, token: &str) -> Result<AccessClaims, AppError> {
        let now = self.ports.clock.now();
        let claims = self.ports.access.verify(token, now).map_err(|e| match e {
            TokenError::Expired => EXPIRED_ACCESS,
            TokenError::Invalid => BAD_ACCESS,
        })?;
        let (owner, live) = match self.sessions.get(claims.session_id, now) {
            Some(seen) => seen,
            None => {
                let session = self.ports.tokens.find_session(claims.session_id).await?;
                let (owner, live, ends) = match &session {
                    Some(s) => (s.user_id, s.is_live(now), s.expires_at),
                    None => (claims.user_id, false, now),
                };
                let recheck = now + chrono_duration(self.policy.session_check_ttl)?;
                // A live session is not trusted past its own end.
                let until = if live { recheck.min(ends) } else { recheck };
                self.sessions
                    .put(claims.session_id, owner, live, now, until);
                (owner, live)
            }
        };
        if live && owner == claims.user_id {
            Ok(claims)
        } else {
            Err(SESSION_ENDED)
        }
    }

    /// Creates a user with a hashed password.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] (`registration_closed`) when sign-ups are closed;
    /// [`AppError::Validation`] naming every bad field; [`AppError::Conflict`]
    /// (`email_taken`, `username_taken`) for a duplicate; [`AppError::Overloaded`] when too
    /// many passwords are already being hashed.
    pub async fn register(&self, input: Registration) -> Result<User, AppError> {
        if !self.policy.registration_open {
            return Err(REGISTRATION_CLOSED);
        }
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&input.email));
        let username = errors.check("username", Username::parse(&input.username));
        let password = errors.check("password", Password::parse(&input.password));
        valid!(errors; email, username, password);
        let password_hash = self.ports.hasher.hash(&password).await?;
        let user = NewUser {
            id: Uuid::now_v7(),
            email,
            username,
            password_hash,
            preferences: Preferences::default(),
            now: self.ports.clock.now(),
        };
        self.ports.users.create(user).await.map_err(duplicate)
    }

    /// Exchanges a login (email or username) and password for a token pair.
    ///
    /// The attempt is counted (pending) before the password is checked, so parallel guesses
    /// count too; a right password then takes it back from every counter, a wrong one makes
    /// it a failure. See [`AuthPolicy`] for the counters.
    ///
    /// # Errors
    /// [`AppError::RateLimited`] after too many failures for this account from this address,
    /// or from this address; [`AppError::Unauthorized`] (`invalid_credentials`) for any wrong
    /// login or password; [`AppError::Overloaded`] when too many logins are queued.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client_address: Option<&str>,
    ) -> Result<TokenPair, AppError> {
        let login = login.trim().to_lowercase();
        let user = self.ports.users.find_by_login(&login).await?;
        // Count per account when there is one, so `ada` and `ada@example.com` share counters.
        let account = match &user {
            Some(u) => format!("user:{}", u.id),
            None => format!("login:{}", login.chars().take(254).collect::<String>()),
        };
        // Without an address (not over TCP) every such caller shares one address counter.
        let address = client_address.unwrap_or("unknown");
        let keys = [
            self.key(
                format!("pair:{account}|{address}"),
                self.policy.failures_per_pair,
            ),
            self.key(format!("addr:{address}"), self.policy.failures_per_address),
            self.key(account, ThrottleKey::NO_LIMIT),
        ];
        let failures = self.admit(&keys, ThrottleCheck::Login).await?;
        let slowdown = self.policy.slowdown(failures.get(2).copied().unwrap_or(0));
        if !slowdown.is_zero() {
            self.ports.throttle.pause(slowdown).await;
        }

        // Verify against a dummy hash when the user is unknown, so both failures cost the same.
        let hash = user.as_ref().map_or_else(
            || self.ports.hasher.dummy_hash(),
            |u| u.password_hash.clone(),
        );
        let matches = self.verify(password, &hash, &keys).await? && user.is_some();
        if !matches {
            self.ports
                .throttle
                .fail(&keys, self.ports.clock.now())
                .await;
            return Err(BAD_CREDENTIALS);
        }
        // A right password never counts against anyone, even for an inactive account.
        self.forgive(&keys).await;
        match user {
            Some(user) if user.is_active => self.start_session(user.id).await,
            _ => Err(BAD_CREDENTIALS),
        }
    }

    /// Whether `password` matches `hash`. A password the hasher could not judge (its queue is
    /// full, say) must not count as a failure: its attempt on `keys` is forgiven and the
    /// hasher's error passed on.
    async fn verify(
        &self,
        password: &str,
        hash: &str,
        keys: &[ThrottleKey],
    ) -> Result<bool, AppError> {
        match self.ports.hasher.verify(password, hash).await {
            Ok(matches) => Ok(matches),
            Err(e) => {
                self.forgive(keys).await;
                Err(e.into())
            }
        }
    }

    /// Takes back the attempt on each of `keys`.
    async fn forgive(&self, keys: &[ThrottleKey]) {
        self.ports
            .throttle
            .forgive(keys, self.ports.clock.now())
            .await;
    }

    fn key(&self, key: String, max_failures: u32) -> ThrottleKey {
        ThrottleKey {
            key,
            max_failures,
            window: self.policy.throttle_window,
        }
    }

    /// Counts an attempt against `keys`, waiting (up to [`AuthPolicy::busy_wait`]) while
    /// attempts before it are being judged; returns each key's failures.
    async fn admit(
        &self,
        keys: &[ThrottleKey],
        check: ThrottleCheck,
    ) -> Result<Vec<u32>, AppError> {
        let mut waited = Duration::ZERO;
        loop {
            match self
                .ports
                .throttle
                .acquire(keys, self.ports.clock.now())
                .await
            {
                Ok(failures) => return Ok(failures),
                Err(Throttled::Refused { retry_after }) => {
                    self.metrics.throttle_refused(check, ThrottleRefusal::Limit);
                    return Err(AppError::RateLimited { retry_after });
                }
                Err(Throttled::Busy) if waited < self.policy.busy_wait => {
                    self.ports.throttle.pause(BUSY_POLL).await;
                    waited += BUSY_POLL;
                }
                Err(Throttled::Busy) => {
                    self.metrics.throttle_refused(check, ThrottleRefusal::Busy);
                    return Err(AppError::RateLimited {
                        retry_after: Duration::from_secs(1),
                    });
                }
            }
        }
    }

    /// Exchanges a refresh token for a new pair. The token is spent; presenting a spent or
    /// revoked token again revokes its whole family (every token rotated from that login).
    ///
    /// # Errors
    /// [`AppError::Unauthorized`] (`invalid_refresh_token`).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AppError> {
        let now = self.ports.clock.now();
        let hash = self.ports.secrets.hash(refresh_token);
        let Some(stored) = self.ports.tokens.find_by_hash(&hash).await? else {
            return Err(BAD_REFRESH);
        };
        if stored.used_at.is_some() || stored.revoked_at.is_some() {
            tracing::warn!(family = %stored.family_id, "refresh token reused; revoking its family");
            self.end_session(stored.family_id, now).await?;
            return Err(BAD_REFRESH);
        }
        if stored.expires_at <= now {
            return Err(BAD_REFRESH);
        }
        let Some(session) = self.ports.tokens.find_session(stored.family_id).await? else {
            return Err(BAD_REFRESH);
        };
        if !session.is_live(now) {
            return Err(BAD_REFRESH);
        }
        match self.ports.users.find_by_id(stored.user_id).await? {
            Some(user) if user.is_active => {}
            _ => return Err(BAD_REFRESH),
        }
        let (next_plain, next) =
            self.new_refresh_token(stored.user_id, stored.family_id, session.expires_at)?;
        match self.ports.tokens.rotate(stored.id, now, next).await? {
            Rotation::Rotated => {}
            // Another request spent it first: treat as reuse.
            Rotation::AlreadySpent => {
                self.end_session(stored.family_id, now).await?;
                return Err(BAD_REFRESH);
            }
            // Ended (or expired) since it was read above.
            Rotation::SessionEnded => return Err(BAD_REFRESH),
        }
        let claims = AccessClaims {
            user_id: stored.user_id,
            session_id: stored.family_id,
        };
        let access = self.ports.access.issue(claims, now)?;
        Ok(TokenPair {
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token: next_plain,
        })
    }

    /// Ends the caller's session (the one its access token names, as checked by
    /// [`AuthService::authenticate`]) and the session of `refresh_token` when it is this user's.
    /// Unknown tokens and other users' tokens are ignored, so logout always succeeds and reveals
    /// nothing.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn logout(&self, caller: AccessClaims, refresh_token: &str) -> Result<(), AppError> {
        let now = self.ports.clock.now();
        self.end_session(caller.session_id, now).await?;
        let hash = self.ports.secrets.hash(refresh_token);
        if let Some(stored) = self.ports.tokens.find_by_hash(&hash).await?
            && stored.user_id == caller.user_id
            && stored.family_id != caller.session_id
        {
            self.end_session(stored.family_id, now).await?;
        }
        Ok(())
    }

    /// The user an access token belongs to.
    ///
    /// # Errors
    /// [`AppError::Unauthorized`] when the user no longer exists or is inactive.
    pub async fn me(&self, user_id: Uuid) -> Result<User, AppError> {
        match self.ports.users.find_by_id(user_id).await? {
            Some(user) if user.is_active => Ok(user),
            _ => Err(NOT_AUTHENTICATED),
        }
    }

    /// Changes the username and/or preferences.
    ///
    /// # Errors
    /// [`AppError::Validation`]; [`AppError::Conflict`] (`username_taken`).
    pub async fn update_profile(
        &self,
        user_id: Uuid,
        change: ProfileChange,
    ) -> Result<User, AppError> {
        let mut errors = FieldErrors::default();
        let username = errors.check_given("username", change.username, |u| Username::parse(&u));
        let preferences = errors.check_given("preferences", change.preferences, Preferences::parse);
        errors.finish()?;
        self.me(user_id).await?;
        let updated = self
            .ports
            .users
            .update_profile(user_id, username, preferences, self.ports.clock.now())
            .await
            .map_err(duplicate);
        // Reports are in the base currency, which preferences hold.
        self.ports.cache.after_write(user_id, updated).await
    }

    /// Replaces the password after checking the current one; ends every session of the user,
    /// the caller's too.
    ///
    /// # Errors
    /// [`AppError::Validation`] for a bad new password or a wrong current one;
    /// [`AppError::RateLimited`] after repeated wrong current passwords.
    pub async fn change_password(
        &self,
        user_id: Uuid,
        current: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        let new = errors.check("new_password", Password::parse(new));
        errors.finish()?;
        let user = self
            .confirm_password(user_id, current, "current_password")
            .await?;
        let Some(new) = new else {
            return Err(AppError::Unexpected(anyhow::anyhow!(
                "validated field missing"
            )));
        };
        let hash = self.ports.hasher.hash(&new).await?;
        self.ports
            .users
            .change_password(user.id, hash, self.ports.clock.now())
            .await?;
        self.sessions.forget_user(user.id);
        Ok(())
    }

    /// Deletes the user and all they own, after checking the password.
    ///
    /// # Errors
    /// [`AppError::Validation`] for a wrong password; [`AppError::RateLimited`].
    pub async fn delete_account(&self, user_id: Uuid, password: &str) -> Result<(), AppError> {
        let user = self.confirm_password(user_id, password, "password").await?;
        self.ports.users.delete(user.id).await?;
        // The sessions went with the user.
        self.sessions.forget_user(user.id);
        Ok(())
    }

    async fn confirm_password(
        &self,
        user_id: Uuid,
        password: &str,
        field: &str,
    ) -> Result<User, AppError> {
        let user = self.me(user_id).await?;
        let key = [self.key(format!("confirm:{user_id}"), self.policy.failures_per_pair)];
        self.admit(&key, ThrottleCheck::PasswordConfirmation)
            .await?;
        if self.verify(password, &user.password_hash, &key).await? {
            self.forgive(&key).await;
            Ok(user)
        } else {
            self.ports.throttle.fail(&key, self.ports.clock.now()).await;
            Err(AppError::Validation(
                [(field.to_owned(), "the password is wrong".to_owned())].into(),
            ))
        }
    }

    /// Ends a session in the store, and here at once.
    async fn end_session(&self, session_id: Uuid, now: DateTime<Utc>) -> Result<(), AppError> {
        self.ports.tokens.revoke_family(session_id, now).await?;
        self.sessions.forget(session_id);
        Ok(())
    }

    /// Begins a session for `user_id` and issues its first pair.
    async fn start_session(&self, user_id: Uuid) -> Result<TokenPair, AppError> {
        let now = self.ports.clock.now();
        let session = NewSession {
            id: Uuid::now_v7(),
            user_id,
            expires_at: now + chrono_duration(self.policy.session_max_age)?,
            created_at: now,
        };
        let (plain, record) = self.new_refresh_token(user_id, session.id, session.expires_at)?;
        let claims = AccessClaims {
            user_id,
            session_id: session.id,
        };
        self.ports.tokens.start(session, record).await?;
        let access = self.ports.access.issue(claims, now)?;
        Ok(TokenPair {
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token: plain,
        })
    }

    /// A refresh token of the session `family_id`, expiring no later than the session.
    fn new_refresh_token(
        &self,
        user_id: Uuid,
        family_id: Uuid,
        session_ends: DateTime<Utc>,
    ) -> Result<(String, NewRefreshToken), AppError> {
        let now = self.ports.clock.now();
        let plain = self.ports.secrets.generate()?;
        let record = NewRefreshToken {
            id: Uuid::now_v7(),
            user_id,
            family_id,
            token_hash: self.ports.secrets.hash(&plain),
            expires_at: (now + chrono_duration(self.policy.refresh_ttl)?).min(session_ends),
            created_at: now,
        };
        Ok((plain, record))
    }
}

fn chrono_duration(d: Duration) -> Result<chrono::Duration, AppError> {
    chrono::Duration::from_std(d).map_err(|e| AppError::Unexpected(e.into()))
}

fn duplicate(err: RepoError) -> AppError {
    match err {
        RepoError::Conflict(Conflict::Email) => AppError::Conflict {
            code: "email_taken",
            message: "an account with this email already exists".into(),
            field: Some("email"),
        },
        RepoError::Conflict(Conflict::Username) => AppError::Conflict {
            code: "username_taken",
            message: "this username is taken".into(),
            field: Some("username"),
        },
        other => other.into(),
    }
}

#[cfg(test)]
mod tests;
