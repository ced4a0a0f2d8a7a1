//! The interface's own words in French and English, looked up by key from templates with
//! `t("key")`. French is the reference text: a key missing in English falls back to French.

use crate::domain::Locale;

/// (key, French, English)
const MESSAGES: &[(&str, &str, &str)] = &[
    ("app.name", "Sondage de satisfaction", "Satisfaction survey"),
    (
        "app.tagline",
        "Votre avis sur le service reçu de la Ville",
        "Your opinion on the service you received from the City",
    ),
    ("nav.skip", "Aller au contenu", "Skip to content"),
    ("nav.switch_language", "English", "Français"),
    ("nav.home", "Accueil", "Home"),
    ("nav.language", "Langue", "Language"),
    ("home.title", "Plateforme de satisfaction citoyenne", "Citizen satisfaction platform"),
    (
        "home.intro",
        "Après le traitement de votre demande au 311, vous pourriez recevoir un court sondage. Vos réponses aident la Ville à améliorer ses services.",
        "After your 311 request is closed, you may receive a short survey. Your answers help the City improve its services.",
    ),
    (
        "home.privacy",
        "Vos réponses sont confidentielles et présentées uniquement sous forme de statistiques.",
        "Your answers are confidential and only reported as statistics.",
    ),
    ("footer.privacy", "Confidentialité", "Privacy"),
    ("survey.title", "Votre avis sur le service reçu", "Your opinion on the service you received"),
    ("survey.about", "Demande", "Request"),
    (
        "survey.intro",
        "Moins d’une minute. Seule la première question est obligatoire. Vos réponses sont confidentielles et présentées uniquement sous forme de statistiques.",
        "Under a minute. Only the first question is required. Your answers are confidential and only reported as statistics.",
    ),
    ("survey.required", "obligatoire", "required"),
    ("survey.not_applicable", "Ne s’applique pas", "Not applicable"),
    ("survey.scale_hint", "Sur une échelle de 0 à 10 :", "On a scale from 0 to 10:"),
    (
        "survey.comment_hint",
        "2 000 caractères au maximum. N’y inscrivez pas de renseignements personnels.",
        "2,000 characters at most. Please do not include personal information.",
    ),
    ("survey.submit", "Envoyer mes réponses", "Send my answers"),
    ("survey.errors_title", "Quelques réponses sont à corriger", "A few answers need correcting"),
    ("survey.opt_out", "Ne plus recevoir de sondages", "Stop receiving surveys"),
    ("survey.thanks_title", "Merci!", "Thank you!"),
    (
        "survey.thanks",
        "Vos réponses ont été enregistrées. Elles aideront la Ville à améliorer ses services.",
        "Your answers have been recorded. They will help the City improve its services.",
    ),
    (
        "survey.thanks_follow_up",
        "Une personne de la Ville pourrait communiquer avec vous au sujet de votre demande.",
        "Someone from the City may contact you about your request.",
    ),
    ("survey.answered_title", "Déjà répondu", "Already answered"),
    (
        "survey.answered",
        "Ce sondage a déjà reçu une réponse. Merci de votre participation!",
        "This survey has already been answered. Thank you for taking part!",
    ),
    ("survey.expired_title", "Sondage terminé", "Survey closed"),
    (
        "survey.expired",
        "Ce sondage n’accepte plus de réponses. Merci de votre intérêt.",
        "This survey no longer accepts answers. Thank you for your interest.",
    ),
    ("survey.unknown_title", "Lien introuvable", "Link not found"),
    (
        "survey.unknown",
        "Ce lien de sondage n’existe pas. Vérifiez qu’il a été copié en entier depuis votre courriel.",
        "This survey link does not exist. Please check that it was copied in full from your e-mail.",
    ),
    ("survey.too_many_title", "Trop de tentatives", "Too many attempts"),
    (
        "survey.too_many",
        "Trop de liens inconnus ont été essayés depuis votre adresse. Veuillez réessayer dans une minute.",
        "Too many unknown links were tried from your address. Please try again in a minute.",
    ),
    ("login.title", "Connexion", "Log in"),
    ("login.intro", "Réservé au personnel de la Ville.", "For City staff only."),
    ("login.email", "Adresse courriel", "E-mail address"),
    ("login.password", "Mot de passe", "Password"),
    ("login.submit", "Se connecter", "Log in"),
    ("login.refused", "Adresse courriel ou mot de passe incorrect.", "Wrong e-mail address or password."),
    (
        "login.locked",
        "Trop de tentatives infructueuses. Réessayez dans quelques minutes.",
        "Too many failed attempts. Please try again in a few minutes.",
    ),
    ("account.title", "Votre compte", "Your account"),
    ("account.role", "Rôle", "Role"),
    ("account.scope", "Directions", "Directions"),
    ("account.all_directions", "Toutes", "All"),
    ("account.logout", "Se déconnecter", "Log out"),
    ("ops.title", "Exploitation", "Operations"),
    ("ops.users", "Utilisateurs", "Users"),
    ("ops.api_keys", "Clés d’API", "API keys"),
    ("ops.sampling", "Échantillonnage", "Sampling"),
    ("ops.delivery", "Envois", "Delivery"),
    ("ops.ingestion_errors", "Erreurs d’intégration", "Ingestion errors"),
    ("ops.audit", "Journal d’audit", "Audit log"),
    (
        "ops.shown_once",
        "Copiez-la maintenant : elle ne sera plus affichée.",
        "Copy it now: it will not be shown again.",
    ),
    ("ops.state", "État", "State"),
    ("ops.last_login", "Dernière connexion", "Last login"),
    ("ops.actions", "Actions", "Actions"),
    ("ops.active", "actif", "active"),
    ("ops.disabled", "désactivé", "disabled"),
    ("ops.change", "Modifier", "Change"),
    ("ops.reset_password", "Nouveau mot de passe", "New password"),
    ("ops.disable", "Désactiver", "Disable"),
    ("ops.new_user", "Nouvel utilisateur", "New user"),
    ("ops.create", "Créer", "Create"),
    ("ops.prefix", "Préfixe", "Prefix"),
    ("ops.name", "Nom", "Name"),
    ("ops.scope", "Portée", "Scope"),
    ("ops.created", "Créée", "Created"),
    ("ops.last_use", "Dernière utilisation", "Last use"),
    ("ops.revoked", "révoquée", "revoked"),
    ("ops.revoke", "Révoquer", "Revoke"),
    ("ops.new_key", "Nouvelle clé", "New key"),
    ("ops.coverage", "Couverture de la base de sondage", "Frame coverage"),
    ("ops.channel", "Canal", "Channel"),
    ("ops.closed_requests", "Demandes fermées", "Closed requests"),
    ("ops.without_contact", "Sans coordonnées utilisables", "Without a usable contact"),
    ("ops.run", "Exécution", "Run"),
    ("ops.population", "Population", "Population"),
    ("ops.eligible", "Admissibles", "Eligible"),
    ("ops.sampled", "Échantillonnées", "Sampled"),
    ("ops.stratum", "Strate", "Stratum"),
    ("ops.rate", "Taux", "Rate"),
    ("ops.exclusions", "Exclusions", "Exclusions"),
    ("ops.kind", "Type", "Kind"),
    ("ops.count", "Nombre", "Count"),
    ("ops.oldest_due", "Plus ancien message en attente", "Oldest message due"),
    ("ops.failures", "Échecs par motif", "Failures by reason"),
    ("ops.sent_per_day", "Envoyés par jour", "Sent per day"),
    ("ops.day", "Jour", "Day"),
    ("ops.invitations", "Invitations", "Invitations"),
    ("ops.reminders", "Rappels", "Reminders"),
    ("ops.replay_all", "Réessayer toutes les erreurs non résolues", "Replay every unresolved error"),
    ("ops.source", "Source", "Source"),
    ("ops.reference", "Référence", "Reference"),
    ("ops.reasons", "Motifs", "Reasons"),
    ("ops.seen", "Vues", "Seen"),
    ("ops.received", "Reçue", "Received"),
    ("ops.when", "Quand", "When"),
    ("ops.who", "Qui", "Who"),
    ("ops.what", "Quoi", "What"),
    ("ops.subject", "Objet", "Subject"),
    ("ops.details", "Détails", "Details"),
    ("ops.filter", "Filtrer", "Filter"),
    ("dashboard.title", "Tableau de bord", "Dashboard"),
    ("dashboard.period", "Période", "Period"),
    ("dashboard.from", "Du", "From"),
    ("dashboard.to", "Au", "To"),
    ("dashboard.all_channels", "Tous", "All"),
    ("dashboard.weighting", "Pondération", "Weighting"),
    ("dashboard.apply", "Afficher", "Show"),
    ("dashboard.headline", "Satisfaction globale", "Overall satisfaction"),
    ("dashboard.too_few", "Trop peu de réponses pour une estimation", "Too few responses for an estimate"),
    ("dashboard.ci", "IC 95 %", "95 % CI"),
    ("dashboard.nineteen", "19 fois sur 20", "19 times out of 20"),
    ("dashboard.vs_previous", "par rapport à la période précédente", "against the previous period"),
    ("dashboard.significant", "écart significatif", "a significant change"),
    ("dashboard.not_significant", "écart non significatif", "not a significant change"),
    ("dashboard.satisfied", "Satisfaits (8 à 10)", "Satisfied (8 to 10)"),
    ("dashboard.nps", "Indice net", "Net promoter index"),
    ("dashboard.response_rate", "Taux de réponse (AAPOR RR2)", "Response rate (AAPOR RR2)"),
    ("dashboard.data_table", "Les données du graphique", "The chart's data"),
    ("dashboard.trend_table", "Les données de la tendance", "The trend's data"),
    ("dashboard.month", "Mois", "Month"),
    ("dashboard.mean", "Moyenne", "Mean"),
    (
        "dashboard.legend",
        "▲ ▼ : différence significative avec le reste de la ville (correction de Holm). Barres grises : moins de réponses que le minimum publiable.",
        "▲ ▼: significantly different from the rest of the city (Holm correction). Grey bars: fewer responses than the publishable minimum.",
    ),
    ("dashboard.last_30_days", "30 derniers jours", "Last 30 days"),
    ("dashboard.last_quarter", "Trimestre dernier", "Last quarter"),
    ("dashboard.this_year", "Cette année", "This year"),
    ("dashboard.last_year", "L’an dernier", "Last year"),
    ("dashboard.custom", "Personnalisée", "Custom range"),
    ("dashboard.adjusted", "Ajustée pour la non-réponse", "Adjusted for nonresponse"),
    ("dashboard.design", "Plan de sondage seulement", "Design only"),
    ("dashboard.unweighted", "Sans pondération", "Unweighted"),
    ("followups.title", "Suivis auprès des citoyens", "Follow-ups with citizens"),
    (
        "followups.intro",
        "Notes basses avec commentaire et besoins non comblés. Retrouvez le citoyen dans le système 311 par la référence de la demande.",
        "Low scores with a comment and needs not met. Find the citizen in the 311 system by the request's reference.",
    ),
    ("followups.contact_requested", "souhaite être contacté", "wishes to be contacted"),
    ("followups.assignee", "Responsable", "Assignee"),
    ("followups.note", "Note", "Note"),
    ("followups.save", "Enregistrer", "Save"),
    ("followups.none", "Aucun suivi.", "No follow-up."),
    ("followups.todo", "À faire", "To do"),
    ("followups.reason_low", "note basse avec commentaire", "low score with a comment"),
    ("followups.reason_no", "besoin non comblé", "need not met"),
    ("followups.in_progress", "En cours", "In progress"),
    ("followups.done", "Terminé", "Done"),
    ("followups.saved", "Suivi enregistré.", "Follow-up saved."),
    ("dashboard.follow_ups", "Suivis", "Follow-ups"),
    ("dashboard.exports", "Exporter (CSV)", "Export (CSV)"),
    ("dashboard.export_direction", "Par direction", "By direction"),
    ("dashboard.export_channel", "Par canal", "By channel"),
    ("dashboard.export_month", "Par mois", "By month"),
    ("dashboard.export_comments", "Commentaires anonymisés", "Anonymised comments"),
    ("driver.timeliness", "Délai", "Time it took"),
    ("driver.courtesy", "Courtoisie", "Courtesy"),
    ("driver.competence", "Compétence", "Competence"),
    ("driver.clarity", "Clarté de l’information", "Clarity"),
    ("driver.fairness", "Équité", "Fairness"),
    ("group.outcome", "Avez-vous obtenu ce dont vous aviez besoin?", "Did citizens get what they needed?"),
    (
        "group.contacts",
        "Nombre de contacts (résolution au premier contact)",
        "Contacts it took (first-contact resolution)",
    ),
    ("group.answer", "Réponse", "Answer"),
    ("group.share", "Part", "Share"),
    ("group.comments", "Commentaires récents", "Recent comments"),
    ("group.no_comment", "Aucun commentaire pour cette période.", "No comment in this period."),
    ("group.back", "Retour au tableau de bord", "Back to the dashboard"),
    ("dashboard.direction_pages", "Pages des directions", "Direction pages"),
    ("dashboard.channel_pages", "Pages des canaux", "Channel pages"),
    ("report.title", "Résultats du sondage de satisfaction", "Satisfaction survey results"),
    (
        "report.intro",
        "Après le traitement de leur demande au 311, des citoyens choisis au hasard sont invités à donner leur avis. Voici leur satisfaction à l’égard du service reçu, sur 10.",
        "After their 311 request is closed, randomly chosen citizens are invited to give their opinion. Here is their satisfaction with the service received, out of 10.",
    ),
    ("report.margin", "Marge d’erreur", "Margin of error"),
    ("report.city", "Ensemble de la Ville", "City-wide"),
    (
        "report.method",
        "Les résultats sont pondérés pour représenter toutes les demandes fermées, y compris les citoyens qui n’ont pas répondu. La marge d’erreur est celle d’un intervalle de confiance à 95 % (19 fois sur 20). Les directions ayant trop peu de réponses ne sont pas présentées.",
        "Results are weighted to represent every closed request, including the citizens who did not answer. The margin of error is that of a 95 % confidence interval (19 times out of 20). Directions with too few responses are not shown.",
    ),
    ("optout.title", "Ne plus recevoir de sondages", "Stop receiving surveys"),
    (
        "optout.explain",
        "En confirmant, vous ne recevrez plus d’invitation ni de rappel à nos sondages de satisfaction, pour cette demande comme pour les suivantes.",
        "If you confirm, you will receive no more invitations or reminders to our satisfaction surveys, for this request or any later one.",
    ),
    ("optout.confirm", "Confirmer", "Confirm"),
    ("optout.done_title", "C’est noté", "Done"),
    (
        "optout.done",
        "Vous ne recevrez plus de sondages de satisfaction de notre part. Merci de nous l’avoir indiqué.",
        "You will receive no more satisfaction surveys from us. Thank you for letting us know.",
    ),
    ("error.title", "Une erreur est survenue", "Something went wrong"),
    ("error.404", "Cette page n’existe pas.", "This page does not exist."),
    ("error.back_home", "Retour à l’accueil", "Back to the home page"),
    (
        "error.500",
        "Le service a rencontré un problème. Veuillez réessayer plus tard.",
        "The service ran into a problem. Please try again later.",
    ),
    (
        "error.503",
        "Le service est temporairement indisponible. Veuillez réessayer dans quelques minutes.",
        "The service is temporarily unavailable. Please try again in a few minutes.",
    ),
    ("error.400", "La requête n’a pas pu être comprise.", "The request could not be understood."),
    ("error.401", "Veuillez vous connecter pour accéder à cette page.", "Please sign in to see this page."),
    ("error.403", "Vous n’avez pas accès à cette page.", "You do not have access to this page."),
];

