//! The management dashboard's figures: the overview of a period (the headline as the city writes
//! it, its change against the previous period of the same length, the response rate, the
//! breakdowns by direction and by channel with Holm-marked differences, the monthly trend), as a
//! view model of preformatted French or English strings and chart geometry. Every figure comes
//! from the reporting services — the same numbers as `GET /api/v1/stats` for the same filter —
//! under the caller's `Scope`.

pub mod charts;

use chrono::{Datelike, Duration, NaiveDate};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::config::Settings;
use crate::db::repo;
use crate::domain::{Locale, Month};
use crate::reporting::{
    self, ReportError, Scope, StatsQuery,
    analysis::{self, CompareQuery, CompareResponse},
    export::number,
};
use charts::{BarInput, BarsChart, PointInput, TrendChart, integer};

/// The period presets of the filter bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Last30Days,
    LastQuarter,
    ThisYear,
    LastYear,
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 5] =
        [Preset::Last30Days, Preset::LastQuarter, Preset::ThisYear, Preset::LastYear, Preset::Custom];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Last30Days => "last_30_days",
            Preset::LastQuarter => "last_quarter",
            Preset::ThisYear => "this_year",
            Preset::LastYear => "last_year",
            Preset::Custom => "custom",
        }
    }

    pub fn parse(raw: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// The dates the preset covers, as of `today` (city time).
    pub fn dates(self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a valid date");
        match self {
            Preset::Last30Days => Some((today - Duration::days(29), today)),
            Preset::LastQuarter => {
                let quarter_start = ymd(today.year(), (today.month0() / 3) * 3 + 1, 1);
                let previous_start = if quarter_start.month() == 1 {
                    ymd(quarter_start.year() - 1, 10, 1)
                } else {
                    ymd(quarter_start.year(), quarter_start.month() - 3, 1)
                };
                Some((previous_start, quarter_start - Duration::days(1)))
            }
            Preset::ThisYear => Some((ymd(today.year(), 1, 1), today)),
            Preset::LastYear => Some((ymd(today.year() - 1, 1, 1), ymd(today.year() - 1, 12, 31))),
            Preset::Custom => None,
        }
    }
}

/// What the filter bar asks, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub preset: Preset,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub direction: Option<String>,
    pub channel: Option<String>,
    /// adjusted (the default), design or unweighted.
    pub weighting: String,
}

impl Filter {
    /// From the query string; `today` in city time. A custom range needs both dates.
    pub fn parse(
        preset: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        direction: Option<&str>,
        channel: Option<&str>,
        weighting: Option<&str>,
        today: NaiveDate,
    ) -> Result<Filter, String> {
        let preset = match preset.filter(|p| !p.is_empty()) {
            None => Preset::Last30Days,
            Some(raw) => Preset::parse(raw).ok_or_else(|| format!("unknown period {raw:?}"))?,
        };
        let (from, to) = match preset.dates(today) {
            Some(dates) => dates,
            None => {
                let date = |field: &str, raw: Option<&str>| {
                    raw.filter(|r| !r.is_empty())
                        .ok_or_else(|| format!("a custom period needs {field}"))
                        .and_then(|r| reporting::period::parse_date(field, r))
                };
                let (from, to) = (date("from", from)?, date("to", to)?);
                if from > to {
                    return Err(format!("from ({from}) is after to ({to})"));
                }
                (from, to)
            }
        };
        let weighting = weighting.filter(|w| !w.is_empty()).unwrap_or("adjusted");
        if !matches!(weighting, "adjusted" | "design" | "unweighted") {
            return Err(format!("unknown weighting {weighting:?}"));
        }
        let keep = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(Filter {
            preset,
            from,
            to,
            direction: keep(direction),
            channel: keep(channel),
            weighting: weighting.to_owned(),
        })
    }

    fn query(&self, by: &str, from: NaiveDate, to: NaiveDate) -> StatsQuery {
        StatsQuery {
            by: Some(by.to_owned()),
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            weighting: Some(self.weighting.clone()),
            direction: self.direction.clone(),
            channel: self.channel.clone(),
            ..StatsQuery::default()
        }
    }
}

/// The overview, ready for the template.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub from: String,
    pub to: String,
    pub suppressed: bool,
    pub n: String,
    pub mean: String,
    pub margin: String,
    pub satisfied: String,
    pub nps: String,
    pub response_rate: String,
    /// "+0,2" against the previous period of the same length, and whether it is significant.
    pub change: Option<String>,
    pub change_significant: bool,
    pub previous: String,
    pub weighting: String,
    pub by_direction: BarsChart,
    pub by_channel: BarsChart,
    pub trend: TrendChart,
}

