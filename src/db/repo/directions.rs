use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::db::entities::{channel, direction};

pub async fn find_by_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<direction::Model>, DbErr> {
    direction::Entity::find().filter(direction::Column::Code.eq(code)).one(db).await
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<direction::Model>, DbErr> {
    direction::Entity::find().order_by_asc(direction::Column::Code).all(db).await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    code: &str,
    name_fr: &str,
    name_en: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<direction::Model, DbErr> {
    direction::ActiveModel {
        code: Set(code.to_owned()),
        name_fr: Set(name_fr.to_owned()),
        name_en: Set(name_en.to_owned()),
        active: Set(true),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn list_channels(db: &impl ConnectionTrait) -> Result<Vec<channel::Model>, DbErr> {
    channel::Entity::find().order_by_asc(channel::Column::Id).all(db).await
}

/// Register `code` if it is new (name = code until someone names it); return its id either way.
/// Safe when two importers meet the same new code at once.
pub async fn ensure(db: &impl ConnectionTrait, code: &str, at: chrono::DateTime<chrono::Utc>) -> Result<i64, DbErr> {
    if let Some(existing) = find_by_code(db, code).await? {
        return Ok(existing.id);
    }
    let row = direction::ActiveModel {
        code: Set(code.to_owned()),
        name_fr: Set(code.to_owned()),
        name_en: Set(code.to_owned()),
        active: Set(true),
        created_at: Set(at),
        ..Default::default()
    };
    direction::Entity::insert(row)
        .on_conflict(sea_orm::sea_query::OnConflict::column(direction::Column::Code).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    find_by_code(db, code)
        .await?
        .map(|d| d.id)
        .ok_or_else(|| DbErr::RecordNotFound(format!("direction {code} after insert")))
}
