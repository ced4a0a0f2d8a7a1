//! Users, API keys, the audit log, ingestion errors and the state kept by scheduled jobs.

use crate::conventions::*;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("email", 320))
                    // argon2id PHC string
                    .col(string_len("password_hash", 255))
                    .col(string_len("role", 16).check(Expr::col("role").is_in(["admin", "analyst", "viewer"])))
                    // A user with a direction only ever sees that direction.
                    .col(big_integer_null("direction_id"))
                    .col(boolean("active").default(true))
                    .col(created_at())
                    .col(timestamp_with_time_zone_null("last_login_at"))
                    .foreign_key(&mut fk("users", "direction_id", "directions", ForeignKeyAction::Restrict))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("name", 200))
                    // Public part of the key, used to find the row; the secret part is only hashed.
                    .col(string_len_uniq("prefix", 32))
                    .col(string_len("key_hash", 255))
                    .col(created_at())
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at").default(Expr::current_timestamp()))
                    // "user:12", "api_key:3", "cli", "scheduler"
                    .col(string_len("actor", 64))
                    .col(string_len("action", 64))
                    .col(string_len_null("subject", 200))
                    .col(json_binary_null("details"))
                    .take(),
            )
            .await?;
        manager.create_index(index("audit_log", &["at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("ingestion_errors")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    // "api", "csv", "open311", "responses_csv"
                    .col(string_len("source", 32))
                    .col(string_len_null("crm_id", 128))
                    .col(big_integer_null("line_number"))
                    .col(text("raw_payload"))
                    .col(json_binary("reasons"))
                    .col(timestamp_with_time_zone("received_at").default(Expr::current_timestamp()))
                    .col(integer("replay_count").default(0))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .take(),
            )
            .await?;
        manager.create_index(index("ingestion_errors", &["resolved_at", "received_at"])).await?;

        // Small key/value store for jobs: e.g. the Open311 poller's high-water mark.
        manager
            .create_table(
                Table::create()
                    .table("job_state")
                    .if_not_exists()
                    .col(string_len("name", 64).primary_key())
                    .col(json_binary("value"))
                    .col(timestamp_with_time_zone("updated_at").default(Expr::current_timestamp()))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["job_state", "ingestion_errors", "audit_log", "api_keys", "users"] {
            manager.drop_table(Table::drop().table(table).if_exists().take()).await?;
        }
        Ok(())
    }
}
