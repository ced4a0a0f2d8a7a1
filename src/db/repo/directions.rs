use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};

use crate::db::entities::{channel, direction};

pub async fn find_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<direction::Model>, DbErr> {
    direction::Entity::find()
        .filter(direction::Column::Code.eq(code))
        .one(db)
        .await
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<direction::Model>, DbErr> {
    direction::Entity::find()
        .order_by_asc(direction::Column::Code)
        .all(db)
        .await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    code: &str,
    name_fr: &str,
    name_en: &str,
) -> Result<direction::Model, DbErr> {
    direction::ActiveModel {
        code: Set(code.to_owned()),
        name_fr: Set(name_fr.to_owned()),
        name_en: Set(name_en.to_owned()),
        active: Set(true),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn list_channels(db: &impl ConnectionTrait) -> Result<Vec<channel::Model>, DbErr> {
    channel::Entity::find()
        .order_by_asc(channel::Column::Id)
        .all(db)
        .await
}
