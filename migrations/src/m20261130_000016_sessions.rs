//! Logging in: `sessions` (one row per login; the browser holds the token, the table its SHA-256;
//! ended by logout, by disabling the user, or by time), `login_failures` (failed logins per
//! account and per client address, for the lock-outs), and a scope on API keys (`all`, `ingest`,
//! `read`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::{created_at, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(big_integer("user_id"))
                    .col(created_at())
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .col(string_len_null("address", 64))
                    .foreign_key(&mut fk("sessions", "user_id", "users", ForeignKeyAction::Cascade))
                    .take(),
            )
            .await?;
        manager.create_index(index("sessions", &["user_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("login_failures")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    // account (the e-mail as typed, lowercased) or address
                    .col(string_len("kind", 8))
                    .col(string_len("subject", 320))
                    .col(timestamp_with_time_zone("at"))
                    .take(),
            )
            .await?;
        manager.create_index(index("login_failures", &["kind", "subject", "at"])).await?;
        manager
            .alter_table(Table::alter().table("api_keys").add_column(string_len("scope", 16).default("all")).take())
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("api_keys").drop_column("scope").take()).await?;
        for table in ["login_failures", "sessions"] {
            manager.drop_table(Table::drop().table(table).if_exists().take()).await?;
        }
        Ok(())
    }
}