/// A share as "68 %" (no figure: "—").
fn percent(share: Option<f64>, locale: Locale) -> String {
    match share {
        Some(p) => format!("{} %", number(Some(p * 100.0), 0, locale)),
        None => "—".to_owned(),
    }
}

/// Bars from a breakdown and its comparison of each group with the rest.
fn bar_inputs(
    groups: &[crate::stats::estimate::GroupEstimate],
    comparison: &CompareResponse,
    name: &dyn Fn(&str) -> String,
    key: &dyn Fn(&crate::stats::estimate::GroupEstimate) -> Option<String>,
) -> Vec<BarInput> {
    let CompareResponse::Groups(compared) = comparison else { return Vec::new() };
    groups
        .iter()
        .filter_map(|g| {
            let code = key(g)?;
            let significance = compared
                .groups
                .iter()
                .find(|c| c.direction.as_deref() == Some(code.as_str()) || c.channel.as_deref() == Some(code.as_str()))
                .filter(|c| c.differs)
                .and_then(|c| c.comparison.difference)
                .map_or(0, |d| if d > 0.0 { 1 } else { -1 });
            Some(BarInput {
                label: name(&code),
                mean: g.estimate.mean,
                ci_low: g.estimate.ci_low,
                ci_high: g.estimate.ci_high,
                n: g.estimate.n,
                suppressed: g.estimate.suppressed,
                significance,
            })
        })
        .collect()
}

