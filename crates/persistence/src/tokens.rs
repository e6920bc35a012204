//! The refresh-token repository.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_ports::{NewRefreshToken, RefreshToken, RefreshTokenRepository, RepoError};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait, Set};
use uuid::Uuid;

use crate::db::Db;
use crate::entity::refresh_tokens;

/// Refresh tokens in the SQL database (hashes only).
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

#[async_trait]
impl RefreshTokenRepository for SqlRefreshTokenRepository {
    #[tracing::instrument(skip_all, err)]
    async fn insert(&self, token: NewRefreshToken) -> Result<(), RepoError> {
        let insert = refresh_tokens::Entity::insert(active(token)).into_query();
        self.db.sql().exec_built(&insert).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn find_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>, RepoError> {
        let find = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
            .into_query();
        let Some(row) = self.db.sql().opt_built(&find).await? else {
            return Ok(None);
        };
        let m: refresh_tokens::Model = row.model()?;
        Ok(Some(RefreshToken {
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

    #[tracing::instrument(skip(self, next), err)]
    async fn rotate(
        &self,
        spent: Uuid,
        now: DateTime<Utc>,
        next: NewRefreshToken,
    ) -> Result<bool, RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        // The conditional update is the compare-and-set: of two concurrent refreshes with the
        // same token, exactly one sees a row affected.
        let spend = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
            .col_expr(refresh_tokens::Column::UpdatedAt, Expr::value(now))
            .filter(refresh_tokens::Column::Id.eq(spent))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .into_query();
        if sql.exec_built(&spend).await? != 1 {
            return Ok(false);
        }
        let insert = refresh_tokens::Entity::insert(active(next)).into_query();
        sql.exec_built(&insert).await?;
        txn.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip(self), err)]
    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), RepoError> {
        let revoke = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
            .col_expr(refresh_tokens::Column::UpdatedAt, Expr::value(now))
            .filter(refresh_tokens::Column::FamilyId.eq(family_id))
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .into_query();
        self.db.sql().exec_built(&revoke).await?;
        Ok(())
    }
}
