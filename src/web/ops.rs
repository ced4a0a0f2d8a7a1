//! The operations pages, for administrators (server-rendered, no JavaScript): users, API keys,
//! sampling runs with the frame's coverage, delivery, ingestion errors, the audit log. Every form
//! carries its session's token; every change goes through the accounts service (and so into the
//! audit log). Anonymous visitors are sent to the login page; other roles get 403.

use minijinja::{Value, context};
use rocket::{
    FromForm, Request, State,
    form::Form,
    get,
    http::Status,
    post,
    request::{FromRequest, Outcome},
    response::{Redirect, content::RawHtml},
    routes,
};

use crate::accounts::{self, NewUser};
use crate::db::repo;
use crate::domain::{Email, Role};
use crate::jobs::Jobs;
use crate::sessions;
use crate::templates::Templates;
use crate::web::error::{AppError, AuthFailure};
use crate::web::guards::LoggedIn;
use crate::web::page::PageMeta;

/// An administrator's session, and the address the request came from (for the audit log).
pub struct AdminSession(LoggedIn, Option<std::net::IpAddr>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminSession {
    type Error = &'static str;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match request.guard::<LoggedIn>().await {
            Outcome::Success(logged_in) if logged_in.user.role == Role::Admin => {
                Outcome::Success(AdminSession(logged_in, request.client_ip()))
            }
            Outcome::Success(_) => {
                request.local_cache(|| AuthFailure(Some("these pages are for administrators")));
                Outcome::Error((Status::Forbidden, "these pages are for administrators"))
            }
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(s) => Outcome::Forward(s),
        }
    }
}

#[derive(FromForm)]
struct CsrfOnly {
    csrf: Option<String>,
}

impl AdminSession {
    /// Who did it, and from where: `user:3 from 192.0.2.7`.
    fn actor(&self) -> String {
        let address = self.1.map_or("an unknown address".to_owned(), |ip| ip.to_string());
        format!("{} from {address}", self.0.user.actor())
    }

    fn csrf(&self, jobs: &Jobs) -> String {
        sessions::form_token(jobs.settings.token_key(), &self.0.token)
    }

    fn check(&self, jobs: &Jobs, given: Option<&str>) -> Result<(), AppError> {
        let valid = given.is_some_and(|g| sessions::form_token_matches(jobs.settings.token_key(), &self.0.token, g));
        if valid { Ok(()) } else { Err(AppError::BadFormToken) }
    }
}

/// What a page says after an action: a notice (with a secret shown once), or a problem.
#[derive(Default)]
struct Said {
    notice: Option<String>,
    secret: Option<String>,
    problem: Option<String>,
}

impl Said {
    /// What a form's action gave: what it says on success (200), or its problem (422).
    fn after(result: Result<Said, String>) -> (Status, Said) {
        match result {
            Ok(said) => (Status::Ok, said),
            Err(problem) => (Status::UnprocessableEntity, Said { problem: Some(problem), ..Said::default() }),
        }
    }
}

fn page(
    templates: &Templates,
    meta: &PageMeta,
    template: &str,
    section: &str,
    title_key: &str,
    said: Said,
    ctx: Value,
) -> Result<RawHtml<String>, AppError> {
    let ctx = context! {
        path => meta.path.clone(),
        section,
        title_key,
        notice => said.notice,
        secret => said.secret,
        problem => said.problem,
        ..ctx
    };
    Ok(RawHtml(templates.render(&format!("ops/{template}.html.j2"), meta.locale, ctx)?))
}

fn date(at: Option<chrono::DateTime<chrono::Utc>>, zone: chrono_tz::Tz) -> Option<String> {
    at.map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
}

#[get("/ops")]
fn index(_admin: AdminSession) -> Redirect {
    Redirect::to("/ops/users")
}

/// `/ops` and every page under it, for a visitor who is not logged in: to the login page.
#[get("/ops/<_section..>", rank = 20)]
fn anonymous(_section: std::path::PathBuf) -> Redirect {
    Redirect::to("/login")
}

