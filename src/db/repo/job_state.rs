use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};

use crate::db::entities::job_state;

pub async fn get(db: &impl ConnectionTrait, name: &str) -> Result<Option<serde_json::Value>, DbErr> {
    Ok(job_state::Entity::find_by_id(name.to_owned()).one(db).await?.map(|row| row.value))
}

pub async fn put(db: &impl ConnectionTrait, name: &str, value: serde_json::Value) -> Result<(), DbErr> {
    let row =
        job_state::ActiveModel { name: Set(name.to_owned()), value: Set(value), updated_at: Set(chrono::Utc::now()) };
    job_state::Entity::insert(row)
        .on_conflict(
            OnConflict::column(job_state::Column::Name)
                .update_columns([job_state::Column::Value, job_state::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
