//! The intake channels a 311 centre knows (seeded in the `channels` table).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    WebForm,
    Email,
    SocialMedia,
    Counter,
    Portal,
}

impl Channel {
    pub const ALL: [Channel; 6] =
        [Channel::Phone, Channel::WebForm, Channel::Email, Channel::SocialMedia, Channel::Counter, Channel::Portal];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::WebForm => "web_form",
            Channel::Email => "email",
            Channel::SocialMedia => "social_media",
            Channel::Counter => "counter",
            Channel::Portal => "portal",
        }
    }

    /// A channel code in any case ("Phone", " web_form "); `None` for anything else.
    pub fn parse(raw: &str) -> Option<Channel> {
        let lowered = raw.trim().to_ascii_lowercase();
        Channel::ALL.into_iter().find(|c| c.as_str() == lowered)
    }

    /// "phone, web_form, ...": the codes, for messages that say what is expected.
    pub fn expected() -> String {
        Channel::ALL.map(Channel::as_str).join(", ")
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_in_any_case() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
            assert_eq!(Channel::parse(&channel.as_str().to_uppercase()), Some(channel));
        }
        assert_eq!(Channel::parse("fax"), None);
        assert_eq!(Channel::expected(), "phone, web_form, email, social_media, counter, portal");
    }
}
