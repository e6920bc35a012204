#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mockall::predicate::eq;
use nestegg_ports::cache::MockCache;
use nestegg_ports::security::{
    IssuedAccessToken, MockAccessTokens, MockPasswordHasher, MockSecretTokens,
};
use nestegg_ports::throttle::MockLoginThrottle;
use nestegg_ports::token::MockRefreshTokenRepository;
use nestegg_ports::user::MockUserRepository;
use nestegg_ports::{Conflict, RefreshToken, RepoError, SecurityError, Session, TokenError};
use uuid::Uuid;

use super::*;
use crate::test_support::{
    Counted, Recorded, Seen, clock, expect_invalidations, invalid_fields, now, refusal,
    report_cache, user, user_from,
};

struct Mocks {
    users: MockUserRepository,
    tokens: MockRefreshTokenRepository,
    hasher: MockPasswordHasher,
    access: MockAccessTokens,
    secrets: MockSecretTokens,
    throttle: MockLoginThrottle,
    cache: MockCache,
}

impl Mocks {
    fn new() -> Self {
        let mut secrets = MockSecretTokens::new();
        secrets
            .expect_generate()
            .returning(|| Ok("plain-refresh".into()));
        secrets.expect_hash().returning(|t| format!("hash({t})"));
        let mut access = MockAccessTokens::new();
        access.expect_issue().returning(|_, _| {
            Ok(IssuedAccessToken {
                token: "access".into(),
                expires_in: 900,
            })
        });
        Self {
            users: MockUserRepository::new(),
            tokens: MockRefreshTokenRepository::new(),
            hasher: MockPasswordHasher::new(),
            access,
            secrets,
            throttle: MockLoginThrottle::new(),
            cache: MockCache::new(),
        }
    }

    /// The store knows `user` by id; returns the id.
    fn knowing(&mut self, user: User) -> Uuid {
        let id = user.id;
        self.users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(user.clone())));
        id
    }

    fn service(self) -> AuthService {
        AuthService::new(
            AuthPorts {
                users: Arc::new(self.users),
                tokens: Arc::new(self.tokens),
                hasher: Arc::new(self.hasher),
                access: Arc::new(self.access),
                secrets: Arc::new(self.secrets),
                throttle: Arc::new(self.throttle),
                clock: Arc::new(clock()),
                cache: report_cache(self.cache),
            },
            AuthPolicy::default(),
        )
    }
}

/// A live session of `user_id` that began now and lasts 90 days.
fn session_of(user_id: Uuid, id: Uuid) -> Session {
    Session {
        id,
        user_id,
        expires_at: now() + chrono::Duration::days(90),
        revoked_at: None,
        created_at: now(),
    }
}

impl Mocks {
    /// The store holds `session` as it is when asked.
    fn holding(&mut self, session: Session) {
        let id = session.id;
        self.tokens
            .expect_find_session()
            .with(eq(id))
            .returning(move |_| Ok(Some(session.clone())));
    }

    /// The access token "bearer" is genuine and speaks for `claims`.
    fn bearing(&mut self, claims: AccessClaims) {
        self.access
            .expect_verify()
            .withf(|token, _| token == "bearer")
            .returning(move |_, _| Ok(claims));
    }

    /// The refresh token "old" is presented and the store holds `token` for its hash.
    fn presenting(&mut self, token: RefreshToken) {
        self.tokens
            .expect_find_by_hash()
            .with(eq("hash(old)"))
            .returning(move |_| Ok(Some(token.clone())));
    }

    /// The session (token family) `family` is ended exactly once, now.
    fn ending_once(&mut self, family: Uuid) {
        self.tokens
            .expect_revoke_family()
            .with(eq(family), eq(now()))
            .times(1)
            .returning(|_, _| Ok(()));
    }

    /// The throttle lets an attempt through, with these failures counted so far per key.
    fn admitting(&mut self, failures: Vec<u32>) {
        self.throttle
            .expect_acquire()
            .returning(move |_, _| Ok(failures.clone()));
    }

