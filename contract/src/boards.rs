//! Boards: a user's named collections of images.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{BoardId, ImageId};

/// A board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Board {
    /// Its id.
    pub board_id: BoardId,
    /// Its name.
    pub name: String,
    /// The image shown for it, if chosen.
    pub cover_image_id: Option<ImageId>,
    /// How many of my images are on it.
    pub image_count: i64,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

/// `POST /api/v1/boards`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateBoard {
    /// 1–100 characters.
    pub name: String,
}

/// `PATCH /api/v1/boards/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateBoard {
    /// A new name, 1–100 characters.
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /api/v1/boards`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardList {
    /// The caller's boards, oldest first.
    pub items: Vec<Board>,
}
