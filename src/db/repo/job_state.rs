use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};

use crate::db::entities::job_state;

pub async fn get(db: &impl ConnectionTrait, name: &str) -> Result<Option<serde_json::Value>, DbErr> {
    Ok(job_state::Entity::find_by_id(name.to_owned()).one(db).await?.map(|row| row.value))
}

pub async fn put(
    db: &impl ConnectionTrait,
    name: &str,
    value: serde_json::Value,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let row = job_state::ActiveModel { name: Set(name.to_owned()), value: Set(value), updated_at: Set(at) };
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

/// Try to take the named lease for `owner`: succeeds if nobody holds it, or if the holder has
/// not refreshed it since `stale_before` (a crashed instance). Works the same on SQLite and
/// PostgreSQL, across server instances sharing one database.
pub async fn try_acquire_lease(
    db: &impl ConnectionTrait,
    name: &str,
    owner: &str,
    now: chrono::DateTime<chrono::Utc>,
    stale_before: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let row = job_state::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(serde_json::json!({"owner": owner})),
        updated_at: Set(now),
    };
    let inserted = job_state::Entity::insert(row)
        .on_conflict(OnConflict::column(job_state::Column::Name).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    if inserted == 1 {
        return Ok(true);
    }
    let taken_over = job_state::Entity::update_many()
        .col_expr(job_state::Column::Value, Expr::value(serde_json::json!({"owner": owner})))
        .col_expr(job_state::Column::UpdatedAt, Expr::value(now))
        .filter(job_state::Column::Name.eq(name))
        .filter(job_state::Column::UpdatedAt.lt(stale_before))
        .exec(db)
        .await?;
    Ok(taken_over.rows_affected == 1)
}

fn owned_by(row: &job_state::Model, owner: &str) -> bool {
    row.value.get("owner").and_then(|v| v.as_str()) == Some(owner)
}

/// Show the lease is still alive (long runs call this between batches).
pub async fn refresh_lease(
    db: &impl ConnectionTrait,
    name: &str,
    owner: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    if let Some(row) = job_state::Entity::find_by_id(name.to_owned()).one(db).await?
        && owned_by(&row, owner)
    {
        let mut active: job_state::ActiveModel = row.into();
        active.updated_at = Set(now);
        sea_orm::ActiveModelTrait::update(active, db).await?;
    }
    Ok(())
}

pub async fn release_lease(db: &impl ConnectionTrait, name: &str, owner: &str) -> Result<(), DbErr> {
    if let Some(row) = job_state::Entity::find_by_id(name.to_owned()).one(db).await?
        && owned_by(&row, owner)
    {
        job_state::Entity::delete_by_id(name.to_owned()).exec(db).await?;
    }
    Ok(())
}

/// Every row whose name starts with `prefix`: (name, value, last update).
pub async fn with_prefix(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> Result<Vec<(String, serde_json::Value, chrono::DateTime<chrono::Utc>)>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(job_state::Entity::find()
        .filter(job_state::Column::Name.starts_with(prefix))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.name, row.value, row.updated_at))
        .collect())
}

pub async fn delete(db: &impl ConnectionTrait, name: &str) -> Result<(), DbErr> {
    job_state::Entity::delete_by_id(name.to_owned()).exec(db).await?;
    Ok(())
}
