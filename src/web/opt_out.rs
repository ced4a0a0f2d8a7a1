//! `GET /opt-out/<token>`: a page with a button (a GET changes nothing: mail scanners follow
//! links); `POST /opt-out/<token>`: records the opt-out, from the page's form (with its token) or
//! from a mail client's RFC 8058 one-click POST (`List-Unsubscribe=One-Click`, no form token).
//! Known and unknown links get the same pages.

use minijinja::context;
use rocket::{FromForm, State, form::Form, get, post, response::content::RawHtml, routes};

use crate::delivery::opt_out;
use crate::domain::survey_token::{form_token, form_token_matches};
use crate::jobs::Jobs;
use crate::templates::Templates;
use crate::web::error::AppError;
use crate::web::page::{PageMeta, render};

#[derive(FromForm)]
struct OptOutForm {
    csrf: Option<String>,
    #[field(name = "List-Unsubscribe")]
    list_unsubscribe: Option<String>,
}

/// The page in the reader's chosen language, else the invitation's.
async fn page_for(jobs: &Jobs, page: PageMeta, token: &str) -> Result<PageMeta, AppError> {
    let invitation = opt_out::locale_of(&jobs.db, token).await?;
    Ok(match invitation {
        Some(locale) => page.defaulting_to(locale),
        None => page,
    })
}

#[get("/opt-out/<token>")]
async fn show(
    token: &str,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    page: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let page = page_for(jobs, page, token).await?;
    let csrf = form_token(jobs.settings.token_key(), opt_out::FORM_PURPOSE, token);
    Ok(render(templates, "opt_out.html.j2", &page, context! { done => false, csrf })?)
}

#[post("/opt-out/<token>", data = "<form>")]
async fn confirm(
    token: &str,
    form: Form<OptOutForm>,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    page: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let one_click = form.list_unsubscribe.as_deref() == Some("One-Click");
    let from_page = form
        .csrf
        .as_deref()
        .is_some_and(|given| form_token_matches(jobs.settings.token_key(), opt_out::FORM_PURPOSE, token, given));
    if !one_click && !from_page {
        return Err(AppError::BadFormToken);
    }
    let source = if one_click { "one_click" } else { "page" };
    opt_out::opt_out(&jobs.db, token, source, jobs.clock.now()).await?;
    let page = page_for(jobs, page, token).await?;
    Ok(render(templates, "opt_out.html.j2", &page, context! { done => true, csrf => "" })?)
}

pub fn routes() -> Vec<rocket::Route> {
    routes![show, confirm]
}