async fn users_page(
    admin: &AdminSession,
    jobs: &Jobs,
    templates: &Templates,
    meta: &PageMeta,
    said: Said,
) -> Result<RawHtml<String>, AppError> {
    let zone = jobs.settings.time_zone;
    let directions = repo::directions::list(&jobs.db).await?;
    let users: Vec<Value> = repo::users::list(&jobs.db)
        .await?
        .into_iter()
        .map(|u| {
            let direction = u.direction_id.and_then(|id| directions.iter().find(|d| d.id == id)).map(|d| d.code.clone());
            context! { id => u.id, email => u.email, role => u.role, direction, active => u.active, last_login => date(u.last_login_at, zone) }
        })
        .collect();
    let codes: Vec<String> = directions.into_iter().map(|d| d.code).collect();
    let ctx =
        context! { users, directions => codes, roles => ["viewer", "analyst", "admin"], csrf => admin.csrf(jobs) };
    page(templates, meta, "users", "users", "ops.users", said, ctx)
}

#[get("/ops/users")]
async fn users(
    admin: AdminSession,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    users_page(&admin, jobs, templates, &meta, Said::default()).await
}

#[derive(FromForm)]
struct NewUserForm {
    csrf: Option<String>,
    email: String,
    role: String,
    direction: Option<String>,
}

