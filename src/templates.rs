//! The minijinja environment: one for the whole process, loading `templates/` from disk (the
//! path comes from configuration, not the working directory). Pages, and next e-mails rendered
//! by the dispatch job, use it alike; it knows nothing of HTTP. `.html.j2` templates are
//! HTML-escaped; `t("key")` looks up the interface's words in the page's language.

use std::path::Path;

use minijinja::{Environment, State, Value, context, path_loader};

use crate::domain::Locale;
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

    /// Render `name` in `locale` with `ctx`, plus the language basics every template may use
    /// (`lang`, `html_lang`, `other_lang`).
    pub fn render(&self, name: &str, locale: Locale, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context! {
            lang => locale.as_str(),
            html_lang => locale.html_lang(),
            other_lang => locale.other().as_str(),
            ..ctx
        })
    }
}

/// `t("key")` in templates: the message in the page's language (the key itself if unknown, so a
/// missing message shows up in review rather than as an empty string).
fn translate(state: &State, key: &str) -> String {
    let locale = state.lookup("lang").and_then(|v| v.as_str().and_then(Locale::parse)).unwrap_or_default();
    i18n::translate(locale, key).unwrap_or(key).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_outside_any_request_in_both_languages() {
        let templates = Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")).unwrap();
        let french = templates.render("home.html.j2", Locale::Fr, context! { path => "/" }).unwrap();
        let english = templates.render("home.html.j2", Locale::En, context! { path => "/" }).unwrap();
        assert!(french.contains("lang=\"fr-CA\"") && french.contains("Plateforme de satisfaction citoyenne"));
        assert!(english.contains("lang=\"en-CA\"") && english.contains("Citizen satisfaction platform"));
    }
}
