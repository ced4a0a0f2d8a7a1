//! `GET /dashboard`: the overview for management (any logged-in role), its filter in the URL so
//! a view can be bookmarked and shared. A user limited to a direction sees that direction's
//! figures only: the filter is fixed and the reporting services enforce it.

use minijinja::{Value, context};
use rocket::{State, get, http::Status, response::Redirect, response::content::RawHtml, routes};

use crate::dashboard::{self, Filter, Preset};
use crate::i18n;
use crate::jobs::Jobs;
use crate::reporting::Scope;
use crate::templates::Templates;
use crate::web::error::AppError;
use crate::web::guards::LoggedIn;
use crate::web::page::PageMeta;

#[allow(clippy::too_many_arguments)]
#[get("/dashboard?<period>&<from>&<to>&<direction>&<channel>&<weighting>")]
async fn overview(
    logged_in: LoggedIn,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    direction: Option<&str>,
    channel: Option<&str>,
    weighting: Option<&str>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<(Status, RawHtml<String>), AppError> {
    let locale = meta.locale;
    let settings = &jobs.settings;
    let today = jobs.clock.now().with_timezone(&settings.time_zone).date_naive();
    let scope = logged_in.user.direction.clone().map_or(Scope::All, Scope::Direction);
    // A scoped user's direction is fixed, whatever the URL says.
    let direction = match &scope {
        Scope::Direction(own) => Some(own.as_str()),
        Scope::All => direction,
    };
    let filter = Filter::parse(period, from, to, direction, channel, weighting, today);
    let (status, overview, problem) = match &filter {
        Ok(filter) => match dashboard::overview(&jobs.db, settings, &scope, filter, locale).await {
            Ok(overview) => (Status::Ok, Some(overview), None),
            Err(crate::reporting::ReportError::Invalid(problem)) => (Status::BadRequest, None, Some(problem)),
            Err(err) => return Err(err.into()),
        },
        Err(problem) => (Status::BadRequest, None, Some(problem.clone())),
    };
    let fr = locale == crate::domain::Locale::Fr;
    let directions: Vec<Value> = crate::db::repo::directions::list(&jobs.db)
        .await?
        .into_iter()
        .map(|d| context! { code => d.code, name => if fr { d.name_fr } else { d.name_en } })
        .collect();
    let channels: Vec<Value> = {
        use sea_orm::EntityTrait;
        crate::db::entities::channel::Entity::find()
            .all(&jobs.db)
            .await?
            .into_iter()
            .map(|c| context! { code => c.code, name => if fr { c.name_fr } else { c.name_en } })
            .collect()
    };
    let label = |key: &str| i18n::translate(locale, key).unwrap_or(key).to_owned();
    let presets: Vec<Value> = Preset::ALL
        .into_iter()
        .map(|p| context! { value => p.as_str(), label => label(&format!("dashboard.{}", p.as_str())) })
        .collect();
    let weightings: Vec<Value> = ["adjusted", "design", "unweighted"]
        .into_iter()
        .map(|w| context! { value => w, label => label(&format!("dashboard.{w}")) })
        .collect();
    let filter = filter.ok();
    // The follow-ups waiting, for those who work them.
    let follow_ups: Option<Vec<Value>> = if logged_in.user.role == crate::domain::Role::Viewer {
        None
    } else {
        let direction = logged_in.user.direction.as_deref();
        let counts = crate::db::repo::follow_ups::counts(&jobs.db, direction).await?;
        Some(
            crate::db::repo::follow_ups::STATUSES
                .iter()
                .map(|s| {
                    let n = counts.iter().find(|(status, _)| status == s).map_or(0, |(_, n)| *n);
                    context! { value => *s, label => label(&format!("followups.{s}")), n }
                })
                .collect(),
        )
    };
    // The filter as a query string, for the export links (analysts and administrators).
    let filter_query = filter.as_ref().map(|f| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs.append_pair("period", f.preset.as_str());
        pairs.append_pair("from", &f.from.to_string());
        pairs.append_pair("to", &f.to.to_string());
        pairs.append_pair("weighting", &f.weighting);
        if let Some(d) = &f.direction {
            pairs.append_pair("direction", d);
        }
        if let Some(c) = &f.channel {
            pairs.append_pair("channel", c);
        }
        pairs.finish()
    });
    let export_query = filter_query.clone().filter(|_| follow_ups.is_some());
    let ctx = context! {
        filter_query,
        export_query,
        follow_ups,
        path => meta.path.clone(),
        o => overview.map(|o| Value::from(minijinja::value::Serde(o))),
        problem,
        presets,
        weightings,
        directions,
        channels,
        period => filter.as_ref().map_or("last_30_days", |f| f.preset.as_str()),
        from_value => filter.as_ref().map(|f| f.from.to_string()),
        to_value => filter.as_ref().map(|f| f.to.to_string()),
        direction => filter.as_ref().and_then(|f| f.direction.clone()),
        channel => filter.as_ref().and_then(|f| f.channel.clone()),
        weighting => filter.as_ref().map_or("adjusted".to_owned(), |f| f.weighting.clone()),
        scoped => logged_in.user.direction.clone(),
    };
    Ok((status, RawHtml(templates.render("dashboard.html.j2", locale, ctx)?)))
}

