use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, sea_query::OnConflict,
};

use crate::db::entities::service_request;
use crate::db::sql::{PgColumns, equals_any};

/// The requests with these CRM ids, locked until the end of the caller's transaction on
/// PostgreSQL (`FOR UPDATE`, in CRM id order so that concurrent batches take their locks in the
/// same order). SQLite needs no row lock: its write transactions run one at a time.
pub async fn lock_by_crm_ids(
    db: &impl ConnectionTrait,
    crm_ids: &[String],
) -> Result<Vec<service_request::Model>, DbErr> {
    let mut sorted = crm_ids.to_vec();
    sorted.sort();
    sorted.dedup();
    if db.get_database_backend() == DbBackend::Postgres {
        return service_request::Entity::find()
            .filter(equals_any(service_request::Column::CrmId, sorted))
            .order_by_asc(service_request::Column::CrmId)
            .lock_exclusive()
            .all(db)
            .await;
    }
    let mut found = Vec::with_capacity(sorted.len());
    // Pieces in ascending order, each locked in order: the locks are taken in CRM id order.
    for piece in crate::db::sql::fixed_shapes(&sorted) {
        let mut query = service_request::Entity::find()
            .filter(service_request::Column::CrmId.is_in(piece.iter().cloned()))
            .order_by_asc(service_request::Column::CrmId);
        if db.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        found.extend(query.all(db).await?);
    }
    Ok(found)
}

/// Insert the requests whose CRM id is not stored yet (their `id` is ignored: the database
/// assigns it) and return the CRM ids actually inserted: one another transaction inserted first
/// is skipped (`ON CONFLICT DO NOTHING`), not an error.
pub async fn insert_new(
    db: &impl ConnectionTrait,
    rows: Vec<service_request::Model>,
) -> Result<std::collections::HashSet<String>, DbErr> {
    if rows.is_empty() {
        return Ok(Default::default());
    }
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    if db.get_database_backend() == DbBackend::Postgres {
        let statement =
            pg_columns(&rows).insert_into("service_requests", "ON CONFLICT (crm_id) DO NOTHING RETURNING crm_id");
        for row in db.query_all_raw(statement).await? {
            inserted.insert(row.try_get_by_index::<String>(0)?);
        }
        return Ok(inserted);
    }
    let sizes = crate::db::sql::fixed_sizes(rows.len());
    let mut rows = rows.into_iter();
    for size in sizes {
        let chunk: Vec<service_request::ActiveModel> = rows.by_ref().take(size).map(new_active_model).collect();
        // Only the CRM ids come back: decoding every inserted row again cost a third of the import.
        let mut insert = service_request::Entity::insert_many(chunk).into_query();
        insert
            .on_conflict(OnConflict::column(service_request::Column::CrmId).do_nothing().to_owned())
            .returning_col(service_request::Column::CrmId);
        let statement = db.get_database_backend().build(&insert);
        for row in db.query_all_raw(statement).await? {
            inserted.insert(row.try_get_by_index::<String>(0)?);
        }
    }
    Ok(inserted)
}

/// New requests as one array per column.
fn pg_columns(rows: &[service_request::Model]) -> PgColumns {
    let mut columns = PgColumns::new();
    columns
        .column("crm_id", rows.iter().map(|r| r.crm_id.clone()))
        .column("direction_id", rows.iter().map(|r| r.direction_id))
        .column("channel_id", rows.iter().map(|r| r.channel_id))
        .nullable("service_code", rows.iter().map(|r| r.service_code.clone()))
        .nullable("service_name", rows.iter().map(|r| r.service_name.clone()))
        .column("status", rows.iter().map(|r| r.status.clone()))
        .nullable("requested_at", rows.iter().map(|r| r.requested_at))
        .nullable("crm_updated_at", rows.iter().map(|r| r.crm_updated_at))
        .nullable("closed_at", rows.iter().map(|r| r.closed_at))
        .nullable("contact_email", rows.iter().map(|r| r.contact_email.clone()))
        .nullable("contact_phone", rows.iter().map(|r| r.contact_phone.clone()))
        .nullable("contact_hash", rows.iter().map(|r| r.contact_hash.clone()))
        .column("locale", rows.iter().map(|r| r.locale.clone()))
        .column("source", rows.iter().map(|r| r.source.clone()))
        .column("created_at", rows.iter().map(|r| r.created_at))
        .column("updated_at", rows.iter().map(|r| r.updated_at));
    columns
}

/// Overwrite the CRM-owned fields of an existing row with `new` (id and created_at kept).
pub async fn update(
    db: &impl ConnectionTrait,
    existing: service_request::Model,
    new: service_request::Model,
) -> Result<(), DbErr> {
    let mut active = existing.into_active_model();
    active.direction_id = Set(new.direction_id);
    active.channel_id = Set(new.channel_id);
    active.service_code = Set(new.service_code);
    active.service_name = Set(new.service_name);
    active.status = Set(new.status);
    active.requested_at = Set(new.requested_at);
    active.crm_updated_at = Set(new.crm_updated_at);
    active.closed_at = Set(new.closed_at);
    active.contact_email = Set(new.contact_email);
    active.contact_phone = Set(new.contact_phone);
    active.contact_hash = Set(new.contact_hash);
    active.locale = Set(new.locale);
    active.source = Set(new.source);
    active.updated_at = Set(new.updated_at);
    active.update(db).await?;
    Ok(())
}

fn new_active_model(model: service_request::Model) -> service_request::ActiveModel {
    service_request::ActiveModel {
        crm_id: Set(model.crm_id),
        direction_id: Set(model.direction_id),
        channel_id: Set(model.channel_id),
        service_code: Set(model.service_code),
        service_name: Set(model.service_name),
        status: Set(model.status),
        requested_at: Set(model.requested_at),
        crm_updated_at: Set(model.crm_updated_at),
        closed_at: Set(model.closed_at),
        contact_email: Set(model.contact_email),
        contact_phone: Set(model.contact_phone),
        contact_hash: Set(model.contact_hash),
        locale: Set(model.locale),
        source: Set(model.source),
        personal_data_purged_at: Set(None),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
        ..Default::default()
    }
}

/// (row id, CRM id) of requests from `source` still open, after row `after_id`, in id order.
pub async fn open_from_source(
    db: &impl ConnectionTrait,
    source: &str,
    after_id: i64,
    limit: u64,
) -> Result<Vec<(i64, String)>, DbErr> {
    Ok(service_request::Entity::find()
        .filter(service_request::Column::Source.eq(source))
        .filter(service_request::Column::Status.eq(crate::domain::RequestStatus::Open.as_str()))
        .filter(service_request::Column::Id.gt(after_id))
        .order_by_asc(service_request::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row.crm_id))
        .collect())
}
