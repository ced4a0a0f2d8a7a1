use std::fmt;

/// The two languages of the platform. French first: it is the default wherever nothing says
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    /// The BCP 47 tag used in `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Locale::Fr => "fr-CA",
            Locale::En => "en-CA",
        }
    }

    pub fn other(self) -> Locale {
        match self {
            Locale::Fr => Locale::En,
            Locale::En => Locale::Fr,
        }
    }

    /// `fr`, `fr-CA`, `FR`, `en`, `en-US`... Anything else is `None`.
    pub fn parse(raw: &str) -> Option<Locale> {
        let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Locale::Fr),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The first of our two languages in an `Accept-Language` header, by the client's order of
    /// preference (q-values honoured), or `None` if it names neither.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut candidates: Vec<(f32, usize, Locale)> = header
            .split(',')
            .enumerate()
            .filter_map(|(position, item)| {
                let mut pieces = item.split(';');
                let locale = Locale::parse(pieces.next()?)?;
                let quality =
                    pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
                (quality > 0.0).then_some((quality, position, locale))
            })
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        candidates.first().map(|c| c.2)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags() {
        assert_eq!(Locale::parse("fr-CA"), Some(Locale::Fr));
        assert_eq!(Locale::parse("EN_us"), Some(Locale::En));
        assert_eq!(Locale::parse("de"), None);
        assert_eq!(Locale::parse(""), None);
    }

    #[test]
    fn accept_language_respects_preference() {
        assert_eq!(Locale::from_accept_language("en-CA,en;q=0.9,fr;q=0.8"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("de;q=1, fr;q=0.5, en;q=0.4"), Some(Locale::Fr));
        assert_eq!(Locale::from_accept_language("en;q=0.2, fr;q=0.9"), Some(Locale::Fr));
        assert_eq!(Locale::from_accept_language("de, es"), None);
        assert_eq!(Locale::from_accept_language("en;q=0"), None);
    }
}