#[get("/dashboard", rank = 2)]
fn anonymous() -> Redirect {
    Redirect::to("/login")
}

pub fn routes() -> Vec<rocket::Route> {
    routes![
        overview,
        anonymous,
        follow_ups,
        update_follow_up,
        export,
        export_comments,
        direction_page,
        channel_page,
        report_card
    ]
}

/// Who may read comments and work follow-ups: analysts and administrators (a viewer sees
/// figures only); a scoped analyst, their direction's.
fn comments_allowed(logged_in: &LoggedIn) -> Result<Scope, AppError> {
    if logged_in.user.role == crate::domain::Role::Viewer {
        return Err(AppError::Forbidden("comments and follow-ups are for analysts and administrators".into()));
    }
    Ok(logged_in.user.direction.clone().map_or(Scope::All, Scope::Direction))
}

/// What the follow-ups page says after a change.
struct Said {
    notice: Option<String>,
    problem: Option<String>,
}

async fn follow_ups_page(
    logged_in: &LoggedIn,
    scope: &Scope,
    status: Option<&str>,
    jobs: &Jobs,
    templates: &Templates,
    meta: &PageMeta,
    said: Said,
) -> Result<RawHtml<String>, AppError> {
    let Said { notice, problem } = said;
    use crate::db::repo::follow_ups;
    let locale = meta.locale;
    let zone = jobs.settings.time_zone;
    let status = status.filter(|s| follow_ups::STATUSES.contains(s));
    let direction = match scope {
        Scope::Direction(own) => Some(own.as_str()),
        Scope::All => None,
    };
    let items: Vec<Value> = follow_ups::list(&jobs.db, status, direction, 200)
        .await?
        .into_iter()
        .map(|f| {
            context! {
                id => f.id, crm_id => f.crm_id, direction => f.direction, channel => f.channel, score => f.overall_score,
                created => f.created_at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
                reason => i18n::translate(locale, if f.reason == "low_score" { "followups.reason_low" } else { "followups.reason_no" }).unwrap_or(""),
                contact_requested => f.contact_requested, comment => f.comment, status => f.status,
                assignee_id => f.assignee_id, note => f.note,
            }
        })
        .collect();
    let users: Vec<Value> = crate::db::repo::users::list(&jobs.db)
        .await?
        .into_iter()
        .filter(|u| u.active && u.role != "viewer")
        .map(|u| context! { id => u.id, email => u.email })
        .collect();
    let statuses: Vec<Value> = follow_ups::STATUSES
        .iter()
        .map(|s| context! { value => *s, label => i18n::translate(locale, &format!("followups.{s}")).unwrap_or(s) })
        .collect();
    let csrf = crate::sessions::form_token(jobs.settings.token_key(), &logged_in.token);
    let ctx = context! { path => meta.path.clone(), items, users, statuses, status, csrf, notice, problem };
    Ok(RawHtml(templates.render("follow_ups.html.j2", locale, ctx)?))
}