/// The overview of `filter`, under `scope`, in `locale`.
pub async fn overview(
    db: &impl ConnectionTrait,
    settings: &Settings,
    scope: &Scope,
    filter: &Filter,
    locale: Locale,
) -> Result<Overview, ReportError> {
    let fr = locale == Locale::Fr;
    let (from, to) = (filter.from, filter.to);
    let length = to - from + Duration::days(1);
    let (previous_from, previous_to) = (from - length, from - Duration::days(1));
    let trend_from = Month::containing(to).first_day() - Duration::days(1);
    let trend_from =
        (0..10).fold(Month::containing(trend_from), |m, _| Month::containing(m.first_day() - Duration::days(1)));
    let (headline, previous_query, whole, by_direction_query, by_channel_query, monthly_query) = (
        filter.query("", from, to),
        filter.query("", previous_from, previous_to),
        filter.query("", from, to),
        filter.query("direction", from, to),
        filter.query("channel", from, to),
        filter.query("month", trend_from.first_day(), to),
    );
    let change_query = CompareQuery {
        a_from: Some(from.to_string()),
        a_to: Some(to.to_string()),
        b_from: Some(previous_from.to_string()),
        b_to: Some(previous_to.to_string()),
        common: whole.clone(),
    };
    let direction_compare = CompareQuery { common: by_direction_query.clone(), ..CompareQuery::default() };
    let channel_compare = CompareQuery { common: by_channel_query.clone(), ..CompareQuery::default() };
    // The figures are independent: asked at once, each on its own pooled connection.
    let (now, previous, change, rates, by_direction, direction_tests, by_channel, channel_tests, monthly) = tokio::try_join!(
        reporting::stats(db, settings, scope, &headline),
        reporting::stats(db, settings, scope, &previous_query),
        analysis::compare(db, settings, scope, &change_query),
        analysis::response_rates(db, settings, scope, &whole),
        reporting::stats(db, settings, scope, &by_direction_query),
        analysis::compare(db, settings, scope, &direction_compare),
        reporting::stats(db, settings, scope, &by_channel_query),
        analysis::compare(db, settings, scope, &channel_compare),
        reporting::stats(db, settings, scope, &monthly_query),
    )?;

    let directions = repo::directions::list(db).await?;
    let direction_name = |code: &str| {
        directions
            .iter()
            .find(|d| d.code == code)
            .map_or(code.to_owned(), |d| if fr { d.name_fr.clone() } else { d.name_en.clone() })
    };
    let channels = {
        use sea_orm::EntityTrait;
        crate::db::entities::channel::Entity::find().all(db).await?
    };
    let channel_name = |code: &str| {
        channels
            .iter()
            .find(|c| c.code == code)
            .map_or(code.to_owned(), |c| if fr { c.name_fr.clone() } else { c.name_en.clone() })
    };

    let min_n = settings.stats.min_n;
    let reference = now.overall.mean.filter(|_| !now.overall.suppressed);
    let direction_bars = bar_inputs(&by_direction.groups, &direction_tests, &direction_name, &|g| g.direction.clone());
    let channel_bars = bar_inputs(&by_channel.groups, &channel_tests, &channel_name, &|g| g.channel.clone());
    let points: Vec<PointInput> = monthly
        .groups
        .iter()
        .map(|g| PointInput {
            month: g.month.clone().unwrap_or_default(),
            mean: g.estimate.mean,
            ci_low: g.estimate.ci_low,
            ci_high: g.estimate.ci_high,
            suppressed: g.estimate.suppressed,
        })
        .collect();
    let (change_text, significant) = match &change {
        CompareResponse::Periods(p) if !now.overall.suppressed && !previous.overall.suppressed => {
            let difference = p.comparison.difference;
            let text = difference.map(|d| {
                let sign = if d > 0.0 {
                    "+"
                } else if d < 0.0 {
                    "−"
                } else {
                    "±"
                };
                format!("{sign}{}", number(Some(d.abs()), 1, locale))
            });
            (text, p.comparison.p_value.is_some_and(|p| p < 1.0 - settings.stats.confidence))
        }
        _ => (None, false),
    };
    let half_width = match (now.overall.ci_low, now.overall.ci_high) {
        (Some(low), Some(high)) => Some((high - low) / 2.0),
        _ => None,
    };
    let title = |fr_text: &str, en_text: &str| if fr { fr_text.to_owned() } else { en_text.to_owned() };
    Ok(Overview {
        from: crate::i18n::long_date(from, locale),
        to: crate::i18n::long_date(to, locale),
        suppressed: now.overall.suppressed,
        n: integer(now.overall.n, locale),
        mean: number(now.overall.mean, 1, locale),
        margin: format!("± {}", number(half_width, 1, locale)),
        satisfied: percent(now.overall.satisfied.estimate, locale),
        nps: number(now.overall.nps.estimate, 0, locale),
        response_rate: percent(rates.overall.rr2, locale),
        change: change_text,
        change_significant: significant,
        previous: number(previous.overall.mean, 1, locale),
        weighting: now.weighting.as_str().to_owned(),
        by_direction: charts::bars(
            "by-direction",
            &title("Satisfaction par direction", "Satisfaction by direction"),
            reference,
            &direction_bars,
            locale,
            min_n,
        ),
        by_channel: charts::bars(
            "by-channel",
            &title("Satisfaction par canal", "Satisfaction by channel"),
            reference,
            &channel_bars,
            locale,
            min_n,
        ),
        trend: charts::trend("trend", &title("Tendance mensuelle", "Monthly trend"), &points, locale),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum FollowUpError {
    #[error("unknown status {0:?}; expected todo, in_progress or done")]
    UnknownStatus(String),
    #[error("the note is {0} characters long; the limit is 2,000")]
    NoteTooLong(usize),
    #[error("no follow-up #{0}")]
    Unknown(i64),
    #[error("this follow-up belongs to another direction")]
    OtherDirection,
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
}

/// Move a follow-up to `status`, with its assignee and note, under `scope`; the change goes to
/// the audit log (the note's text does not: staff may write personal details in it).
#[allow(clippy::too_many_arguments)]
pub async fn update_follow_up<C>(
    db: &C,
    scope: &Scope,
    id: i64,
    status: &str,
    assignee_id: Option<i64>,
    note: Option<&str>,
    actor: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), FollowUpError>
where
    C: ConnectionTrait + sea_orm::TransactionTrait,
{
    use sea_orm::TransactionSession;
    if !repo::follow_ups::STATUSES.contains(&status) {
        return Err(FollowUpError::UnknownStatus(status.to_owned()));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(length) = note.map(|n| n.chars().count()).filter(|l| *l > 2000) {
        return Err(FollowUpError::NoteTooLong(length));
    }
    let direction = repo::follow_ups::direction_of(db, id).await?.ok_or(FollowUpError::Unknown(id))?;
    if let Scope::Direction(own) = scope
        && *own != direction
    {
        return Err(FollowUpError::OtherDirection);
    }
    let txn = crate::db::begin_write(db).await?;
    repo::follow_ups::update(&txn, id, status, assignee_id, note, now).await?;
    let details = serde_json::json!({"status": status, "assignee": assignee_id, "note": note.is_some()});
    repo::audit::record(&txn, now, actor, "follow_up.update", Some(format!("follow_up:{id}")), Some(details)).await?;
    txn.commit().await?;
    Ok(())
}

/// The comments of a period as CSV, in the reader's language: date (in the city), direction,
/// channel, score and the comment anonymised — nothing that names the citizen.
pub fn comments_csv(
    rows: &[crate::db::repo::responses::CommentRow],
    zone: chrono_tz::Tz,
    locale: crate::domain::Locale,
) -> anyhow::Result<String> {
    let mut writer = crate::reporting::export::csv_writer(locale);
    writer.write_record(["date", "direction", "channel", "score", "comment"])?;
    for row in rows {
        let date = row.submitted_at.with_timezone(&zone).date_naive().to_string();
        let score = row.overall_score.to_string();
        writer.write_record([date.as_str(), &row.direction, &row.channel, &score, &anonymise(&row.comment)])?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// A comment as an export gives it: e-mail addresses and phone numbers a citizen may have typed
/// are replaced ("[courriel]", "[téléphone]"), so an export holds no contact data.
pub fn anonymise(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .map(|word| if word.contains('@') { "[courriel]".to_owned() } else { word.to_owned() })
        .collect();
    let text = words.join(" ");
    // Runs of digits and the signs phone numbers are written with, holding seven digits or more.
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let digits = run.chars().filter(char::is_ascii_digit).count();
        if digits >= 7 {
            let trimmed = run.trim_end_matches([' ', '-', '.', '(']);
            out.push_str("[téléphone]");
            out.push_str(&run[trimmed.len()..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        let starts = run.is_empty() && matches!(c, '+' | '(');
        let continues = !run.is_empty() && matches!(c, ' ' | '-' | '.' | '(' | ')');
        let phone_char = c.is_ascii_digit() || starts || continues;
        if phone_char {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comments_export_is_anonymised_in_the_readers_language() {
        let row = crate::db::repo::responses::CommentRow {
            // 01:30 UTC is still the evening before in Toronto.
            submitted_at: "2026-11-02T01:30:00Z".parse().unwrap(),
            direction: "TP".into(),
            channel: "phone".into(),
            overall_score: 3,
            comment: "Rappelez-moi au 418 555-0134; merci".into(),
        };
        let french = comments_csv(std::slice::from_ref(&row), chrono_tz::America::Toronto, crate::domain::Locale::Fr);
        // The French separator stands in the comment: the field is quoted.
        assert_eq!(
            french.unwrap(),
            "date;direction;channel;score;comment\n2026-11-01;TP;phone;3;\"Rappelez-moi au [téléphone]; merci\"\n"
        );
        let english = comments_csv(&[row], chrono_tz::America::Toronto, crate::domain::Locale::En).unwrap();
        assert_eq!(
            english,
            "date,direction,channel,score,comment\n2026-11-01,TP,phone,3,Rappelez-moi au [téléphone]; merci\n"
        );
    }

    #[test]
    fn exports_hold_no_contact_typed_in_a_comment() {
        assert_eq!(
            anonymise("Écrivez-moi à jean.tremblay@courriel.example ou au 418 555-0134. Merci pour les 3 visites!"),
            "Écrivez-moi à [courriel] ou au [téléphone]. Merci pour les 3 visites!"
        );
        assert_eq!(anonymise("Appelez le +1 (418) 555-0199 svp"), "Appelez le [téléphone] svp");
        assert_eq!(anonymise("Délai de 10 jours, le 3 novembre"), "Délai de 10 jours, le 3 novembre");
        // A date written with seven digits or more goes too: better too much than a number left.
        assert_eq!(anonymise("le 2026-11-03"), "le [téléphone]");
    }

    #[test]
    fn presets_cover_the_periods_they_name() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let d = |raw: &str| raw.parse::<NaiveDate>().unwrap();
        assert_eq!(Preset::Last30Days.dates(today), Some((d("2026-11-01"), d("2026-11-30"))));
        assert_eq!(Preset::LastQuarter.dates(today), Some((d("2026-07-01"), d("2026-09-30"))));
        assert_eq!(Preset::LastQuarter.dates(d("2026-02-10")), Some((d("2025-10-01"), d("2025-12-31"))));
        assert_eq!(Preset::ThisYear.dates(today), Some((d("2026-01-01"), today)));
        assert_eq!(Preset::LastYear.dates(today), Some((d("2025-01-01"), d("2025-12-31"))));
        assert!(Filter::parse(Some("custom"), Some("2026-02-01"), None, None, None, None, today).is_err());
    }
}

/// A share of the answers to a choice item.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub label: String,
    pub count: String,
    pub percent: String,
}

/// A comment shown to analysts on a group's page (stored as written, escaped by the template).
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub date: String,
    pub score: i16,
    pub channel: String,
    pub text: String,
}

/// A direction's or a channel's page: its overview, its drivers, what citizens got and how many
/// contacts it took, and (for those allowed) its comments.
#[derive(Debug, Clone, Serialize)]
pub struct GroupPage {
    pub name: String,
    pub overview: Overview,
    pub drivers: BarsChart,
    pub outcome: Vec<Share>,
    pub contacts: Vec<Share>,
    pub comments: Option<Vec<Comment>>,
}

/// Which kind of group a page is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Direction,
    Channel,
}

#[allow(clippy::too_many_arguments)]
pub async fn group_page(
    db: &impl ConnectionTrait,
    settings: &Settings,
    scope: &Scope,
    filter: &Filter,
    kind: GroupKind,
    code: &str,
    with_comments: bool,
    locale: Locale,
) -> Result<GroupPage, ReportError> {
    use sea_orm::EntityTrait;
    let fr = locale == Locale::Fr;
    let mut filter = filter.clone();
    let name = match kind {
        GroupKind::Direction => {
            let direction = repo::directions::find_by_code(db, code)
                .await?
                .ok_or_else(|| ReportError::Invalid(format!("unknown direction code {code:?}")))?;
            filter.direction = Some(direction.code.clone());
            if fr { direction.name_fr } else { direction.name_en }
        }
        GroupKind::Channel => {
            let channel = crate::db::entities::channel::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .find(|c| c.code == code)
                .ok_or_else(|| ReportError::Invalid(format!("unknown channel {code:?}")))?;
            filter.channel = Some(channel.code.clone());
            if fr { channel.name_fr } else { channel.name_en }
        }
    };
    let overview = overview(db, settings, scope, &filter, locale).await?;
    // The drivers are given with design weights (the adjustment applies to the overall score).
    let weighting = if filter.weighting == "unweighted" { "unweighted" } else { "design" };
    let drivers = analysis::drivers(
        db,
        settings,
        scope,
        &StatsQuery { weighting: Some(weighting.into()), ..filter.query("", filter.from, filter.to) },
    )
    .await?;
    let driver_rows: Vec<BarInput> = drivers
        .drivers
        .iter()
        .map(|d| {
            let label = crate::i18n::translate(locale, &format!("driver.{}", d.driver)).unwrap_or(d.driver);
            let r = d.correlation.r.map(|r| format!(" (r = {})", number(Some(r), 2, locale))).unwrap_or_default();
            BarInput {
                label: format!("{label}{r}"),
                mean: d.mean,
                ci_low: d.ci_low,
                ci_high: d.ci_high,
                n: d.n,
                suppressed: d.suppressed,
                significance: 0,
            }
        })
        .collect();
    let title = if fr {
        "Les facteurs de satisfaction (moyenne, corrélation r avec la note globale)"
    } else {
        "Drivers (mean, correlation r with the overall score)"
    };
    let drivers = charts::bars("drivers", title, None, &driver_rows, locale, settings.stats.min_n);
    let (start, end) = reporting::period::bounds(Some(filter.from), Some(filter.to), settings.time_zone);
    let (start, end) = (start.unwrap_or_default(), end.unwrap_or_default());
    let shares = |counts: Vec<(String, i64)>, order: &[(&str, &str, &str)]| -> Vec<Share> {
        let total: i64 = counts.iter().map(|(_, n)| n).sum();
        order
            .iter()
            .map(|(value, fr_label, en_label)| {
                let n = counts.iter().find(|(v, _)| v == value).map_or(0, |(_, n)| *n);
                Share {
                    label: if fr { (*fr_label).to_owned() } else { (*en_label).to_owned() },
                    count: integer(n as u64, locale),
                    percent: percent((total > 0).then(|| n as f64 / total as f64), locale),
                }
            })
            .collect()
    };
    let (direction, channel) = (filter.direction.as_deref(), filter.channel.as_deref());
    let outcome = shares(
        repo::responses::choice_counts(db, "outcome", start, end, direction, channel).await?,
        &[("yes", "Oui", "Yes"), ("partly", "En partie", "Partly"), ("no", "Non", "No")],
    );
    let contacts = shares(
        repo::responses::choice_counts(db, "contacts", start, end, direction, channel).await?,
        &[("1", "Une fois", "Once"), ("2", "Deux fois", "Twice"), ("3+", "Trois fois ou plus", "Three times or more")],
    );
    let comments = if with_comments {
        let zone = settings.time_zone;
        let mut rows = repo::responses::comments(db, start, end, direction).await?;
        if let Some(channel) = channel {
            rows.retain(|r| r.channel == channel);
        }
        rows.reverse();
        Some(
            rows.into_iter()
                .take(50)
                .map(|r| Comment {
                    date: r.submitted_at.with_timezone(&zone).date_naive().to_string(),
                    score: r.overall_score,
                    channel: r.channel,
                    text: r.comment,
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(GroupPage { name, overview, drivers, outcome, contacts, comments })
}

/// One quarter of the public report card.
#[derive(Debug, Clone, Serialize)]
pub struct QuarterFigures {
    pub label: String,
    pub city: String,
    pub margin: String,
    pub n: String,
    pub suppressed: bool,
    /// Each direction with enough responses: (name, score, margin, n).
    pub directions: Vec<(String, String, String, String)>,
}

/// The public report card: the city-wide score and each direction's, per complete quarter (the
/// latest `quarters`, newest first), weighted for nonresponse; groups under the publishable
/// minimum are left out; no comment, nothing personal.
pub async fn report_card(
    db: &impl ConnectionTrait,
    settings: &Settings,
    today: NaiveDate,
    quarters: u32,
    locale: Locale,
) -> Result<(Vec<QuarterFigures>, TrendChart), ReportError> {
    let fr = locale == Locale::Fr;
    let directions = repo::directions::list(db).await?;
    let quarter_start = NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1).expect("a date");
    let mut figures = Vec::new();
    let mut points = Vec::new();
    let mut end = quarter_start - Duration::days(1);
    for _ in 0..quarters {
        let start = NaiveDate::from_ymd_opt(end.year(), (end.month0() / 3) * 3 + 1, 1).expect("a date");
        let label = if fr {
            format!("T{} {}", end.month0() / 3 + 1, end.year())
        } else {
            format!("Q{} {}", end.month0() / 3 + 1, end.year())
        };
        let query = StatsQuery {
            by: Some("direction".into()),
            from: Some(start.to_string()),
            to: Some(end.to_string()),
            weighting: Some("adjusted".into()),
            ..StatsQuery::default()
        };
        let stats = reporting::stats(db, settings, &Scope::All, &query).await?;
        let margin = |e: &crate::stats::Estimate| match (e.ci_low, e.ci_high) {
            (Some(low), Some(high)) => format!("± {}", number(Some((high - low) / 2.0), 1, locale)),
            _ => "—".into(),
        };
        let rows = stats
            .groups
            .iter()
            .filter(|g| !g.estimate.suppressed && g.estimate.mean.is_some())
            .map(|g| {
                let code = g.direction.clone().unwrap_or_default();
                let name = directions
                    .iter()
                    .find(|d| d.code == code)
                    .map_or(code.clone(), |d| if fr { d.name_fr.clone() } else { d.name_en.clone() });
                (name, number(g.estimate.mean, 1, locale), margin(&g.estimate), integer(g.estimate.n, locale))
            })
            .collect();
        points.push(PointInput {
            month: label.clone(),
            mean: stats.overall.mean,
            ci_low: stats.overall.ci_low,
            ci_high: stats.overall.ci_high,
            suppressed: stats.overall.suppressed,
        });
        figures.push(QuarterFigures {
            label,
            city: number(stats.overall.mean, 1, locale),
            margin: margin(&stats.overall),
            n: integer(stats.overall.n, locale),
            suppressed: stats.overall.suppressed || stats.overall.mean.is_none(),
            directions: rows,
        });
        end = start - Duration::days(1);
    }
    points.reverse();
    let title = if fr {
        "La satisfaction des citoyens, trimestre par trimestre"
    } else {
        "Citizen satisfaction, quarter by quarter"
    };
    Ok((figures, charts::trend("quarters", title, &points, locale)))
}
