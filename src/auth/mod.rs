//! Credentials: password hashing and API keys. The Rocket request guards that use them live in
//! `web::guards`.

pub mod api_key;
pub mod password;
