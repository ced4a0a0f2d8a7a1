//! The questionnaire as data (`questionnaires.definition`, versioned): items with French and
//! English labels, rendered and validated generically, so a later version needs no code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::Locale;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub fr: String,
    pub en: String,
}

impl Text {
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::Fr => &self.fr,
            Locale::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 0 to 10 (and "not applicable" when the item allows it).
    #[serde(rename = "scale_0_10")]
    Scale0To10,
    /// One of the options.
    Choice,
    /// Free text, at most `max_length` characters.
    Text,
    /// A box to tick.
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub value: String,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub kind: Kind,
    /// Where the answer goes in `responses` (score columns, `comment`, `follow_up_requested`);
    /// none: into `responses.answers`.
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub not_applicable: bool,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub options: Vec<ChoiceOption>,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchors {
    pub fr: [String; 2],
    pub en: [String; 2],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    pub min: u8,
    pub max: u8,
    pub anchors: Anchors,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub items: Vec<Item>,
    pub scale: Scale,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Questionnaire {
    pub version: i32,
    pub definition: Definition,
}

/// One item's answer, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Score(u8),
    NotApplicable,
    Choice(String),
    Text(String),
    Checked(bool),
}

/// What a citizen sent, validated: answers by item id (unanswered optional items absent).
pub type Answers = BTreeMap<String, Answer>;

/// A field's problem, in the reader's language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub item: String,
    pub message: String,
}

/// The value a "not applicable" radio button sends.
pub const NOT_APPLICABLE: &str = "na";

impl Questionnaire {
    /// Check every field of a submitted form (`fields`: name → value) against the items: each
    /// problem once, in the reader's language, in the items' order; fields the questionnaire
    /// does not have are ignored (a browser sends its own, e.g. the submit button).
    pub fn validate(&self, fields: &BTreeMap<String, String>, locale: Locale) -> Result<Answers, Vec<FieldError>> {
        let fr = locale == Locale::Fr;
        let mut answers = Answers::new();
        let mut errors = Vec::new();
        for item in &self.definition.items {
            let raw = fields.get(&item.id).map(|v| v.trim()).filter(|v| !v.is_empty());
            let mut problem = |message: String| errors.push(FieldError { item: item.id.clone(), message });
            let answer = match (item.kind, raw) {
                (Kind::Boolean, raw) => Some(Answer::Checked(matches!(raw, Some("on" | "yes" | "true" | "1")))),
                (_, None) if item.required => {
                    problem(if fr {
                        "Veuillez répondre à cette question.".into()
                    } else {
                        "Please answer this question.".into()
                    });
                    None
                }
                (_, None) => None,
                (Kind::Scale0To10, Some(NOT_APPLICABLE)) if item.not_applicable => Some(Answer::NotApplicable),
                (Kind::Scale0To10, Some(value)) => match value.parse::<u8>() {
                    Ok(score) if (self.definition.scale.min..=self.definition.scale.max).contains(&score) => {
                        Some(Answer::Score(score))
                    }
                    _ => {
                        let (min, max) = (self.definition.scale.min, self.definition.scale.max);
                        problem(if fr {
                            format!("Choisissez une note de {min} à {max}.")
                        } else {
                            format!("Choose a score from {min} to {max}.")
                        });
                        None
                    }
                },
                (Kind::Choice, Some(value)) => {
                    if item.options.iter().any(|o| o.value == value) {
                        Some(Answer::Choice(value.to_owned()))
                    } else {
                        problem(if fr {
                            "Choisissez une des réponses proposées.".into()
                        } else {
                            "Choose one of the answers offered.".into()
                        });
                        None
                    }
                }
                (Kind::Text, Some(value)) => {
                    let max = item.max_length.unwrap_or(2000);
                    let length = value.chars().count();
                    if length > max {
                        problem(if fr {
                            format!("Votre commentaire compte {length} caractères; le maximum est {max}.")
                        } else {
                            format!("Your comment has {length} characters; the limit is {max}.")
                        });
                        None
                    } else {
                        Some(Answer::Text(value.to_owned()))
                    }
                }
            };
            if let Some(answer) = answer {
                answers.insert(item.id.clone(), answer);
            }
        }
        if errors.is_empty() { Ok(answers) } else { Err(errors) }
    }

    /// Whether every 0–10 item was answered (a score or "not applicable"): a complete response
    /// (AAPOR's I), else a partial one (P).
    pub fn is_complete(&self, answers: &Answers) -> bool {
        self.definition.items.iter().filter(|i| i.kind == Kind::Scale0To10).all(|i| answers.contains_key(&i.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2() -> Questionnaire {
        let definition = serde_json::from_str(migration::QUESTIONNAIRE_V2).expect("v2 parses");
        Questionnaire { version: 2, definition }
    }

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_full_answer_is_valid_and_complete() {
        let q = v2();
        let fields = form(&[
            ("overall", "9"),
            ("timeliness", "8"),
            ("courtesy", "na"),
            ("competence", "10"),
            ("clarity", "7"),
            ("fairness", "9"),
            ("outcome", "partly"),
            ("contacts", "3+"),
            ("comment", "  Merci à l’équipe  "),
            ("follow_up", "on"),
            ("submit", "Envoyer"),
        ]);
        let answers = q.validate(&fields, Locale::Fr).unwrap();
        assert_eq!(answers["overall"], Answer::Score(9));
        assert_eq!(answers["courtesy"], Answer::NotApplicable);
        assert_eq!(answers["contacts"], Answer::Choice("3+".into()));
        assert_eq!(answers["comment"], Answer::Text("Merci à l’équipe".into()));
        assert_eq!(answers["follow_up"], Answer::Checked(true));
        assert!(q.is_complete(&answers));
    }

    #[test]
    fn each_bad_field_gets_its_message() {
        let q = v2();
        let long = "é".repeat(2001);
        let fields = form(&[("timeliness", "11"), ("outcome", "maybe"), ("comment", &long), ("overall", "")]);
        let errors = q.validate(&fields, Locale::Fr).unwrap_err();
        let by_item: Vec<(&str, &str)> = errors.iter().map(|e| (e.item.as_str(), e.message.as_str())).collect();
        assert_eq!(
            by_item,
            [
                ("overall", "Veuillez répondre à cette question."),
                ("timeliness", "Choisissez une note de 0 à 10."),
                ("outcome", "Choisissez une des réponses proposées."),
                ("comment", "Votre commentaire compte 2001 caractères; le maximum est 2000."),
            ]
        );
        // 2,000 characters of two bytes each are allowed: characters, not bytes.
        let fields = form(&[("overall", "5"), ("comment", &"é".repeat(2000))]);
        let answers = q.validate(&fields, Locale::En).unwrap();
        assert!(!q.is_complete(&answers), "drivers left out: a partial response");
        assert!(q.validate(&form(&[("overall", "na")]), Locale::En).is_err(), "the overall score has no N/A");
        assert_eq!(q.validate(&form(&[]), Locale::En).unwrap_err()[0].message, "Please answer this question.");
    }
}