    /// The password given is right: the attempt is let through and forgiven.
    fn confirming_password(&mut self) {
        self.admitting(vec![0, 0, 0]);
        self.throttle.expect_forgive().return_const(());
        self.hasher.expect_verify().returning(|_, _| Ok(true));
    }
}

/// ada signing up with this email and a good password.
fn signing_up(email: &str) -> Registration {
    Registration {
        email: email.into(),
        username: "ada".into(),
        password: "correct horse battery".into(),
    }
}

fn claims_of(user_id: Uuid) -> AccessClaims {
    AccessClaims {
        user_id,
        session_id: Uuid::now_v7(),
    }
}

fn stored_token(user_id: Uuid) -> RefreshToken {
    RefreshToken {
        id: Uuid::now_v7(),
        user_id,
        family_id: Uuid::now_v7(),
        token_hash: "hash(old)".into(),
        expires_at: now() + chrono::Duration::days(1),
        used_at: None,
        revoked_at: None,
        created_at: now(),
    }
}

#[tokio::test]
async fn registration_reports_every_invalid_field_at_once_and_stores_nothing() {
    let mut m = Mocks::new();
    m.users.expect_create().never();
    m.hasher.expect_hash().never();
    let err = m
        .service()
        .register(Registration {
            email: "not-an-email".into(),
            username: "A".into(),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(invalid_fields(err), ["email", "password", "username"]);
}

#[tokio::test]
async fn registration_stores_the_lower_cased_email_and_the_hash_not_the_password() {
    let mut m = Mocks::new();
    m.hasher
        .expect_hash()
        .returning(|p| Ok(format!("bcrypt({})", p.expose().len())));
    m.users.expect_create().returning(|new| {
        assert_eq!(new.email.as_str(), "ada@example.com");
        assert_eq!(new.password_hash, "bcrypt(21)");
        Ok(user_from(&new))
    });
    let user = m
        .service()
        .register(signing_up("Ada@Example.com"))
        .await
        .unwrap();
    assert_eq!(user.username.as_str(), "ada");
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_naming_the_field() {
    let mut m = Mocks::new();
    m.hasher.expect_hash().returning(|_| Ok("h".into()));
    m.users
        .expect_create()
        .returning(|_| Err(RepoError::Conflict(Conflict::Email)));
    let err = m
        .service()
        .register(signing_up("ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), ("conflict", "email_taken"));
    assert!(matches!(
        err,
        AppError::Conflict {
            field: Some("email"),
            ..
        }
    ));
}

/// The three keys of ada's login from 203.0.113.7: pair, address, account.
fn login_keys(id: Uuid) -> [String; 3] {
    [
        format!("pair:user:{id}|203.0.113.7"),
        "addr:203.0.113.7".to_owned(),
        format!("user:{id}"),
    ]
}

fn keys_are(keys: &[ThrottleKey], expected: &[String; 3]) -> bool {
    keys.iter()
        .map(|k| k.key.as_str())
        .eq(expected.iter().map(String::as_str))
}

/// The store knows `user` by login; the hasher accepts only "right".
fn knowing_ada_by_login(m: &mut Mocks, user: User) {
    m.users
        .expect_find_by_login()
        .returning(move |_| Ok(Some(user.clone())));
    m.hasher
        .expect_dummy_hash()
        .return_const("dummy".to_owned());
    m.hasher
        .expect_verify()
        .returning(|p, h| Ok(p == "right" && h == "hash-of-right"));
}

#[tokio::test]
async fn logging_in_as_an_unknown_user_still_verifies_a_hash_and_counts_a_failure() {
    let mut m = Mocks::new();
    m.throttle
        .expect_acquire()
        .withf(|keys, _| {
            keys.len() == 3
                && keys[0].key == "pair:login:nobody@example.com|203.0.113.7"
                && keys[2].key == "login:nobody@example.com"
        })
        .times(1)
        .returning(|_, _| Ok(vec![0, 0, 0]));
    m.throttle.expect_fail().times(1).return_const(());
    m.throttle.expect_forgive().never();
    m.users
        .expect_find_by_login()
        .with(eq("nobody@example.com"))
        .returning(|_| Ok(None));
    m.hasher
        .expect_dummy_hash()
        .return_const("dummy".to_owned());
    m.hasher
        .expect_verify()
        .withf(|_, hash| hash == "dummy")
        .times(1)
        .returning(|_, _| Ok(false));
    let err = m
        .service()
        .login(
            "NoBody@example.com",
            "whatever-password",
            Some("203.0.113.7"),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), ("unauthorized", "invalid_credentials"));
}

/// Logs in as somebody unknown while the throttle answers `throttled`, and checks that the
/// login is refused with a wait of `seconds`, before any password check, and counted as
/// `counted`.
async fn refused_login(mut m: Mocks, throttled: Throttled, seconds: u64, counted: ThrottleRefusal) {
    m.throttle
        .expect_acquire()
        .returning(move |_, _| Err(throttled));
    m.users.expect_find_by_login().returning(|_| Ok(None));
    m.hasher.expect_verify().never();
    let recorded = Arc::new(Recorded::default());
    let service = m.service().with_metrics(recorded.clone());
    let err = service.login("ada", "pw", None).await.unwrap_err();
    assert!(
        matches!(err, AppError::RateLimited { retry_after } if retry_after.as_secs() == seconds)
    );
    assert_eq!(
        recorded.calls(),
        [Counted::Refused(ThrottleCheck::Login, counted)]
    );
}

#[tokio::test]
async fn a_throttled_login_is_refused_before_any_password_check() {
    let mut m = Mocks::new();
    m.throttle.expect_fail().never();
    let throttled = Throttled::Refused {
        retry_after: Duration::from_secs(42),
    };
    refused_login(m, throttled, 42, ThrottleRefusal::Limit).await;
}

#[tokio::test]
async fn a_successful_login_stores_only_the_refresh_token_hash_and_takes_back_its_attempt_everywhere()
 {
    let mut m = Mocks::new();
    let user = user();
    let id = user.id;
    let keys = login_keys(id);
    let expected = keys.clone();
    m.throttle
        .expect_acquire()
        .withf(move |k, _| keys_are(k, &expected))
        .returning(|_, _| Ok(vec![0, 0, 0]));
    m.throttle
        .expect_forgive()
        .withf(move |k, _| keys_are(k, &keys))
        .times(1)
        .return_const(());
    m.throttle.expect_fail().never();
    m.throttle.expect_pause().never();
    knowing_ada_by_login(&mut m, user);
    m.tokens
        .expect_start()
        .withf(move |s, t| {
            s.user_id == id && t.user_id == id && t.token_hash == "hash(plain-refresh)"
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let pair = m
        .service()
        .login("ada", "right", Some("203.0.113.7"))
        .await
        .unwrap();
    assert_eq!(pair.refresh_token, "plain-refresh");
    assert_eq!(pair.access_token, "access");
}

#[tokio::test]
async fn a_wrong_password_fails_the_attempt_on_every_counter_and_forgives_nothing() {
    let mut m = Mocks::new();
    let user = user();
    let keys = login_keys(user.id);
    m.admitting(vec![0, 0, 0]);
    m.throttle
        .expect_fail()
        .withf(move |k, _| keys_are(k, &keys))
        .times(1)
        .return_const(());
    m.throttle.expect_forgive().never();
    knowing_ada_by_login(&mut m, user);
    let err = m
        .service()
        .login("ada", "wrong", Some("203.0.113.7"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Unauthorized { .. }));
}

#[tokio::test]
async fn an_account_under_attack_slows_its_logins_down_but_lets_the_right_password_in() {
    let mut m = Mocks::new();
    let user = user();
    // Seven failures of the account from elsewhere: two past the five free ones.
    m.admitting(vec![0, 0, 7]);
    m.throttle
        .expect_pause()
        .with(eq(Duration::from_secs(2)))
        .times(1)
        .return_const(());
    m.throttle.expect_forgive().times(1).return_const(());
    knowing_ada_by_login(&mut m, user);
    m.tokens.expect_start().returning(|_, _| Ok(()));
    assert!(
        m.service()
            .login("ada", "right", Some("203.0.113.7"))
            .await
            .is_ok()
    );
}

#[test]
fn the_slowdown_starts_after_five_failures_and_doubles_up_to_eight_seconds() {
    let policy = AuthPolicy::default();
    let ms = |failures| policy.slowdown(failures).as_millis();
    assert_eq!(
        [0, 4, 5, 6, 7, 8, 9, 10, 1_000, u32::MAX].map(ms),
        [0, 0, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000]
    );
}

#[tokio::test]
async fn an_attempt_waits_while_earlier_ones_are_judged_then_goes_ahead() {
    let mut m = Mocks::new();
    let user = user();
    let mut answers = vec![
        Err(Throttled::Busy),
        Err(Throttled::Busy),
        Ok(vec![0, 0, 0]),
    ];
    m.throttle
        .expect_acquire()
        .times(3)
        .returning(move |_, _| answers.remove(0));
    m.throttle
        .expect_pause()
        .with(eq(BUSY_POLL))
        .times(2)
        .return_const(());
    m.throttle.expect_forgive().times(1).return_const(());
    knowing_ada_by_login(&mut m, user);
    m.tokens.expect_start().returning(|_, _| Ok(()));
    assert!(m.service().login("ada", "right", None).await.is_ok());
}

#[tokio::test]
async fn an_attempt_kept_waiting_too_long_is_refused_for_a_second() {
    let mut m = Mocks::new();
    m.throttle.expect_pause().return_const(());
    refused_login(m, Throttled::Busy, 1, ThrottleRefusal::Busy).await;
}

#[tokio::test]
async fn a_login_the_hasher_is_too_busy_to_judge_is_forgiven_not_failed() {
    let mut m = Mocks::new();
    m.users.expect_find_by_login().returning(|_| Ok(None));
    m.admitting(vec![0, 0, 0]);
    m.hasher
        .expect_dummy_hash()
        .return_const("dummy".to_owned());
    m.hasher.expect_verify().returning(|_, _| {
        Err(SecurityError::Busy {
            retry_after: Duration::from_secs(2),
        })
    });
    m.throttle.expect_forgive().times(1).return_const(());
    m.throttle.expect_fail().never();
    let err = m.service().login("ada", "pw", None).await.unwrap_err();
    assert!(matches!(err, AppError::Overloaded { retry_after } if retry_after.as_secs() == 2));
}

#[tokio::test]
async fn closed_registration_is_refused_before_any_hashing() {
    let mut m = Mocks::new();
    m.hasher.expect_hash().never();
    m.users.expect_create().never();
    let mut service = m.service();
    service.policy.registration_open = false;
    let err = service
        .register(signing_up("ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), ("forbidden", "registration_closed"));
}

#[tokio::test]
async fn a_sign_up_the_hasher_is_too_busy_for_is_overloaded_and_stores_nothing() {
    let mut m = Mocks::new();
    m.hasher.expect_hash().returning(|_| {
        Err(SecurityError::Busy {
            retry_after: Duration::from_secs(2),
        })
    });
    m.users.expect_create().never();
    let err = m
        .service()
        .register(signing_up("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Overloaded { .. }));
}

#[tokio::test]
async fn presenting_a_spent_refresh_token_revokes_its_whole_family() {
    let mut m = Mocks::new();
    let mut spent = stored_token(Uuid::now_v7());
    spent.used_at = Some(now());
    let family = spent.family_id;
    m.presenting(spent);
    m.ending_once(family);
    m.tokens.expect_rotate().never();
    let err = m.service().refresh("old").await.unwrap_err();
    assert_eq!(refusal(&err), ("unauthorized", "invalid_refresh_token"));
}

#[tokio::test]
async fn losing_a_rotation_race_counts_as_reuse() {
    let mut m = Mocks::new();
    let user = user();
    let token = stored_token(user.id);
    let family = token.family_id;
    m.presenting(token);
    m.holding(session_of(user.id, family));
    m.knowing(user);
    m.tokens
        .expect_rotate()
        .returning(|_, _, _| Ok(Rotation::AlreadySpent));
    m.ending_once(family);
    assert!(m.service().refresh("old").await.is_err());
}

#[tokio::test]
async fn a_valid_refresh_rotates_within_the_same_family() {
    let mut m = Mocks::new();
    let user = user();
    let token = stored_token(user.id);
    let (spent_id, family) = (token.id, token.family_id);
    m.presenting(token);
    m.holding(session_of(user.id, family));
    let user_id = user.id;
    m.knowing(user);
    m.tokens
        .expect_rotate()
        .withf(move |spent, _, next| *spent == spent_id && next.family_id == family)
        .times(1)
        .returning(|_, _, _| Ok(Rotation::Rotated));
    m.access.checkpoint();
    m.access
        .expect_issue()
        .withf(move |c, _| c.user_id == user_id && c.session_id == family)
        .times(1)
        .returning(|_, _| {
            Ok(IssuedAccessToken {
                token: "access".into(),
                expires_in: 900,
            })
        });
    let pair = m.service().refresh("old").await.unwrap();
    assert_eq!(pair.refresh_token, "plain-refresh");
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused_without_rotation() {
    let mut m = Mocks::new();
    let mut token = stored_token(Uuid::now_v7());
    token.expires_at = now();
    m.presenting(token);
    m.tokens.expect_rotate().never();
    assert!(m.service().refresh("old").await.is_err());
}

#[tokio::test]
async fn logging_out_with_another_users_token_ends_only_the_callers_own_session() {
    let mut m = Mocks::new();
    let token = stored_token(Uuid::now_v7());
    let caller = claims_of(Uuid::now_v7());
    m.presenting(token);
    m.ending_once(caller.session_id);
    m.service().logout(caller, "old").await.unwrap();
}

#[tokio::test]
async fn a_login_starts_a_session_of_the_configured_lifetime_named_by_the_access_token() {
    let mut m = Mocks::new();
    let user = user();
    let id = user.id;
    m.admitting(vec![0, 0, 0]);
    m.throttle.expect_forgive().return_const(());
    knowing_ada_by_login(&mut m, user);
    let started = Seen::new();
    let keep = started.handle();
    m.tokens.expect_start().times(1).returning(move |s, t| {
        keep.keep((s, t));
        Ok(())
    });
    let issued = Seen::new();
    let keep = issued.handle();
    m.access.checkpoint();
    m.access.expect_issue().times(1).returning(move |c, _| {
        keep.keep(c);
        Ok(IssuedAccessToken {
            token: "access".into(),
            expires_in: 900,
        })
    });
    m.service().login("ada", "right", None).await.unwrap();
    let (session, first) = started.take();
    assert_eq!(session.expires_at, now() + chrono::Duration::days(90));
    assert_eq!(first.family_id, session.id);
    assert_eq!(first.expires_at, now() + chrono::Duration::days(30));
    assert_eq!(
        issued.take(),
        AccessClaims {
            user_id: id,
            session_id: session.id
        }
    );
}

#[tokio::test]
async fn a_refresh_after_the_sessions_absolute_lifetime_is_refused_without_rotation() {
    let mut m = Mocks::new();
    let token = stored_token(Uuid::now_v7());
    let mut session = session_of(token.user_id, token.family_id);
    session.expires_at = now();
    m.holding(session);
    m.presenting(token);
    m.tokens.expect_rotate().never();
    m.tokens.expect_revoke_family().never();
    let err = m.service().refresh("old").await.unwrap_err();
    assert_eq!(refusal(&err), ("unauthorized", "invalid_refresh_token"));
}

#[tokio::test]
async fn a_refreshed_token_expires_no_later_than_its_session() {
    let mut m = Mocks::new();
    let user = user();
    let token = stored_token(user.id);
    let mut session = session_of(user.id, token.family_id);
    session.expires_at = now() + chrono::Duration::days(2);
    m.holding(session);
    m.presenting(token);
    m.knowing(user);
    m.tokens
        .expect_rotate()
        .withf(|_, _, next| next.expires_at == now() + chrono::Duration::days(2))
        .times(1)
        .returning(|_, _, _| Ok(Rotation::Rotated));
    m.service().refresh("old").await.unwrap();
}

#[tokio::test]
async fn a_refresh_whose_session_ended_meanwhile_is_refused() {
    let mut m = Mocks::new();
    let user = user();
    let token = stored_token(user.id);
    m.holding(session_of(user.id, token.family_id));
    m.presenting(token);
    m.knowing(user);
    m.tokens
        .expect_rotate()
        .returning(|_, _, _| Ok(Rotation::SessionEnded));
    m.access.checkpoint();
    m.access.expect_issue().never();
    let err = m.service().refresh("old").await.unwrap_err();
    assert_eq!(refusal(&err), ("unauthorized", "invalid_refresh_token"));
}

#[tokio::test]
async fn an_access_token_of_a_live_session_names_its_user() {
    let mut m = Mocks::new();
    let claims = claims_of(Uuid::now_v7());
    m.bearing(claims);
    m.holding(session_of(claims.user_id, claims.session_id));
    assert_eq!(m.service().authenticate("bearer").await.unwrap(), claims);
}

#[tokio::test]
async fn an_access_token_of_an_ended_unknown_or_foreign_session_is_refused() {
    let owner = Uuid::now_v7();
    let mut revoked = session_of(owner, Uuid::now_v7());
    revoked.revoked_at = Some(now());
    let mut expired = session_of(owner, Uuid::now_v7());
    expired.expires_at = now();
    let foreign = session_of(Uuid::now_v7(), Uuid::now_v7());
    let unknown = Uuid::now_v7();
    for (session_id, stored) in [
        (revoked.id, Some(revoked)),
        (expired.id, Some(expired)),
        (foreign.id, Some(foreign)),
        (unknown, None),
    ] {
        let mut m = Mocks::new();
        m.bearing(AccessClaims {
            user_id: owner,
            session_id,
        });
        m.tokens
            .expect_find_session()
            .returning(move |_| Ok(stored.clone()));
        let err = m.service().authenticate("bearer").await.unwrap_err();
        assert_eq!(refusal(&err), ("unauthorized", "session_ended"));
    }
}

#[tokio::test]
async fn a_forged_or_expired_access_token_is_refused_before_any_session_lookup() {
    for (error, code) in [
        (TokenError::Invalid, "unauthorized"),
        (TokenError::Expired, "token_expired"),
    ] {
        let mut m = Mocks::new();
        m.access.expect_verify().returning(move |_, _| Err(error));
        m.tokens.expect_find_session().never();
        let err = m.service().authenticate("bearer").await.unwrap_err();
        assert_eq!(refusal(&err), ("unauthorized", code));
    }
}

#[tokio::test]
async fn a_sessions_state_is_read_once_within_the_check_window() {
    let mut m = Mocks::new();
    let claims = claims_of(Uuid::now_v7());
    m.bearing(claims);
    m.tokens
        .expect_find_session()
        .times(1)
        .returning(move |_| Ok(Some(session_of(claims.user_id, claims.session_id))));
    let service = m.service();
    for _ in 0..3 {
        service.authenticate("bearer").await.unwrap();
    }
    assert_eq!(service.sessions.len(), 1);
}

/// A user the store knows, and claims of theirs that the access token "bearer" speaks for.
fn known_bearer(m: &mut Mocks) -> AccessClaims {
    let user = user();
    let claims = claims_of(user.id);
    m.knowing(user);
    m.bearing(claims);
    claims
}

/// Authenticates with "bearer", does `act`, and checks that the same token is refused at once.
async fn refused_at_once_after(m: Mocks, act: impl AsyncFnOnce(&AuthService)) {
    let service = m.service();
    service.authenticate("bearer").await.unwrap();
    act(&service).await;
    let err = service.authenticate("bearer").await.unwrap_err();
    assert_eq!(refusal(&err), ("unauthorized", "session_ended"));
}

/// A store whose sessions of `claims.user_id` are live until `ended` is set.
fn ending_store(m: &mut Mocks, claims: AccessClaims, ended: &Arc<AtomicBool>) {
    let seen = Arc::clone(ended);
    m.tokens.expect_find_session().returning(move |id| {
        let mut session = session_of(claims.user_id, id);
        if seen.load(Ordering::SeqCst) {
            session.revoked_at = Some(now());
        }
        Ok(Some(session))
    });
}

#[tokio::test]
async fn after_logout_the_same_access_token_is_refused_at_once() {
    let mut m = Mocks::new();
    let claims = claims_of(Uuid::now_v7());
    m.bearing(claims);
    let ended = Arc::new(AtomicBool::new(false));
    ending_store(&mut m, claims, &ended);
    m.tokens.expect_find_by_hash().returning(|_| Ok(None));
    let flag = Arc::clone(&ended);
    m.tokens
        .expect_revoke_family()
        .with(eq(claims.session_id), eq(now()))
        .times(1)
        .returning(move |_, _| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
    refused_at_once_after(m, async |service| {
        service.logout(claims, "unknown").await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn after_a_password_change_the_same_access_token_is_refused_at_once() {
    let mut m = Mocks::new();
    let claims = known_bearer(&mut m);
    let ended = Arc::new(AtomicBool::new(false));
    ending_store(&mut m, claims, &ended);
    m.confirming_password();
    m.hasher.expect_hash().returning(|_| Ok("new-hash".into()));
    let flag = Arc::clone(&ended);
    m.users
        .expect_change_password()
        .times(1)
        .returning(move |_, _, _| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
    refused_at_once_after(m, async |service| {
        service
            .change_password(claims.user_id, "right", "a brand new password")
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn after_deleting_the_account_the_same_access_token_is_refused_at_once() {
    let mut m = Mocks::new();
    let claims = known_bearer(&mut m);
    let deleted = Arc::new(AtomicBool::new(false));
    let gone = Arc::clone(&deleted);
    m.tokens.expect_find_session().returning(move |id| {
        Ok((!gone.load(Ordering::SeqCst)).then(|| session_of(claims.user_id, id)))
    });
    m.confirming_password();
    let flag = Arc::clone(&deleted);
    m.users.expect_delete().times(1).returning(move |_| {
        flag.store(true, Ordering::SeqCst);
        Ok(())
    });
    refused_at_once_after(m, async |service| {
        service
            .delete_account(claims.user_id, "right")
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn deleting_the_account_with_a_wrong_password_deletes_nothing() {
    let mut m = Mocks::new();
    let id = m.knowing(user());
    m.throttle
        .expect_acquire()
        .times(1)
        .returning(|_, _| Ok(vec![0]));
    m.throttle.expect_fail().times(1).return_const(());
    m.throttle.expect_forgive().never();
    m.hasher.expect_verify().returning(|_, _| Ok(false));
    m.users.expect_delete().never();
    let err = m.service().delete_account(id, "wrong").await.unwrap_err();
    assert!(matches!(err, AppError::Validation(f) if f.contains_key("password")));
}

#[tokio::test]
async fn changing_the_password_stores_the_new_hash_through_the_atomic_port_call() {
    let mut m = Mocks::new();
    let id = m.knowing(user());
    m.admitting(vec![0]);
    m.throttle.expect_forgive().times(1).return_const(());
    m.hasher.expect_verify().returning(|p, _| Ok(p == "right"));
    m.hasher.expect_hash().returning(|_| Ok("new-hash".into()));
    m.users
        .expect_change_password()
        .withf(move |uid, hash, _| *uid == id && hash == "new-hash")
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.service()
        .change_password(id, "right", "a brand new password")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_profile_change_drops_the_users_cached_reports() {
    let mut m = Mocks::new();
    let user = user();
    let id = m.knowing(user.clone());
    m.users
        .expect_update_profile()
        .returning(move |_, _, _, _| Ok(user.clone()));
    expect_invalidations(&mut m.cache, id, 1);
    m.service()
        .update_profile(
            id,
            ProfileChange {
                username: None,
                preferences: Some(serde_json::json!({"base_currency": "EUR"})),
            },
        )
        .await
        .unwrap();
}
