//! The user repository.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_domain::{Email, Preferences, Username};
use nestegg_ports::{HealthProbe, NewUser, RepoError, User, UserRepository};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::db::Db;
use crate::entity::{refresh_tokens, users};
use crate::error::db_err;
use crate::sql::statement;

/// Users in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlUserRepository {
    db: Db,
}

impl SqlUserRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn to_user(m: users::Model) -> Result<User, RepoError> {
    let corrupt = |what: &str| RepoError::Unexpected(anyhow::anyhow!("stored {what} is invalid"));
    Ok(User {
        id: m.id,
        email: Email::parse(&m.email).map_err(|_| corrupt("email"))?,
        username: Username::parse(&m.username).map_err(|_| corrupt("username"))?,
        password_hash: m.hashed_password,
        is_active: m.is_active,
        is_verified: m.is_verified,
        preferences: Preferences::parse(m.preferences).map_err(|_| corrupt("preferences"))?,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

#[async_trait]
impl UserRepository for SqlUserRepository {
    #[tracing::instrument(skip_all, err)]
    async fn create(&self, user: NewUser) -> Result<User, RepoError> {
        let model = users::ActiveModel {
            id: Set(user.id),
            email: Set(user.email.as_str().to_owned()),
            username: Set(user.username.as_str().to_owned()),
            hashed_password: Set(user.password_hash),
            is_active: Set(true),
            is_verified: Set(false),
            preferences: Set(user.preferences.to_value()),
            created_at: Set(user.now),
            updated_at: Set(user.now),
        };
        let stored = model.insert(self.db.conn()).await.map_err(db_err)?;
        to_user(stored)
    }

    #[tracing::instrument(skip(self), err)]
    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepoError> {
        users::Entity::find_by_id(id)
            .one(self.db.conn())
            .await
            .map_err(db_err)?
            .map(to_user)
            .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, RepoError> {
        let column = if login.contains('@') {
            users::Column::Email
        } else {
            users::Column::Username
        };
        users::Entity::find()
            .filter(column.eq(login))
            .one(self.db.conn())
            .await
            .map_err(db_err)?
            .map(to_user)
            .transpose()
    }

    #[tracing::instrument(skip(self, username, preferences), err)]
    async fn update_profile(
        &self,
        id: Uuid,
        username: Option<Username>,
        preferences: Option<Preferences>,
        now: DateTime<Utc>,
    ) -> Result<User, RepoError> {
        let mut model = users::ActiveModel {
            id: Set(id),
            updated_at: Set(now),
            ..Default::default()
        };
        if let Some(u) = username {
            model.username = Set(u.as_str().to_owned());
        }
        if let Some(p) = preferences {
            model.preferences = Set(p.to_value());
        }
        match model.update(self.db.conn()).await {
            Ok(stored) => to_user(stored),
            Err(sea_orm::DbErr::RecordNotUpdated) => Err(RepoError::NotFound),
            Err(e) => Err(db_err(e)),
        }
    }

    #[tracing::instrument(skip(self, password_hash), err)]
    async fn change_password(
        &self,
        id: Uuid,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let updated = users::Entity::update_many()
            .col_expr(users::Column::HashedPassword, Expr::value(password_hash))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(id))
            .exec(&txn.txn)
            .await
            .map_err(db_err)?;
        if updated.rows_affected == 0 {
            return Err(RepoError::NotFound);
        }
        refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
            .col_expr(refresh_tokens::Column::UpdatedAt, Expr::value(now))
            .filter(refresh_tokens::Column::UserId.eq(id))
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .exec(&txn.txn)
            .await
            .map_err(db_err)?;
        txn.commit().await
    }

    #[tracing::instrument(skip(self), err)]
    async fn delete(&self, id: Uuid) -> Result<(), RepoError> {
        // Rows that restrict their parent's deletion go first (a transaction's account is the
        // same user's, enforced by a composite foreign key); every other owned table cascades
        // from users. One transaction: everything goes, or nothing.
        let txn = self.db.begin_write().await?;
        let backend = self.db.backend();
        for sql in [
            "DELETE FROM transactions WHERE user_id = $1",
            "DELETE FROM portfolio_items WHERE portfolio_id IN \
             (SELECT id FROM portfolios WHERE user_id = $1)",
            "DELETE FROM portfolio_trades WHERE portfolio_id IN \
             (SELECT id FROM portfolios WHERE user_id = $1)",
        ] {
            txn.txn
                .execute_raw(statement(backend, sql, [id.into()]))
                .await
                .map_err(db_err)?;
        }
        let deleted = users::Entity::delete_by_id(id)
            .exec(&txn.txn)
            .await
            .map_err(db_err)?;
        if deleted.rows_affected == 0 {
            return Err(RepoError::NotFound);
        }
        txn.commit().await
    }
}

#[async_trait]
impl HealthProbe for SqlUserRepository {
    async fn ping(&self) -> Result<(), RepoError> {
        self.db.ping().await
    }
}