#[get("/dashboard/follow-ups?<status>")]
async fn follow_ups(
    logged_in: LoggedIn,
    status: Option<&str>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let scope = comments_allowed(&logged_in)?;
    follow_ups_page(&logged_in, &scope, status, jobs, templates, &meta, Said { notice: None, problem: None }).await
}

#[derive(rocket::FromForm)]
struct FollowUpForm {
    csrf: Option<String>,
    status: String,
    assignee: Option<String>,
    note: Option<String>,
}

#[rocket::post("/dashboard/follow-ups/<id>", data = "<form>")]
async fn update_follow_up(
    logged_in: LoggedIn,
    id: i64,
    form: rocket::form::Form<FollowUpForm>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<(Status, RawHtml<String>), AppError> {
    let scope = comments_allowed(&logged_in)?;
    let valid = form
        .csrf
        .as_deref()
        .is_some_and(|given| crate::sessions::form_token_matches(jobs.settings.token_key(), &logged_in.token, given));
    if !valid {
        return Err(AppError::BadFormToken);
    }
    let assignee = form.assignee.as_deref().and_then(|a| a.parse::<i64>().ok());
    let outcome = dashboard::update_follow_up(
        &jobs.db,
        &scope,
        id,
        &form.status,
        assignee,
        form.note.as_deref(),
        &logged_in.user.actor(),
        jobs.clock.now(),
    )
    .await;
    let (status, notice, problem) = match outcome {
        Ok(()) => (Status::Ok, i18n::translate(meta.locale, "followups.saved").map(str::to_owned), None),
        Err(dashboard::FollowUpError::Db(err)) => return Err(err.into()),
        Err(dashboard::FollowUpError::OtherDirection) => {
            return Err(AppError::Forbidden("this follow-up belongs to another direction".into()));
        }
        Err(problem) => (Status::UnprocessableEntity, None, Some(problem.to_string())),
    };
    let page = follow_ups_page(&logged_in, &scope, None, jobs, templates, &meta, Said { notice, problem }).await?;
    Ok((status, page))
}

/// A CSV file to download.
pub struct CsvFile {
    name: String,
    body: String,
}

impl CsvFile {
    pub fn new(name: &str, body: String) -> CsvFile {
        CsvFile { name: name.to_owned(), body }
    }
}

impl<'r> rocket::response::Responder<'r, 'static> for CsvFile {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        rocket::Response::build()
            .header(rocket::http::ContentType::new("text", "csv").with_params(("charset", "utf-8")))
            .header(rocket::http::Header::new("Content-Disposition", format!("attachment; filename=\"{}\"", self.name)))
            .sized_body(self.body.len(), std::io::Cursor::new(self.body))
            .ok()
    }
}

/// Every export is audited: who, what and for which filter.
async fn audit_export(
    jobs: &Jobs,
    logged_in: &LoggedIn,
    action: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let actor = logged_in.user.actor();
    crate::db::repo::audit::record(&jobs.db, jobs.clock.now(), &actor, action, None, Some(details)).await?;
    Ok(())
}

/// The filter of an export, with the exporter's scope (analysts and administrators only).
fn export_filter(logged_in: &LoggedIn, query: &ExportQuery<'_>, jobs: &Jobs) -> Result<(Scope, Filter), AppError> {
    let scope = comments_allowed(logged_in)?;
    let today = jobs.clock.now().with_timezone(&jobs.settings.time_zone).date_naive();
    let direction = match &scope {
        Scope::Direction(own) => Some(own.as_str()),
        Scope::All => query.direction,
    };
    let filter = Filter::parse(query.period, query.from, query.to, direction, query.channel, query.weighting, today)
        .map_err(|e| AppError::Report(crate::reporting::ReportError::Invalid(e)))?;
    Ok((scope, filter))
}