pub fn translate(locale: Locale, key: &str) -> Option<&'static str> {
    MESSAGES.iter().find(|(k, _, _)| *k == key).map(|(_, fr, en)| match locale {
        Locale::Fr => *fr,
        Locale::En => {
            if en.is_empty() {
                *fr
            } else {
                *en
            }
        }
    })
}

/// A date as the reader writes it: "1er décembre 2026", "14 décembre 2026"; "December 14, 2026".
pub fn long_date(date: chrono::NaiveDate, locale: Locale) -> String {
    use chrono::Datelike;
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = date.month0() as usize;
    match locale {
        Locale::Fr if date.day() == 1 => format!("1er {} {}", FR[month], date.year()),
        Locale::Fr => format!("{} {} {}", date.day(), FR[month], date.year()),
        Locale::En => format!("{} {}, {}", EN[month], date.day(), date.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_french_is_complete() {
        let mut keys: Vec<&str> = MESSAGES.iter().map(|m| m.0).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "duplicate message key");
        assert!(MESSAGES.iter().all(|m| !m.1.is_empty()));
        assert_eq!(translate(Locale::Fr, "nav.home"), Some("Accueil"));
        assert_eq!(translate(Locale::En, "nav.home"), Some("Home"));
        assert_eq!(translate(Locale::En, "no.such.key"), None);
    }

    #[test]
    fn dates_are_written_as_readers_write_them() {
        let date = |raw: &str| raw.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(long_date(date("2026-12-14"), Locale::Fr), "14 décembre 2026");
        assert_eq!(long_date(date("2026-12-01"), Locale::Fr), "1er décembre 2026");
        assert_eq!(long_date(date("2026-08-03"), Locale::En), "August 3, 2026");
    }
}
