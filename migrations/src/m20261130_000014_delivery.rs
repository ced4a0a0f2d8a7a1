//! Delivery: the salt each survey token is derived from (`invitations.token_salt`, erased when
//! the invitation ends; the links themselves are no longer stored), and a lease on outbox
//! messages (`outbox.lease_until`: a dispatcher that claims a message holds it until then; one
//! that dies leaves it claimable again).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER TABLE: SQLite takes no more.
        manager
            .alter_table(Table::alter().table("invitations").add_column(string_len_null("token_salt", 32)).take())
            .await?;
        manager
            .alter_table(Table::alter().table("outbox").add_column(timestamp_with_time_zone_null("lease_until")).take())
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("outbox").drop_column("lease_until").take()).await?;
        manager.alter_table(Table::alter().table("invitations").drop_column("token_salt").take()).await
    }
}
