//! The user repository.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nestegg_domain::{Email, Preferences, Username};
use nestegg_ports::{HealthProbe, NewUser, RepoError, User, UserRepository};
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait, Set};
use uuid::Uuid;

use crate::db::Db;
use crate::entity::{refresh_tokens, sessions, users};
use crate::rows::corrupt;

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

pub(crate) fn to_user(m: users::Model) -> Result<User, RepoError> {
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

impl SqlUserRepository {
    async fn find(&self, query: SelectStatement) -> Result<Option<User>, RepoError> {
        self.db
            .sql()
            .opt_model(&query)
            .await?
            .map(to_user)
            .transpose()
    }
}

#[async_trait]
impl UserRepository for SqlUserRepository {
    #[tracing::instrument(skip_all, err(level = "debug"))]
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
        // RETURNING: the user as stored, as the database rounded its timestamps.
        let mut insert = users::Entity::insert(model).into_query();
        insert.returning_all();
        let stored = self.db.sql().opt_model(&insert).await?;
        to_user(stored.ok_or(RepoError::NotFound)?)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, RepoError> {
        self.find(users::Entity::find_by_id(id).into_query()).await
    }

    #[tracing::instrument(skip_all, err(level = "debug"))]
    async fn find_by_login(&self, login: &str) -> Result<Option<User>, RepoError> {
        let column = if login.contains('@') {
            users::Column::Email
        } else {
            users::Column::Username
        };
        self.find(users::Entity::find().filter(column.eq(login)).into_query())
            .await
    }

    #[tracing::instrument(skip(self, username, preferences), err(level = "debug"))]
    async fn update_profile(
        &self,
        id: Uuid,
        username: Option<Username>,
        preferences: Option<Preferences>,
        now: DateTime<Utc>,
    ) -> Result<User, RepoError> {
        let mut model = users::ActiveModel {
            updated_at: Set(now),
            ..Default::default()
        };
        if let Some(u) = username {
            model.username = Set(u.as_str().to_owned());
        }
        if let Some(p) = preferences {
            model.preferences = Set(p.to_value());
        }
        let mut update = users::Entity::update_many()
            .set(model)
            .filter(users::Column::Id.eq(id))
            .into_query();
        update.returning_all();
        let stored = self.db.sql().opt_model(&update).await?;
        to_user(stored.ok_or(RepoError::NotFound)?)
    }

    #[tracing::instrument(skip(self, password_hash), err(level = "debug"))]
    async fn change_password(
        &self,
        id: Uuid,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        let change = users::Entity::update_many()
            .col_expr(users::Column::HashedPassword, Expr::value(password_hash))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(id))
            .into_query();
        if sql.exec_built(&change).await? == 0 {
            return Err(RepoError::NotFound);
        }
        crate::tokens::end_sessions(
            &sql,
            sessions::Column::UserId.eq(id),
            refresh_tokens::Column::UserId.eq(id),
            now,
        )
        .await?;
        txn.commit().await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn delete(&self, id: Uuid) -> Result<(), RepoError> {
        // Rows that restrict their parent's deletion go first (a transaction's account is the
        // same user's, enforced by a composite foreign key); every other owned table cascades
        // from users. One transaction: everything goes, or nothing.
        let txn = self.db.begin_write().await?;
        let sql = txn.sql();
        for statement in [
            "DELETE FROM transactions WHERE user_id = $1",
            "DELETE FROM portfolio_items WHERE portfolio_id IN \
             (SELECT id FROM portfolios WHERE user_id = $1)",
            "DELETE FROM portfolio_trades WHERE portfolio_id IN \
             (SELECT id FROM portfolios WHERE user_id = $1)",
        ] {
            sql.exec(statement, [id.into()]).await?;
        }
        let delete = users::Entity::delete_by_id(id).into_query();
        if sql.exec_built(&delete).await? == 0 {
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
