//! A rejected item is kept once: re-reading an Open311 window, or a CRM re-sending the same bad
//! item, counts another sighting of the same row instead of adding one. `fingerprint` is the
//! SHA-256 of (source, id, payload), unique; rows kept before this migration have none and are
//! left as they are. `seen_count` and `last_seen_at` tell how often and how lately it came back.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::unique_index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER TABLE: SQLite takes no more.
        let columns = [
            string_len_null("fingerprint", 64),
            integer("seen_count").default(1).take(),
            timestamp_with_time_zone_null("last_seen_at"),
        ];
        for column in columns {
            manager.alter_table(Table::alter().table("ingestion_errors").add_column(column).take()).await?;
        }
        manager.create_index(unique_index("ingestion_errors", &["fingerprint"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("uq_ingestion_errors_fingerprint").table("ingestion_errors").to_owned())
            .await?;
        for column in ["last_seen_at", "seen_count", "fingerprint"] {
            manager.alter_table(Table::alter().table("ingestion_errors").drop_column(column).take()).await?;
        }
        Ok(())
    }
}
