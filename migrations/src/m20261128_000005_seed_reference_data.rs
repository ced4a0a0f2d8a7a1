//! Reference rows every installation needs: the six intake channels of a 311 centre and the
//! first version of the questionnaire. Directions are city-specific: they are registered by
//! ingestion or by an administrator, not seeded.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (code, French name, English name)
pub const CHANNELS: [(&str, &str, &str); 6] = [
    ("phone", "Téléphone", "Phone"),
    ("web_form", "Formulaire en ligne", "Online form"),
    ("email", "Courriel", "E-mail"),
    ("social_media", "Médias sociaux", "Social media"),
    ("counter", "Comptoir", "In-person counter"),
    ("portal", "Portail citoyen", "Citizen portal"),
];

const QUESTIONNAIRE_V1: &str = r#"{
  "items": [
    {"id": "overall", "column": "overall_score", "kind": "scale_0_10", "required": true,
     "label": {"fr": "Dans l'ensemble, quel est votre degré de satisfaction à l'égard du traitement de votre demande?",
               "en": "Overall, how satisfied are you with how your request was handled?"}},
    {"id": "timeliness", "column": "score_timeliness", "kind": "scale_0_10", "required": false,
     "label": {"fr": "Le délai de traitement", "en": "The time it took"}},
    {"id": "courtesy", "column": "score_courtesy", "kind": "scale_0_10", "required": false,
     "label": {"fr": "La courtoisie du personnel", "en": "The courtesy of the staff"}},
    {"id": "competence", "column": "score_competence", "kind": "scale_0_10", "required": false,
     "label": {"fr": "La compétence du personnel", "en": "The competence of the staff"}},
    {"id": "clarity", "column": "score_clarity", "kind": "scale_0_10", "required": false,
     "label": {"fr": "La clarté de l'information reçue", "en": "The clarity of the information you received"}},
    {"id": "fairness", "column": "score_fairness", "kind": "scale_0_10", "required": false,
     "label": {"fr": "L'équité du traitement", "en": "The fairness of the treatment"}},
    {"id": "comment", "column": "comment", "kind": "text", "required": false, "max_length": 2000,
     "label": {"fr": "Avez-vous un commentaire?", "en": "Any comment?"}},
    {"id": "follow_up", "column": "follow_up_requested", "kind": "boolean", "required": false,
     "label": {"fr": "Souhaitez-vous qu'on vous rappelle?", "en": "Would you like us to call you back?"}}
  ],
  "scale": {"min": 0, "max": 10,
            "anchors": {"fr": ["Pas du tout satisfait", "Entièrement satisfait"],
                        "en": ["Not at all satisfied", "Completely satisfied"]}}
}"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut channels = Query::insert();
        channels
            .into_table("channels")
            .columns(["code", "name_fr", "name_en"])
            .on_conflict(OnConflict::column("code").do_nothing().to_owned());
        for (code, fr, en) in CHANNELS {
            channels.values_panic([code.into(), fr.into(), en.into()]);
        }
        manager.exec_stmt(channels).await?;

        // JSON goes in as text; PostgreSQL's jsonb column wants it cast.
        let definition: Expr = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DbBackend::Postgres => Expr::val(QUESTIONNAIRE_V1).cast_as("jsonb"),
            _ => Expr::val(QUESTIONNAIRE_V1),
        };
        let questionnaire = Query::insert()
            .into_table("questionnaires")
            .columns(["version", "definition", "active"])
            .values_panic([1.into(), definition, true.into()])
            .on_conflict(OnConflict::column("version").do_nothing().to_owned())
            .take();
        manager.exec_stmt(questionnaire).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table("questionnaires").and_where(Expr::col("version").eq(1)).take())
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("channels")
                    .and_where(Expr::col("code").is_in(CHANNELS.map(|(code, _, _)| code)))
                    .take(),
            )
            .await?;
        Ok(())
    }
}
