//! `[default.auth]`: logging in to the dashboard and the operations pages.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// A session unused this long ends.
    pub session_idle_minutes: u32,
    /// A session ends this long after the login, used or not.
    pub session_max_hours: u32,
    /// Failed logins of one account within `lockout_minutes` that lock it for that long.
    pub max_failures_per_account: u32,
    /// Failed logins from one client address within `lockout_minutes` that lock the address.
    pub max_failures_per_address: u32,
    pub lockout_minutes: u32,
    /// Mark the session cookie `Secure`: `true`, `false`, or unset to follow `public_base_url`
    /// (https → Secure). Set `true` behind a TLS proxy that forwards plain HTTP.
    pub secure_cookies: Option<bool>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_idle_minutes: 30,
            session_max_hours: 12,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            lockout_minutes: 15,
            secure_cookies: None,
        }
    }
}
