//! Closed service requests, opt-outs, sampling runs, invitations and the delivery outbox.
//!
//! The unique constraints here carry the product's promises: a CRM id is stored once, a request
//! gets at most one invitation, a token hash identifies one invitation, and an invitation has at
//! most one message of each kind in the outbox.

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
                    .table("service_requests")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("crm_id", 128))
                    .col(big_integer("direction_id"))
                    .col(big_integer("channel_id"))
                    .col(string_len_null("service_code", 128))
                    .col(string_len_null("service_name", 300))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone_null("requested_at"))
                    .col(timestamp_with_time_zone_null("crm_updated_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    // Personal data: set to NULL by the retention purge.
                    .col(string_len_null("contact_email", 320))
                    .col(string_len_null("contact_phone", 32))
                    // Keyed hash of the normalised contact; outlives the purge (quarantine rule).
                    .col(string_len_null("contact_hash", 64))
                    .col(string_len("locale", 8).default("fr"))
                    .col(string_len("source", 16))
                    .col(timestamp_with_time_zone_null("personal_data_purged_at"))
                    .col(created_at())
                    .col(timestamp_with_time_zone("updated_at").default(Expr::current_timestamp()))
                    .foreign_key(&mut fk("service_requests", "direction_id", "directions", ForeignKeyAction::Restrict))
                    .foreign_key(&mut fk("service_requests", "channel_id", "channels", ForeignKeyAction::Restrict))
                    .take(),
            )
            .await?;
        manager.create_index(index("service_requests", &["status", "closed_at"])).await?;
        manager.create_index(index("service_requests", &["contact_hash"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("opt_outs")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("contact_hash", 64))
                    .col(string_len("source", 32))
                    .col(created_at())
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sampling_runs")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    // The reference time the eligibility window was computed from (`--now`).
                    .col(timestamp_with_time_zone("as_of"))
                    // u64 seed stored bit-for-bit in a signed 64-bit column.
                    .col(big_integer("seed"))
                    .col(boolean("dry_run").default(false))
                    .col(string_len("status", 16))
                    .col(json_binary("parameters"))
                    .col(big_integer("population_count").default(0))
                    .col(big_integer("eligible_count").default(0))
                    .col(big_integer("sampled_count").default(0))
                    .col(json_binary("exclusions"))
                    .col(json_binary("strata"))
                    .col(text_null("error"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("invitations")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer_uniq("service_request_id"))
                    .col(big_integer_null("sampling_run_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(big_integer("direction_id"))
                    .col(big_integer("channel_id"))
                    .col(string_len("stratum", 160))
                    .col(
                        double("inclusion_probability").check(
                            Expr::col("inclusion_probability").gt(0).and(Expr::col("inclusion_probability").lte(1)),
                        ),
                    )
                    .col(string_len("state", 16))
                    .col(string_len("locale", 8).default("fr"))
                    .col(created_at())
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(timestamp_with_time_zone_null("reminded_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("responded_at"))
                    .foreign_key(&mut fk(
                        "invitations",
                        "service_request_id",
                        "service_requests",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk("invitations", "sampling_run_id", "sampling_runs", ForeignKeyAction::SetNull))
                    .foreign_key(&mut fk("invitations", "direction_id", "directions", ForeignKeyAction::Restrict))
                    .foreign_key(&mut fk("invitations", "channel_id", "channels", ForeignKeyAction::Restrict))
                    .take(),
            )
            .await?;
        manager.create_index(index("invitations", &["state", "expires_at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("invitation_id"))
                    .col(string_len("kind", 16))
                    .col(string_len("state", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    // The survey link with the clear token; cleared once the message is delivered.
                    .col(text_null("survey_link"))
                    .col(text_null("last_error"))
                    .col(created_at())
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .foreign_key(&mut fk("outbox", "invitation_id", "invitations", ForeignKeyAction::Cascade))
                    .take(),
            )
            .await?;
        manager.create_index(unique_index("outbox", &["invitation_id", "kind"])).await?;
        manager.create_index(index("outbox", &["state", "next_attempt_at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["outbox", "invitations", "sampling_runs", "opt_outs", "service_requests"] {
            manager.drop_table(Table::drop().table(table).if_exists().take()).await?;
        }
        Ok(())
    }
}
