//! The figures of `StatsResponse` for people and spreadsheets: numbers in the reader's language
//! ("9,3" in French), a text table, and CSV. The CLI uses them today, the dashboard's exports next.

use super::StatsResponse;
use crate::domain::Locale;
use crate::stats::Estimate;

/// A number with `decimals` places, with a decimal comma in French.
pub fn number(value: Option<f64>, decimals: usize, locale: Locale) -> String {
    match value {
        None => "—".into(),
        Some(v) => {
            let text = format!("{v:.decimals$}");
            if locale == Locale::Fr { text.replace('.', ",") } else { text }
        }
    }
}

fn label(direction: &Option<String>, channel: &Option<String>, month: &Option<String>) -> String {
    let parts: Vec<&str> = [direction, channel, month].iter().filter_map(|p| p.as_deref()).collect();
    parts.join(" · ")
}

pub fn to_table(response: &StatsResponse, locale: Locale) -> String {
    let (overall, ci, satisfied, nps, suppressed) = match locale {
        Locale::Fr => ("Ensemble", "IC", "Satisfaits", "Indice net", "(moins de n minimal)"),
        Locale::En => ("Overall", "CI", "Satisfied", "NPS", "(below minimum n)"),
    };
    let level = format!("{ci} {}", number(Some(response.confidence_level * 100.0), 0, locale)) + " %";
    let mut out = format!(
        "{:<32} {:>7} {:>6} {:>17} {:>11} {:>11}\n",
        "",
        "n",
        if locale == Locale::Fr { "Moy." } else { "Mean" },
        level,
        satisfied,
        nps
    );
    let mut line = |name: String, e: &Estimate| {
        if e.suppressed {
            out.push_str(&format!("{name:<32} {:>7} {suppressed}\n", e.n));
            return;
        }
        let interval = format!("[{} ; {}]", number(e.ci_low, 1, locale), number(e.ci_high, 1, locale));
        out.push_str(&format!(
            "{name:<32} {:>7} {:>6} {:>17} {:>10} % {:>11}\n",
            e.n,
            number(e.mean, 1, locale),
            interval,
            number(e.satisfied.estimate.map(|p| p * 100.0), 0, locale),
            number(e.nps.estimate, 0, locale)
        ));
    };
    line(overall.to_owned(), &response.overall);
    for group in &response.groups {
        line(label(&group.direction, &group.channel, &group.month), &group.estimate);
    }
    out.push_str(&weighting_note(response, locale));
    out
}

/// What the figures are weighted by, under the table: the reader of a score must know whether
/// it stands for every closed request or only for those who answered.
fn weighting_note(response: &StatsResponse, locale: Locale) -> String {
    use super::service::Weighting;
    let fr = locale == Locale::Fr;
    let mut note = match (response.overall.weighting, fr) {
        ("adjusted", true) => "Pondération : plan de sondage, ajustée pour la non-réponse".to_owned(),
        ("adjusted", false) => "Weighting: sampling design, adjusted for nonresponse".to_owned(),
        ("mixed", true) => "Pondération : plan de sondage, ajustée pour la non-réponse \
                            (réponses importées : pondération d'origine)"
            .to_owned(),
        ("mixed", false) => {
            "Weighting: sampling design, adjusted for nonresponse (imported responses: weights as given)".to_owned()
        }
        ("unweighted", true) => "Sans pondération".to_owned(),
        ("unweighted", false) => "Unweighted".to_owned(),
        (_, true) => "Pondération : plan de sondage (1/π)".to_owned(),
        (_, false) => "Weighting: sampling design (1/π)".to_owned(),
    };
    if response.weighting == Weighting::Adjusted && response.overall.weighting == "design" {
        note.push_str(if fr {
            " ; réponses importées, sans base de sondage pour l'ajustement"
        } else {
            "; imported responses, no frame to adjust to"
        });
    }
    if let Some(deff) = response.overall.design_effect {
        let label = if fr { "effet de plan" } else { "design effect" };
        let separator = if fr { " ; " } else { "; " };
        note.push_str(&format!("{separator}{label} {}", number(Some(deff), 2, locale)));
    }
    if let Some(adjustment) = &response.adjustment
        && !adjustment.collapsed.is_empty()
    {
        let count = adjustment.collapsed.len();
        note.push_str(&if fr {
            format!(" ; {count} classe(s) regroupée(s) (moins de {} répondants)", adjustment.min_class_respondents)
        } else {
            format!("; {count} class(es) collapsed (fewer than {} respondents)", adjustment.min_class_respondents)
        });
    }
    note + ".\n"
}

/// A CSV writer for a spreadsheet in the reader's language: `;` between fields in French (where
/// the comma is the decimal sign), `,` in English.
pub fn csv_writer(locale: Locale) -> csv::Writer<Vec<u8>> {
    let delimiter = if locale == Locale::Fr { b';' } else { b',' };
    csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new())
}

pub fn to_csv(response: &StatsResponse) -> anyhow::Result<String> {
    to_csv_for(response, Locale::En)
}

/// The CSV of a breakdown for a spreadsheet in the reader's language: French ones take `;`
/// between fields and a decimal comma ("9,3"); English ones `,` and a point.
pub fn to_csv_for(response: &StatsResponse, locale: Locale) -> anyhow::Result<String> {
    let mut writer = csv_writer(locale);
    let mut header: Vec<String> =
        ["direction", "channel", "month", "n", "suppressed", "mean", "std_error", "df", "ci_low", "ci_high"]
            .map(String::from)
            .to_vec();
    for p in ["satisfied", "top2", "detractors", "nps"] {
        for suffix in ["", "_std_error", "_ci_low", "_ci_high"] {
            header.push(format!("{p}{suffix}"));
        }
    }
    header.push("weighting".into());
    writer.write_record(&header)?;
    let cell = |v: Option<f64>| {
        v.map(|v| if locale == Locale::Fr { v.to_string().replace('.', ",") } else { v.to_string() })
            .unwrap_or_default()
    };
    let mut rows = vec![(None, None, None, &response.overall)];
    rows.extend(
        response.groups.iter().map(|g| (g.direction.as_deref(), g.channel.as_deref(), g.month.as_deref(), &g.estimate)),
    );
    for (direction, channel, month, e) in rows {
        let mut record = vec![
            direction.unwrap_or("").to_owned(),
            channel.unwrap_or("").to_owned(),
            month.unwrap_or("").to_owned(),
            e.n.to_string(),
            e.suppressed.to_string(),
            cell(e.mean),
            cell(e.std_error),
            cell(e.df),
            cell(e.ci_low),
            cell(e.ci_high),
        ];
        for p in [&e.satisfied, &e.top2, &e.detractors] {
            record.extend([cell(p.estimate), cell(p.std_error), cell(p.ci_low), cell(p.ci_high)]);
        }
        record.extend([cell(e.nps.estimate), cell(e.nps.std_error), cell(e.nps.ci_low), cell(e.nps.ci_high)]);
        record.push(e.weighting.to_owned());
        writer.write_record(&record)?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_use_a_decimal_comma() {
        assert_eq!(number(Some(9.2844), 1, Locale::Fr), "9,3");
        assert_eq!(number(Some(9.2844), 1, Locale::En), "9.3");
        assert_eq!(number(None, 1, Locale::Fr), "—");
    }
}
