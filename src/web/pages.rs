//! Public pages that are not part of a feature: the home page.

use minijinja::context;
use rocket::{State, get, response::content::RawHtml, routes};

use crate::templates::Templates;
use crate::web::error::AppError;
use crate::web::page::{PageMeta, render};

#[get("/")]
fn home(templates: &State<Templates>, page: PageMeta) -> Result<RawHtml<String>, AppError> {
    Ok(render(templates, "home.html.j2", &page, context! {})?)
}

pub fn routes() -> Vec<rocket::Route> {
    routes![home]
}
