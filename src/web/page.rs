//! Rendering a page for a request: the shared `Templates` plus what the request says (language,
//! path for the language switch). Handlers turn a render error into `AppError` with `?`.

use minijinja::{Value, context};
use rocket::{
    Request,
    request::{FromRequest, Outcome},
    response::content::RawHtml,
};

use crate::domain::Locale;
use crate::templates::Templates;
use crate::web::locale::request_locale;

/// What every page needs to know about the request it answers.
#[derive(Debug, Clone)]
pub struct PageMeta {
    pub locale: Locale,
    /// The request path, without query, for the language switch link.
    pub path: String,
    /// Whether the reader chose the language (`?lang=` or its cookie).
    pub chosen: bool,
}

pub fn page_meta(request: &Request<'_>) -> PageMeta {
    PageMeta {
        locale: request_locale(request),
        path: request.uri().path().to_string(),
        chosen: crate::web::locale::chosen_locale(request).is_some(),
    }
}

impl PageMeta {
    /// The page in the reader's chosen language, else in `default` (an invitation's).
    pub fn defaulting_to(self, default: Locale) -> PageMeta {
        if self.chosen { self } else { PageMeta { locale: default, ..self } }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PageMeta {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        // Through the `Locale` guard, so that `?lang=` is remembered in its cookie.
        let locale = request.guard::<Locale>().await.succeeded().unwrap_or_default();
        let chosen = crate::web::locale::chosen_locale(request).is_some();
        Outcome::Success(PageMeta { locale, path: request.uri().path().to_string(), chosen })
    }
}

pub fn render(
    templates: &Templates,
    name: &str,
    page: &PageMeta,
    ctx: Value,
) -> Result<RawHtml<String>, minijinja::Error> {
    Ok(RawHtml(templates.render(name, page.locale, context! { path => page.path.clone(), ..ctx })?))
}
