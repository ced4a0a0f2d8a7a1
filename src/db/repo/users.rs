use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder};

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
