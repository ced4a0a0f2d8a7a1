//! The survey page: questionnaire version 2 (v1 plus the outcome, the number of contacts it took,
//! "not applicable" on the drivers, and a request to be contacted), made the active one; and
//! `follow_ups`, the items management calls back about (a low score with a comment, or an
//! outcome "no"), created with their response.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::{created_at, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const QUESTIONNAIRE_V2: &str = r#"{
  "items": [
    {"id": "overall", "column": "overall_score", "kind": "scale_0_10", "required": true,
     "label": {"fr": "Dans l’ensemble, quel est votre degré de satisfaction à l’égard du traitement de votre demande?",
               "en": "Overall, how satisfied are you with how your request was handled?"}},
    {"id": "timeliness", "column": "score_timeliness", "kind": "scale_0_10", "not_applicable": true,
     "label": {"fr": "Le délai de traitement", "en": "The time it took"}},
    {"id": "courtesy", "column": "score_courtesy", "kind": "scale_0_10", "not_applicable": true,
     "label": {"fr": "La courtoisie du personnel", "en": "The courtesy of the staff"}},
    {"id": "competence", "column": "score_competence", "kind": "scale_0_10", "not_applicable": true,
     "label": {"fr": "La compétence du personnel", "en": "The competence of the staff"}},
    {"id": "clarity", "column": "score_clarity", "kind": "scale_0_10", "not_applicable": true,
     "label": {"fr": "La clarté de l’information reçue", "en": "The clarity of the information you received"}},
    {"id": "fairness", "column": "score_fairness", "kind": "scale_0_10", "not_applicable": true,
     "label": {"fr": "L’équité du traitement", "en": "The fairness of the treatment"}},
    {"id": "outcome", "kind": "choice",
     "label": {"fr": "Avez-vous obtenu ce dont vous aviez besoin?", "en": "Did you get what you needed?"},
     "options": [
       {"value": "yes", "label": {"fr": "Oui", "en": "Yes"}},
       {"value": "partly", "label": {"fr": "En partie", "en": "Partly"}},
       {"value": "no", "label": {"fr": "Non", "en": "No"}}]},
    {"id": "contacts", "kind": "choice",
     "label": {"fr": "Combien de fois avez-vous dû communiquer avec la Ville pour cette demande?",
               "en": "How many times did you have to contact the City about this request?"},
     "options": [
       {"value": "1", "label": {"fr": "Une fois", "en": "Once"}},
       {"value": "2", "label": {"fr": "Deux fois", "en": "Twice"}},
       {"value": "3+", "label": {"fr": "Trois fois ou plus", "en": "Three times or more"}}]},
    {"id": "comment", "column": "comment", "kind": "text", "max_length": 2000,
     "label": {"fr": "Avez-vous un commentaire? (facultatif)", "en": "Any comment? (optional)"}},
    {"id": "follow_up", "column": "follow_up_requested", "kind": "boolean",
     "label": {"fr": "J’aimerais qu’on communique avec moi à ce sujet", "en": "I would like to be contacted about this"}}
  ],
  "scale": {"min": 0, "max": 10,
            "anchors": {"fr": ["pas du tout satisfait", "entièrement satisfait"],
                        "en": ["not at all satisfied", "completely satisfied"]}}
}"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let definition: Expr = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DbBackend::Postgres => Expr::val(QUESTIONNAIRE_V2).cast_as("jsonb"),
            _ => Expr::val(QUESTIONNAIRE_V2),
        };
        manager
            .exec_stmt(
                Query::update()
                    .table("questionnaires")
                    .value("active", false)
                    .and_where(Expr::col("version").ne(2))
                    .take(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("questionnaires")
                    .columns(["version", "definition", "active"])
                    .values_panic([2.into(), definition, true.into()])
                    .on_conflict(OnConflict::column("version").do_nothing().to_owned())
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("follow_ups")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer_uniq("response_id"))
                    .col(big_integer("direction_id"))
                    .col(big_integer("channel_id"))
                    // low_score (with a comment) or outcome_no
                    .col(string_len("reason", 16))
                    .col(boolean("contact_requested").default(false))
                    // todo, in_progress, done
                    .col(string_len("status", 16).default("todo"))
                    .col(big_integer_null("assignee_id"))
                    .col(text_null("note"))
                    .col(created_at())
                    .col(timestamp_with_time_zone("updated_at").default(Expr::current_timestamp()))
                    .foreign_key(&mut fk("follow_ups", "response_id", "responses", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("follow_ups", "direction_id", "directions", ForeignKeyAction::Restrict))
                    .foreign_key(&mut fk("follow_ups", "channel_id", "channels", ForeignKeyAction::Restrict))
                    .take(),
            )
            .await?;
        manager.create_index(index("follow_ups", &["status", "created_at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("follow_ups").if_exists().take()).await?;
        manager
            .exec_stmt(Query::delete().from_table("questionnaires").and_where(Expr::col("version").eq(2)).take())
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table("questionnaires")
                    .value("active", true)
                    .and_where(Expr::col("version").eq(1))
                    .take(),
            )
            .await?;
        Ok(())
    }
}
