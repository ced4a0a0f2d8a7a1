//! `GET/POST /login`, `GET /account`, `POST /logout`. The session token travels in an encrypted
//! cookie (Rocket's private cookies, keyed by `secret_key`): `HttpOnly`, `SameSite=Strict`,
//! `Secure` when `auth.secure_cookies` (or an https `public_base_url`) says so. The login form's
//! token is a random value in its own cookie (there is no session yet); the forms of a session
//! carry a token bound to it.

use minijinja::context;
use rocket::{
    FromForm, State,
    form::Form,
    get,
    http::{Cookie, CookieJar, SameSite, Status},
    post,
    response::{Redirect, content::RawHtml},
    routes,
};

use crate::jobs::Jobs;
use crate::sessions::{self, LoginError};
use crate::templates::Templates;
use crate::web::error::AppError;
use crate::web::guards::{LoggedIn, SESSION_COOKIE};
use crate::web::page::{PageMeta, render};
use crate::web::survey::ClientAddress;

const LOGIN_FORM_COOKIE: &str = "login_form";

#[derive(FromForm)]
struct LoginForm {
    email: String,
    password: String,
    csrf: Option<String>,
}

#[derive(FromForm)]
struct SessionForm {
    csrf: Option<String>,
}

/// The login form's token: kept in its own cookie (made on first view), sent back in the form.
fn login_form_token(cookies: &CookieJar<'_>) -> String {
    if let Some(existing) = cookies.get_private(LOGIN_FORM_COOKIE) {
        return existing.value().to_owned();
    }
    let token = hex::encode(rand::random::<[u8; 16]>());
    let cookie =
        Cookie::build((LOGIN_FORM_COOKIE, token.clone())).path("/login").http_only(true).same_site(SameSite::Strict);
    cookies.add_private(cookie);
    token
}

fn login_page(
    templates: &Templates,
    page: &PageMeta,
    csrf: String,
    email: &str,
    problem: Option<&str>,
) -> Result<RawHtml<String>, AppError> {
    Ok(render(templates, "login.html.j2", page, context! { csrf, email, problem })?)
}

#[get("/login")]
fn show(templates: &State<Templates>, page: PageMeta, cookies: &CookieJar<'_>) -> Result<RawHtml<String>, AppError> {
    login_page(templates, &page, login_form_token(cookies), "", None)
}

#[post("/login", data = "<form>")]
async fn submit(
    form: Form<LoginForm>,
    cookies: &CookieJar<'_>,
    address: ClientAddress,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    page: PageMeta,
) -> Result<Result<Redirect, (Status, RawHtml<String>)>, AppError> {
    let expected = cookies.get_private(LOGIN_FORM_COOKIE).map(|c| c.value().to_owned());
    let given = form.csrf.as_deref().unwrap_or_default();
    if !expected.is_some_and(|e| !given.is_empty() && constant_time_eq(e.as_bytes(), given.as_bytes())) {
        return Err(AppError::BadFormToken);
    }
    let address = address.0.map(|ip| ip.to_string());
    let now = jobs.clock.now();
    let settings = &jobs.settings;
    match sessions::login(&jobs.db, &settings.auth, &form.email, &form.password, address.as_deref(), now).await {
        Ok((token, _user)) => {
            cookies.remove_private(Cookie::build(LOGIN_FORM_COOKIE).path("/login"));
            let cookie = Cookie::build((SESSION_COOKIE, token))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(settings.secure_cookies())
                .max_age(rocket::time::Duration::hours(i64::from(settings.auth.session_max_hours)));
            cookies.add_private(cookie);
            Ok(Ok(Redirect::to("/dashboard")))
        }
        Err(LoginError::Refused) => {
            let html = login_page(templates, &page, login_form_token(cookies), &form.email, Some("login.refused"))?;
            Ok(Err((Status::Unauthorized, html)))
        }
        Err(LoginError::Locked { .. }) => {
            let html = login_page(templates, &page, login_form_token(cookies), &form.email, Some("login.locked"))?;
            Ok(Err((Status::TooManyRequests, html)))
        }
        Err(LoginError::Blocking(err)) => {
            Err(sea_orm::DbErr::Custom(format!("the password check failed: {err}")).into())
        }
        Err(LoginError::Db(err)) => Err(err.into()),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[get("/account")]
fn account(
    logged_in: LoggedIn,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    page: PageMeta,
) -> Result<RawHtml<String>, AppError> {
    let user = &logged_in.user;
    let csrf = sessions::form_token(jobs.settings.token_key(), &logged_in.token);
    Ok(render(
        templates,
        "account.html.j2",
        &page,
        context! { email => user.email.clone(), role => user.role.as_str(), direction => user.direction.clone(), csrf },
    )?)
}

#[get("/account", rank = 2)]
fn account_anonymous() -> Redirect {
    Redirect::to("/login")
}

#[post("/logout", data = "<form>")]
async fn logout(
    logged_in: LoggedIn,
    form: Form<SessionForm>,
    cookies: &CookieJar<'_>,
    jobs: &State<Jobs>,
) -> Result<Redirect, AppError> {
    let valid = form
        .csrf
        .as_deref()
        .is_some_and(|given| sessions::form_token_matches(jobs.settings.token_key(), &logged_in.token, given));
    if !valid {
        return Err(AppError::BadFormToken);
    }
    sessions::logout(&jobs.db, &logged_in.user, jobs.clock.now()).await?;
    cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
    Ok(Redirect::to("/login"))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![show, submit, account, account_anonymous, logout]
}
