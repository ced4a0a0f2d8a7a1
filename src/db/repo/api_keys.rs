use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::db::entities::api_key;

pub async fn insert(
    db: &impl ConnectionTrait,
    name: &str,
    prefix: &str,
    key_hash: String,
    scope: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<api_key::Model, DbErr> {
    api_key::ActiveModel {
        name: Set(name.to_owned()),
        prefix: Set(prefix.to_owned()),
        key_hash: Set(key_hash),
        scope: Set(scope.to_owned()),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// The active (not revoked) key with this public prefix.
pub async fn find_active_by_prefix(db: &impl ConnectionTrait, prefix: &str) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await
}

/// The key with this id, revoked or not.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::find_by_id(id).one(db).await
}

pub async fn touch(db: &impl ConnectionTrait, id: i64, at: chrono::DateTime<chrono::Utc>) -> Result<(), DbErr> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, sea_orm::sea_query::Expr::value(at))
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every key, newest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<api_key::Model>, DbErr> {
    use sea_orm::QueryOrder;
    api_key::Entity::find().order_by_desc(api_key::Column::Id).all(db).await
}

pub async fn revoke(db: &impl ConnectionTrait, id: i64, at: chrono::DateTime<chrono::Utc>) -> Result<(), DbErr> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, sea_orm::sea_query::Expr::value(at))
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
