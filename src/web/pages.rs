//! Public pages that are not part of a feature: the home page.

use minijinja::context;
use rocket::{State, get, response::content::RawHtml, routes};

use crate::error::AppError;
use crate::web::templates::{PageMeta, Templates};

#[get("/")]
fn home(templates: &State<Templates>, page: PageMeta) -> Result<RawHtml<String>, AppError> {
    templates.render("home.html.j2", &page, context! {})
}

pub fn routes() -> Vec<rocket::Route> {
    routes![home]
}
