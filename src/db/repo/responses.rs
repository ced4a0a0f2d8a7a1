//! Rows of `responses`. Storing goes through `responses::store`, which keeps the roll-up in the
//! same transaction; these functions only read and write the rows themselves.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use crate::db::entities::response;
use crate::db::sql::{PgColumns, equals_any};

/// The imported responses with these external ids.
pub async fn find_by_external_ids(db: &impl ConnectionTrait, ids: Vec<String>) -> Result<Vec<response::Model>, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        return response::Entity::find().filter(equals_any(response::Column::ExternalId, ids)).all(db).await;
    }
    let mut found = Vec::with_capacity(ids.len());
    for piece in crate::db::sql::fixed_shapes(&ids) {
        found
            .extend(response::Entity::find().filter(response::Column::ExternalId.is_in(piece.to_vec())).all(db).await?);
    }
    Ok(found)
}

/// Insert `row` (its `id` is ignored: the database assigns it).
pub async fn insert(db: &impl ConnectionTrait, row: response::Model) -> Result<response::Model, DbErr> {
    let mut active = row.into_active_model();
    active.id = sea_orm::ActiveValue::NotSet;
    active.insert(db).await
}

/// Insert many rows (ids assigned by the database), in statements of `fixed_sizes`. Nothing
/// comes back: decoding every inserted row again would cost the client more than the insert.
pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<response::Model>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    if db.get_database_backend() == DbBackend::Postgres {
        // On PostgreSQL one statement, an array per column (`sql::PgColumns`).
        db.execute_raw(pg_columns(&rows).insert_into("responses", "")).await?;
        return Ok(());
    }
    let sizes = crate::db::sql::fixed_sizes(rows.len());
    let mut rows = rows.into_iter();
    for size in sizes {
        let chunk: Vec<response::ActiveModel> = rows
            .by_ref()
            .take(size)
            .map(|row| {
                let mut active = row.into_active_model();
                active.id = sea_orm::ActiveValue::NotSet;
                active
            })
            .collect();
        response::Entity::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// New responses as one array per column.
fn pg_columns(rows: &[response::Model]) -> PgColumns {
    let mut columns = PgColumns::new();
    columns
        .nullable("invitation_id", rows.iter().map(|r| r.invitation_id))
        .nullable("external_id", rows.iter().map(|r| r.external_id.clone()))
        .nullable("questionnaire_version", rows.iter().map(|r| r.questionnaire_version))
        .column("overall_score", rows.iter().map(|r| r.overall_score))
        .nullable("score_timeliness", rows.iter().map(|r| r.score_timeliness))
        .nullable("score_courtesy", rows.iter().map(|r| r.score_courtesy))
        .nullable("score_competence", rows.iter().map(|r| r.score_competence))
        .nullable("score_clarity", rows.iter().map(|r| r.score_clarity))
        .nullable("score_fairness", rows.iter().map(|r| r.score_fairness))
        .nullable("answers", rows.iter().map(|r| r.answers.clone()))
        .nullable("comment", rows.iter().map(|r| r.comment.clone()))
        .column("follow_up_requested", rows.iter().map(|r| r.follow_up_requested))
        .column("completion", rows.iter().map(|r| r.completion.clone()))
        .column("source", rows.iter().map(|r| r.source.clone()))
        .column("submitted_at", rows.iter().map(|r| r.submitted_at))
        .column("direction_id", rows.iter().map(|r| r.direction_id))
        .column("channel_id", rows.iter().map(|r| r.channel_id))
        .column("stratum", rows.iter().map(|r| r.stratum.clone()))
        .column("weight", rows.iter().map(|r| r.weight))
        .nullable("request_closed_at", rows.iter().map(|r| r.request_closed_at))
        .column("created_at", rows.iter().map(|r| r.created_at));
    columns
}

/// Overwrite what an import may change of `current` with the values of `new`.
pub async fn update(
    db: &impl ConnectionTrait,
    current: response::Model,
    new: &response::Model,
) -> Result<response::Model, DbErr> {
    let mut active = current.into_active_model();
    active.overall_score = Set(new.overall_score);
    active.score_timeliness = Set(new.score_timeliness);
    active.score_courtesy = Set(new.score_courtesy);
    active.score_competence = Set(new.score_competence);
    active.score_clarity = Set(new.score_clarity);
    active.score_fairness = Set(new.score_fairness);
    active.comment = Set(new.comment.clone());
    active.completion = Set(new.completion.clone());
    active.submitted_at = Set(new.submitted_at);
    active.direction_id = Set(new.direction_id);
    active.channel_id = Set(new.channel_id);
    active.stratum = Set(new.stratum.clone());
    active.weight = Set(new.weight);
    active.request_closed_at = Set(new.request_closed_at);
    active.update(db).await
}

/// A comment for the anonymised export.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct CommentRow {
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    pub direction: String,
    pub channel: String,
    pub overall_score: i16,
    pub comment: String,
}

/// The comments of responses submitted in `[from, to)`, of one direction (code) when given.
pub async fn comments(
    db: &impl ConnectionTrait,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    direction: Option<&str>,
) -> Result<Vec<CommentRow>, DbErr> {
    use sea_orm::FromQueryResult;
    let mut params = crate::db::sql::Params::new(db.get_database_backend());
    let (start, end) = (params.bind(from), params.bind(to));
    let scope = direction.map(|code| format!(" AND d.code = {}", params.bind(code))).unwrap_or_default();
    let sql = format!(
        "SELECT r.submitted_at, d.code AS direction, c.code AS channel, r.overall_score, r.comment FROM responses r \
         JOIN directions d ON d.id = r.direction_id JOIN channels c ON c.id = r.channel_id \
         WHERE r.comment IS NOT NULL AND r.comment <> '' AND r.submitted_at >= {start} AND r.submitted_at < {end}{scope} \
         ORDER BY r.submitted_at, r.id"
    );
    CommentRow::find_by_statement(params.statement(sql)).all(db).await
}

/// How many responses of `[from, to)` gave each answer to a choice item (`outcome`, `contacts`),
/// of one direction and one channel (codes) when given.
pub async fn choice_counts(
    db: &impl ConnectionTrait,
    item: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    direction: Option<&str>,
    channel: Option<&str>,
) -> Result<Vec<(String, i64)>, DbErr> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        value: Option<String>,
        n: i64,
    }
    use sea_orm::FromQueryResult;
    let backend = db.get_database_backend();
    let mut params = crate::db::sql::Params::new(backend);
    let path = params.bind(if backend == sea_orm::DbBackend::Postgres { item.to_owned() } else { format!("$.{item}") });
    let value = if backend == sea_orm::DbBackend::Postgres {
        format!("(r.answers::jsonb ->> {path})")
    } else {
        format!("json_extract(r.answers, {path})")
    };
    let (start, end) = (params.bind(from), params.bind(to));
    let mut filter = String::new();
    if let Some(code) = direction {
        filter.push_str(&format!(" AND d.code = {}", params.bind(code)));
    }
    if let Some(code) = channel {
        filter.push_str(&format!(" AND c.code = {}", params.bind(code)));
    }
    let sql = format!(
        "SELECT {value} AS value, COUNT(*) AS n FROM responses r JOIN directions d ON d.id = r.direction_id \
         JOIN channels c ON c.id = r.channel_id WHERE r.submitted_at >= {start} AND r.submitted_at < {end}{filter} \
         GROUP BY 1"
    );
    Ok(Row::find_by_statement(params.statement(sql))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| r.value.map(|v| (v, r.n)))
        .collect())
}
