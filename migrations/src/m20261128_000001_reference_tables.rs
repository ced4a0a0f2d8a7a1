//! Reference data: the city's directions (departments) and the intake channels.

use crate::conventions::*;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["directions", "channels"] {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .if_not_exists()
                        .col(big_pk_auto("id"))
                        .col(string_len_uniq("code", 64))
                        .col(string_len("name_fr", 200))
                        .col(string_len("name_en", 200))
                        .col(boolean("active").default(true))
                        .col(created_at())
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["channels", "directions"] {
            manager.drop_table(Table::drop().table(table).if_exists().take()).await?;
        }
        Ok(())
    }
}
