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
    let ctx = context! {
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
    routes![overview, anonymous]
}