#[derive(rocket::FromForm)]
struct ExportQuery<'r> {
    period: Option<&'r str>,
    from: Option<&'r str>,
    to: Option<&'r str>,
    direction: Option<&'r str>,
    channel: Option<&'r str>,
    weighting: Option<&'r str>,
    /// direction, channel, month, … (as the API's `by`).
    by: Option<&'r str>,
    /// fr (`;` and "9,3", the default) or en.
    locale: Option<&'r str>,
}

/// The figures of a breakdown as CSV: the same numbers as `GET /api/v1/stats` for the filter.
#[get("/dashboard/export.csv?<query..>")]
async fn export(logged_in: LoggedIn, query: ExportQuery<'_>, jobs: &State<Jobs>) -> Result<CsvFile, AppError> {
    let (scope, filter) = export_filter(&logged_in, &query, jobs)?;
    let stats_query = crate::reporting::StatsQuery {
        by: query.by.map(str::to_owned),
        from: Some(filter.from.to_string()),
        to: Some(filter.to.to_string()),
        weighting: Some(filter.weighting.clone()),
        direction: filter.direction.clone(),
        channel: filter.channel.clone(),
        ..Default::default()
    };
    let response = crate::reporting::stats(&jobs.db, &jobs.settings, &scope, &stats_query).await?;
    let locale = query.locale.and_then(crate::domain::Locale::parse).unwrap_or_default();
    let body = crate::reporting::export::to_csv_for(&response, locale)
        .map_err(|e| sea_orm::DbErr::Custom(format!("cannot write the CSV: {e}")))?;
    let details =
        serde_json::json!({"by": query.by, "from": filter.from, "to": filter.to, "direction": filter.direction});
    audit_export(jobs, &logged_in, "export.stats", details).await?;
    Ok(CsvFile { name: format!("satisfaction-{}-{}.csv", filter.from, filter.to), body })
}

/// The comments of the period as CSV, anonymised (no e-mail address or phone number a citizen
/// may have typed), with date, direction, channel and score: nothing that names the citizen.
#[get("/dashboard/comments.csv?<query..>")]
async fn export_comments(logged_in: LoggedIn, query: ExportQuery<'_>, jobs: &State<Jobs>) -> Result<CsvFile, AppError> {
    let (_, filter) = export_filter(&logged_in, &query, jobs)?;
    let (start, end) = crate::reporting::period::bounds(Some(filter.from), Some(filter.to), jobs.settings.time_zone);
    let (start, end) = (start.unwrap_or_default(), end.unwrap_or_default());
    let rows = crate::db::repo::responses::comments(&jobs.db, start, end, filter.direction.as_deref()).await?;
    let locale = query.locale.and_then(crate::domain::Locale::parse).unwrap_or_default();
    let body = dashboard::comments_csv(&rows, jobs.settings.time_zone, locale)
        .map_err(|e| sea_orm::DbErr::Custom(format!("cannot write the CSV: {e}")))?;
    let details = serde_json::json!({"comments": rows.len(), "from": filter.from, "to": filter.to, "direction": filter.direction});
    audit_export(jobs, &logged_in, "export.comments", details).await?;
    Ok(CsvFile { name: format!("commentaires-{}-{}.csv", filter.from, filter.to), body })
}

