//! Refresh tokens: [opaque tokens](super::opaque_token) that only the browser's cookie holds.

pub use super::opaque_token::OpaqueToken as RefreshToken;

/// Absolute lifetime of a session, however often it is refreshed: 30 days.
pub const REFRESH_TOKEN_SECONDS: i64 = 30 * 24 * 60 * 60;
