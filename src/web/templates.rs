//! One minijinja `Environment` in managed state, loading `templates/` from disk (the path comes
//! from configuration, not the working directory). `.html.j2` templates are HTML-escaped.

use std::path::Path;

use minijinja::{Environment, State, Value, context, path_loader};
use rocket::response::content::RawHtml;

use crate::domain::Locale;
use crate::error::AppError;
use crate::i18n;

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Load the templates folder and check that the base layout compiles.
    pub fn load(dir: &Path) -> Result<Templates, minijinja::Error> {
        let mut env = Environment::new();
        env.set_loader(path_loader(dir));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_function("t", translate);
        env.get_template("base.html.j2")?;
        Ok(Templates { env })
    }

    /// Render `name` with `ctx` plus the page basics (`lang`, `html_lang`, `other_lang`, `path`).
    pub fn render(&self, name: &str, page: &PageMeta, ctx: Value) -> Result<RawHtml<String>, AppError> {
        let template = self.env.get_template(name)?;
        let html = template.render(context! {
            lang => page.locale.as_str(),
            html_lang => page.locale.html_lang(),
            other_lang => page.locale.other().as_str(),
            path => page.path.clone(),
            ..ctx
        })?;
        Ok(RawHtml(html))
    }
}

/// What every page needs to know about the request it answers.
#[derive(Debug, Clone)]
pub struct PageMeta {
    pub locale: Locale,
    /// The request path, without query, for the language switch link.
    pub path: String,
}

/// `t("key")` in templates: the message in the page's language (the key itself if unknown, so a
/// missing message shows up in review rather than as an empty string).
fn translate(state: &State, key: &str) -> String {
    let locale = state.lookup("lang").and_then(|v| v.as_str().and_then(Locale::parse)).unwrap_or_default();
    i18n::translate(locale, key).unwrap_or(key).to_owned()
}
