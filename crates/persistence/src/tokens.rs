//! The session and refresh-token repository.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_ports::{
    NewRefreshToken, NewSession, RefreshToken, RefreshTokenRepository, RepoError, Rotation, Session,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait, Set};
use uuid::Uuid;

use crate::db::Db;
use crate::entity::{refresh_tokens, sessions};

/// Sessions and refresh tokens (hashes only) in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlRefreshTokenRepository {
    db: Db,
}

impl SqlRefreshTokenRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn active(token: NewRefreshToken) -> refresh_tokens::ActiveModel {
    refresh_tokens::ActiveModel {
        id: Set(token.id),
        user_id: Set(token.user_id),
        family_id: Set(token.family_id),
        token_hash: Set(token.token_hash),
        expires_at: Set(token.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(token.created_at),
        updated_at: Set(token.created_at),
    }
}

/// Ends a session inside `sql`'s transaction: the session row first, then its tokens, the
/// order [`SqlRefreshTokenRepository::rotate`] locks them in.
pub(crate) async fn end_sessions<C: sea_orm::ConnectionTrait>(
    sql: &crate::sql::Sql<'_, C>,
    which: sea_orm::sea_query::SimpleExpr,
    tokens: sea_orm::sea_query::SimpleExpr,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    use refresh_tokens::Column as T;
    use sessions::Column as S;
    revoke::<sessions::Entity, C>(sql, (S::RevokedAt, S::UpdatedAt), which, now).await?;
    revoke::<refresh_tokens::Entity, C>(sql, (T::RevokedAt, T::UpdatedAt), tokens, now).await
}

/// Revokes the rows of `E` that `which` selects and that are not revoked yet: sets their
/// `revoked_at` and `updated_at` columns (in that order) to `now`.
async fn revoke<E: EntityTrait, C: sea_orm::ConnectionTrait>(
    sql: &crate::sql::Sql<'_, C>,
    (revoked_at, updated_at): (E::Column, E::Column),
    which: sea_orm::sea_query::SimpleExpr,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let update = E::update_many()
        .col_expr(revoked_at, Expr::value(now))
        .col_expr(updated_at, Expr::value(now))
        .filter(which)
        .filter(revoked_at.is_null())
        .into_query();
    sql.exec_built(&update).await.map(drop)
}

#[async_trait]
impl RefreshTokenRepository for SqlRefreshTokenRepository {
    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn start(&self, session: NewSession, first: NewRefreshToken) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        let row = sessions::ActiveModel {
            id: Set(session.id),
            user_id: Set(session.user_id),
            expires_at: Set(session.expires_at),
            revoked_at: Set(None),
            created_at: Set(session.created_at),
            updated_at: Set(session.created_at),
        };
        sql.exec_built(&sessions::Entity::insert(row).into_query())
            .await?;
        sql.exec_built(&refresh_tokens::Entity::insert(active(first)).into_query())
            .await?;
        txn.commit().await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn find_session(&self, id: Uuid) -> Result<Option<Session>, RepoError> {
        let find = sessions::Entity::find_by_id(id).into_query();
        let found: Option<sessions::Model> = self.db.sql().opt_model(&find).await?;
        Ok(found.map(|m| Session {
            id: m.id,
            user_id: m.user_id,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
        }))
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn find_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>, RepoError> {
        let find = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
            .into_query();
        let found: Option<refresh_tokens::Model> = self.db.sql().opt_model(&find).await?;
        Ok(found.map(|m| RefreshToken {
            id: m.id,
            user_id: m.user_id,
            family_id: m.family_id,
            token_hash: m.token_hash,
            expires_at: m.expires_at,
            used_at: m.used_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
        }))
    }

    #[tracing::instrument(skip(self, next), err(level = "debug"))]
    async fn rotate(
        &self,
        spent: Uuid,
        now: DateTime<Utc>,
        next: NewRefreshToken,
    ) -> Result<Rotation, RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        // First a conditional update of the session row: it both checks that the session is
        // live and takes its row lock until commit. Ending a session updates the same row
        // first, so on PostgreSQL the two serialize: either the revocation waits and then also
        // revokes the token stored here, or this update waits, sees the revocation and stores
        // nothing. (SQLite has one writer at a time anyway.)
        let hold = sessions::Entity::update_many()
            .col_expr(sessions::Column::UpdatedAt, Expr::value(now))
            .filter(sessions::Column::Id.eq(next.family_id))
            .filter(sessions::Column::RevokedAt.is_null())
            .filter(sessions::Column::ExpiresAt.gt(now))
            .into_query();
        if sql.exec_built(&hold).await? != 1 {
            return Ok(Rotation::SessionEnded);
        }
        // The conditional update is the compare-and-set: of two concurrent refreshes with the
        // same token, exactly one sees a row affected.
        let spend = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
            .col_expr(refresh_tokens::Column::UpdatedAt, Expr::value(now))
            .filter(refresh_tokens::Column::Id.eq(spent))
            .filter(refresh_tokens::Column::FamilyId.eq(next.family_id))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .into_query();
        if sql.exec_built(&spend).await? != 1 {
            return Ok(Rotation::AlreadySpent);
        }
        let insert = refresh_tokens::Entity::insert(active(next)).into_query();
        sql.exec_built(&insert).await?;
        txn.commit().await?;
        Ok(Rotation::Rotated)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        end_sessions(
            &txn.sql(),
            sessions::Column::Id.eq(family_id),
            refresh_tokens::Column::FamilyId.eq(family_id),
            now,
        )
        .await?;
        txn.commit().await
    }
}
