//! Replace the (sampling_run_id, closed_at) index by a partial index on closed_at over the
//! requests no run has decided yet: the sampling job reads only those, and marking a request as
//! decided then just drops it from a small index instead of moving it inside a large one.
//! Partial indexes have the same syntax on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_service_requests_sampling_run_id_closed_at").await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_service_requests_undecided ON service_requests (closed_at, id) WHERE sampling_run_id IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_service_requests_undecided").await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_service_requests_sampling_run_id_closed_at ON service_requests (sampling_run_id, closed_at)",
        )
        .await?;
        Ok(())
    }
}