#[post("/ops/users", data = "<form>")]
async fn create_user(
    admin: AdminSession,
    form: Form<NewUserForm>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<(Status, RawHtml<String>), AppError> {
    admin.check(jobs, form.csrf.as_deref())?;
    let direction = form.direction.clone().filter(|d| !d.is_empty());
    let result = async {
        let email = Email::parse(&form.email).map_err(|e| e.to_string())?;
        let role: Role = form.role.parse().map_err(|e| format!("{e}"))?;
        // The first password is generated and shown once; the user may change it later.
        let password = hex::encode(rand::random::<[u8; 16]>());
        let new_user = NewUser { email, password: password.clone(), role, direction_code: direction };
        accounts::create_user(&jobs.db, new_user, &admin.actor(), jobs.clock.now()).await.map_err(|e| e.to_string())?;
        Ok::<String, String>(password)
    }
    .await;
    let (status, said) = Said::after(result.map(|password| Said {
        notice: Some(format!("{} : mot de passe / password", form.email.trim())),
        secret: Some(password),
        problem: None,
    }));
    Ok((status, users_page(&admin, jobs, templates, &meta, said).await?))
}

#[derive(FromForm)]
struct RoleForm {
    csrf: Option<String>,
    role: String,
    direction: Option<String>,
}

#[post("/ops/users/<id>/role", data = "<form>")]
async fn set_role(
    admin: AdminSession,
    id: i64,
    form: Form<RoleForm>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<(Status, RawHtml<String>), AppError> {
    admin.check(jobs, form.csrf.as_deref())?;
    let direction = form.direction.clone().filter(|d| !d.is_empty());
    let result = match form.role.parse::<Role>() {
        Ok(role) => accounts::set_role(&jobs.db, id, role, direction, &admin.actor(), jobs.clock.now())
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("{e}")),
    };
    let (status, said) = Said::after(result.map(|()| Said { notice: Some("✓".into()), ..Said::default() }));
    Ok((status, users_page(&admin, jobs, templates, &meta, said).await?))
}

#[post("/ops/users/<id>/disable", data = "<form>")]
async fn disable_user(
    admin: AdminSession,
    id: i64,
    form: Form<CsrfOnly>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    admin.check(jobs, form.csrf.as_deref())?;
    let user = repo::users::find(&jobs.db, id).await?.ok_or_else(|| AppError::Forbidden(format!("no user #{id}")))?;
    accounts::disable_user(&jobs.db, &user.email, &admin.actor(), jobs.clock.now())
        .await
        .map_err(|e| AppError::Forbidden(e.to_string()))?;
    let said = Said { notice: Some(format!("{} ✓", user.email)), ..Said::default() };
    users_page(&admin, jobs, templates, &meta, said).await
}

#[post("/ops/users/<id>/password", data = "<form>")]
async fn reset_password(
    admin: AdminSession,
    id: i64,
    form: Form<CsrfOnly>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    admin.check(jobs, form.csrf.as_deref())?;
    let password = accounts::reset_password(&jobs.db, id, &admin.actor(), jobs.clock.now())
        .await
        .map_err(|e| AppError::Forbidden(e.to_string()))?;
    let said = Said { notice: Some(format!("#{id} : mot de passe / password")), secret: Some(password), problem: None };
    users_page(&admin, jobs, templates, &meta, said).await
}

async fn keys_page(
    admin: &AdminSession,
    jobs: &Jobs,
    templates: &Templates,
    meta: &PageMeta,
    said: Said,
) -> Result<RawHtml<String>, AppError> {
    let zone = jobs.settings.time_zone;
    let keys: Vec<Value> = repo::api_keys::list(&jobs.db)
        .await?
        .into_iter()
        .map(|k| {
            context! {
                id => k.id, prefix => k.prefix, name => k.name, scope => k.scope,
                created => date(Some(k.created_at), zone), last_used => date(k.last_used_at, zone), revoked => date(k.revoked_at, zone),
            }
        })
        .collect();
    page(templates, meta, "api_keys", "api-keys", "ops.api_keys", said, context! { keys, csrf => admin.csrf(jobs) })
}

#[get("/ops/api-keys")]
async fn api_keys(
    admin: AdminSession,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    keys_page(&admin, jobs, templates, &meta, Said::default()).await
}

#[derive(FromForm)]
struct NewKeyForm {
    csrf: Option<String>,
    name: String,
    scope: String,
}

#[post("/ops/api-keys", data = "<form>")]
async fn create_key(
    admin: AdminSession,
    form: Form<NewKeyForm>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<(Status, RawHtml<String>), AppError> {
    admin.check(jobs, form.csrf.as_deref())?;
    let created =
        accounts::create_scoped_api_key(&jobs.db, &form.name, &form.scope, &admin.actor(), jobs.clock.now()).await;
    let (status, said) = Said::after(
        created
            .map(|(row, clear)| Said {
                notice: Some(format!("{} ({})", row.name, row.scope)),
                secret: Some(clear),
                problem: None,
            })
            .map_err(|e| e.to_string()),
    );
    Ok((status, keys_page(&admin, jobs, templates, &meta, said).await?))
}

#[post("/ops/api-keys/<id>/revoke", data = "<form>")]
async fn revoke_key(
    admin: AdminSession,
    id: i64,
    form: Form<CsrfOnly>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    admin.check(jobs, form.csrf.as_deref())?;
    let key = repo::api_keys::find(&jobs.db, id)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(|| AppError::Forbidden(format!("no active API key #{id}")))?;
    accounts::revoke_api_key(&jobs.db, &key.prefix, &admin.actor(), jobs.clock.now())
        .await
        .map_err(|e| AppError::Forbidden(e.to_string()))?;
    let said = Said { notice: Some(format!("{} ✓", key.name)), ..Said::default() };
    keys_page(&admin, jobs, templates, &meta, said).await
}

#[get("/ops/sampling-runs")]
async fn sampling_runs(
    admin: AdminSession,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let zone = jobs.settings.time_zone;
    let runs: Vec<Value> = repo::sampling::recent_runs(&jobs.db, 10)
        .await?
        .into_iter()
        .map(|r| {
            let strata: Vec<Value> = r
                .strata
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|s| {
                    context! {
                        stratum => s["stratum"].as_str().unwrap_or("").to_owned(),
                        population => s["population"].as_i64(), eligible => s["eligible"].as_i64(), sampled => s["sampled"].as_i64(),
                        rate => s["rate"].as_f64(), rate_source => s["rate_source"].as_str().unwrap_or("").to_owned(),
                        excluded => s["excluded"].to_string(),
                    }
                })
                .collect();
            context! {
                id => r.id, as_of => date(Some(r.as_of), zone), status => r.status, dry_run => r.dry_run,
                population => r.population_count, eligible => r.eligible_count, sampled => r.sampled_count,
                seed => (r.seed as u64).to_string(), strata,
            }
        })
        .collect();
    let coverage: Vec<Value> = repo::sampling::frame_coverage(&jobs.db)
        .await?
        .into_iter()
        .map(|c| context! { channel => c.channel, closed => c.closed, without_contact => c.without_contact })
        .collect();
    let ctx = context! { runs, coverage, csrf => admin.csrf(jobs) };
    page(templates, &meta, "sampling_runs", "sampling-runs", "ops.sampling", Said::default(), ctx)
}

#[get("/ops/delivery")]
async fn delivery(
    _admin: AdminSession,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let figures = repo::outbox::figures(&jobs.db, jobs.settings.time_zone, jobs.clock.now()).await?;
    let ctx = context! { figures => Value::from(minijinja::value::Serde(&figures)) };
    page(templates, &meta, "delivery", "delivery", "ops.delivery", Said::default(), ctx)
}

/// The sources ingestion errors come from.
const SOURCES: [&str; 4] = ["api", "csv", "open311", "responses_csv"];

async fn errors_page(
    admin: &AdminSession,
    jobs: &Jobs,
    templates: &Templates,
    meta: &PageMeta,
    source: Option<&str>,
    said: Said,
) -> Result<RawHtml<String>, AppError> {
    let zone = jobs.settings.time_zone;
    let source = source.filter(|s| SOURCES.contains(s));
    let filter = repo::ingestion_errors::ErrorFilter {
        include_resolved: false,
        source: source.map(str::to_owned),
        after_id: None,
        limit: 200,
    };
    let errors: Vec<Value> = repo::ingestion_errors::list(&jobs.db, &filter)
        .await?
        .into_iter()
        .map(|e| {
            context! {
                id => e.id, source => e.source, crm_id => e.crm_id, line => e.line_number,
                reasons => e.reasons.to_string(), seen => e.seen_count, received => date(Some(e.received_at), zone),
            }
        })
        .collect();
    let ctx = context! { errors, csrf => admin.csrf(jobs), sources => SOURCES, source };
    page(templates, meta, "ingestion_errors", "ingestion-errors", "ops.ingestion_errors", said, ctx)
}

#[get("/ops/ingestion-errors?<source>")]
async fn ingestion_errors(
    admin: AdminSession,
    source: Option<&str>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    errors_page(&admin, jobs, templates, &meta, source, Said::default()).await
}

#[post("/ops/ingestion-errors/replay", data = "<form>")]
async fn replay(
    admin: AdminSession,
    form: Form<CsrfOnly>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    admin.check(jobs, form.csrf.as_deref())?;
    let report = jobs.replay(&admin.actor(), &[]).await?;
    let said = Said { notice: Some(report.to_string()), ..Said::default() };
    errors_page(&admin, jobs, templates, &meta, None, said).await
}

#[get("/ops/audit")]
async fn audit(
    _admin: AdminSession,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    meta: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let zone = jobs.settings.time_zone;
    let rows: Vec<Value> = repo::audit::recent(&jobs.db, 200)
        .await?
        .into_iter()
        .map(|a| {
            context! {
                at => date(Some(a.at), zone), actor => a.actor, action => a.action, subject => a.subject,
                details => a.details.map(|d| d.to_string()),
            }
        })
        .collect();
    page(templates, &meta, "audit", "audit", "ops.audit", Said::default(), context! { rows })
}

pub fn routes() -> Vec<rocket::Route> {
    routes![
        index,
        anonymous,
        users,
        create_user,
        set_role,
        disable_user,
        reset_password,
        api_keys,
        create_key,
        revoke_key,
        sampling_runs,
        delivery,
        ingestion_errors,
        replay,
        audit
    ]
}