#[allow(clippy::too_many_arguments)]
async fn group(
    kind: dashboard::GroupKind,
    code: &str,
    logged_in: &LoggedIn,
    query: &ExportQuery<'_>,
    jobs: &Jobs,
    templates: &Templates,
    meta: &PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let scope = logged_in.user.direction.clone().map_or(Scope::All, Scope::Direction);
    let today = jobs.clock.now().with_timezone(&jobs.settings.time_zone).date_naive();
    let direction = match &scope {
        Scope::Direction(own) => Some(own.as_str()),
        Scope::All => query.direction,
    };
    let filter = Filter::parse(query.period, query.from, query.to, direction, query.channel, query.weighting, today)
        .map_err(|e| AppError::Report(crate::reporting::ReportError::Invalid(e)))?;
    let with_comments = logged_in.user.role != crate::domain::Role::Viewer;
    let page = dashboard::group_page(&jobs.db, &jobs.settings, &scope, &filter, kind, code, with_comments, meta.locale)
        .await?;
    let mut back = url::form_urlencoded::Serializer::new(String::new());
    back.append_pair("period", filter.preset.as_str());
    back.append_pair("from", &filter.from.to_string());
    back.append_pair("to", &filter.to.to_string());
    back.append_pair("weighting", &filter.weighting);
    let ctx = context! { path => meta.path.clone(), g => Value::from(minijinja::value::Serde(page)), back_query => back.finish() };
    Ok(RawHtml(templates.render("dashboard_group.html.j2", meta.locale, ctx)?))
}

#[get("/dashboard/direction/<code>?<query..>")]
async fn direction_page(
    code: &str,
    logged_in: LoggedIn,
    query: ExportQuery<'_>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    group(dashboard::GroupKind::Direction, code, &logged_in, &query, jobs, templates, &meta).await
}

#[get("/dashboard/channel/<code>?<query..>")]
async fn channel_page(
    code: &str,
    logged_in: LoggedIn,
    query: ExportQuery<'_>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    group(dashboard::GroupKind::Channel, code, &logged_in, &query, jobs, templates, &meta).await
}

/// The public report card (`public_report.enabled`): no login, cacheable, nothing personal.
pub struct Cacheable(RawHtml<String>);

impl<'r> rocket::response::Responder<'r, 'static> for Cacheable {
    fn respond_to(self, request: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        let mut response = self.0.respond_to(request)?;
        response.set_header(rocket::http::Header::new("Cache-Control", "public, max-age=3600"));
        Ok(response)
    }
}

/// The report card's pages as last rendered, per language. The page is public and takes tens of
/// milliseconds of statistics to make (31 a second on two cores at the demonstration's size),
/// while its figures — complete quarters only — change only with late answers: without this,
/// anyone could keep the server's cores busy with it. One request renders while the others of
/// the same moment wait for its page.
#[derive(Default)]
pub struct ReportCardCache {
    pages:
        tokio::sync::Mutex<std::collections::HashMap<crate::domain::Locale, (chrono::DateTime<chrono::Utc>, String)>>,
}

/// How long a rendered report card is served again.
const REPORT_CARD_FRESH: chrono::Duration = chrono::Duration::minutes(10);

#[get("/resultats")]
async fn report_card(
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    cache: &State<ReportCardCache>,
    meta: PageMeta,
) -> Result<Option<Cacheable>, AppError> {
    let settings = &jobs.settings;
    if !settings.public_report.enabled {
        return Ok(None);
    }
    let now = jobs.clock.now();
    let mut pages = cache.pages.lock().await;
    if let Some((made, page)) = pages.get(&meta.locale)
        && now >= *made
        && now - *made < REPORT_CARD_FRESH
    {
        return Ok(Some(Cacheable(RawHtml(page.clone()))));
    }
    let today = now.with_timezone(&settings.time_zone).date_naive();
    let (quarters, chart) =
        dashboard::report_card(&jobs.db, settings, today, settings.public_report.quarters, meta.locale).await?;
    let ctx = context! {
        path => meta.path.clone(),
        quarters => Value::from(minijinja::value::Serde(quarters)),
        chart => Value::from(minijinja::value::Serde(chart)),
    };
    let page = templates.render("report_card.html.j2", meta.locale, ctx)?;
    pages.insert(meta.locale, (now, page.clone()));
    Ok(Some(Cacheable(RawHtml(page))))
}
