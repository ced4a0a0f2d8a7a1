//! The page language: `?lang=` (remembered in a cookie), then the cookie, then French.
//!
//! The browser's `Accept-Language` is deliberately not followed: in Québec many French-speaking
//! citizens use a browser installed in English, and French is the language of the City's
//! services by default (Charter of the French Language). English is one click away.

use rocket::{
    Request,
    http::{Cookie, SameSite},
    request::{FromRequest, Outcome},
};

use crate::domain::Locale;

pub const LANG_COOKIE: &str = "lang";

pub fn request_locale(request: &Request<'_>) -> Locale {
    chosen_locale(request).unwrap_or_default()
}

/// The reader's explicit choice (`?lang=`, then the cookie), if they made one: pages about an
/// invitation fall back to the invitation's language, not to French.
pub fn chosen_locale(request: &Request<'_>) -> Option<Locale> {
    if let Some(locale) = request.query_value::<&str>("lang").and_then(|v| v.ok()).and_then(Locale::parse) {
        return Some(locale);
    }
    request.cookies().get(LANG_COOKIE).and_then(|c| Locale::parse(c.value()))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Locale {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let locale = request_locale(request);
        if request.query_value::<&str>("lang").is_some() {
            let cookie = Cookie::build((LANG_COOKIE, locale.as_str()))
                .path("/")
                .same_site(SameSite::Lax)
                .http_only(true)
                .max_age(rocket::time::Duration::days(365));
            request.cookies().add(cookie);
        }
        Outcome::Success(locale)
    }
}
