use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::db::entities::user;
use crate::domain::{Email, Role};

pub struct NewUserRow<'a> {
    pub email: &'a Email,
    pub password_hash: String,
    pub role: Role,
    pub direction_id: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, row: NewUserRow<'_>) -> Result<user::Model, DbErr> {
    user::ActiveModel {
        email: Set(row.email.as_str().to_owned()),
        password_hash: Set(row.password_hash),
        role: Set(row.role.as_str().to_owned()),
        direction_id: Set(row.direction_id),
        active: Set(true),
        created_at: Set(row.created_at),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find().order_by_asc(user::Column::Email).all(db).await
}

/// The user with this e-mail address (in any case).
pub async fn find_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<user::Model>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    let wanted = email.trim().to_lowercase();
    user::Entity::find().filter(Func::lower(Expr::col(user::Column::Email)).eq(wanted)).one(db).await
}

pub async fn set_active(db: &impl ConnectionTrait, id: i64, active: bool) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Active, sea_orm::sea_query::Expr::value(active))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_password_hash(db: &impl ConnectionTrait, id: i64, hash: String) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, sea_orm::sea_query::Expr::value(hash))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

pub async fn set_role(db: &impl ConnectionTrait, id: i64, role: Role, direction_id: Option<i64>) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Role, sea_orm::sea_query::Expr::value(role.as_str()))
        .col_expr(user::Column::DirectionId, sea_orm::sea_query::Expr::value(direction_id))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
