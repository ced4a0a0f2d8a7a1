//! Questionnaires and responses.
//!
//! A response copies the direction, channel, stratum and weight of its invitation so that
//! statistics are one GROUP BY over this table. Imported historical responses have no
//! invitation (NULL, which a unique index allows many times) but an `external_id`.

use crate::conventions::*;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The 0–10 driver items, one nullable column each so a GROUP BY can reach them.
pub const DRIVERS: [&str; 5] =
    ["score_timeliness", "score_courtesy", "score_competence", "score_clarity", "score_fairness"];

fn score_0_to_10(column: &'static str, nullable: bool) -> ColumnDef {
    let mut def = if nullable { small_integer_null(column) } else { small_integer(column) };
    def.check(Expr::col(column).between(0, 10));
    def
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("questionnaires")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(integer_uniq("version"))
                    .col(json_binary("definition"))
                    .col(boolean("active").default(false))
                    .col(created_at())
                    .take(),
            )
            .await?;

        let mut responses = Table::create();
        responses
            .table("responses")
            .if_not_exists()
            .col(big_pk_auto("id"))
            .col(big_integer_null("invitation_id").unique_key())
            .col(string_len_null("external_id", 128).unique_key())
            .col(integer_null("questionnaire_version"))
            .col(score_0_to_10("overall_score", false));
        for driver in DRIVERS {
            responses.col(score_0_to_10(driver, true));
        }
        responses
            .col(json_binary_null("answers"))
            .col(text_null("comment"))
            .col(boolean("follow_up_requested").default(false))
            .col(string_len("completion", 16).default("complete"))
            .col(string_len("source", 16))
            .col(timestamp_with_time_zone("submitted_at"))
            .col(big_integer("direction_id"))
            .col(big_integer("channel_id"))
            .col(string_len("stratum", 160))
            .col(double("weight").check(Expr::col("weight").gt(0)))
            .col(created_at())
            .foreign_key(&mut fk("responses", "invitation_id", "invitations", ForeignKeyAction::SetNull))
            .foreign_key(&mut fk("responses", "direction_id", "directions", ForeignKeyAction::Restrict))
            .foreign_key(&mut fk("responses", "channel_id", "channels", ForeignKeyAction::Restrict));
        manager.create_table(responses.take()).await?;
        manager.create_index(index("responses", &["submitted_at"])).await?;
        manager.create_index(index("responses", &["direction_id", "channel_id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["responses", "questionnaires"] {
            manager.drop_table(Table::drop().table(table).if_exists().take()).await?;
        }
        Ok(())
    }
}
