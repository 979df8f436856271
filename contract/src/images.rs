//! Gallery images as clients see them, the page of a listing, edits, and the events of a job's
//! live progress stream.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use crate::ids::{BoardId, ImageId, JobId};

use crate::generation::{GenerationParams, JobStatus};

/// Most images one page holds.
pub const MAX_PAGE: i64 = 100;
/// Images per page when the request does not say.
pub const DEFAULT_PAGE: i64 = 24;

/// An image in my gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageInfo {
    /// Its id.
    pub image_id: ImageId,
    /// The board it is on.
    pub board_id: Option<BoardId>,
    /// The job that made it (none for uploads).
    pub job_id: Option<JobId>,
    /// `generated` or `uploaded`.
    pub origin: String,
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub content_type: String,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// File size in bytes.
    pub byte_size: i64,
    /// How it was made, with the seed that reproduces it alone (none for uploads).
    pub params: Option<GenerationParams>,
    /// Starred by me.
    pub starred: bool,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// The file, by a link that works without the bearer token for an hour (for `<img>` tags).
    pub file_url: String,
    /// The WebP thumbnail, likewise.
    pub thumbnail_url: String,
}

/// `GET /api/v1/images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImagePage {
    /// Newest first.
    pub items: Vec<ImageInfo>,
    /// How many match the filter in all.
    pub total: i64,
    /// Where this page starts.
    pub offset: i64,
    /// Its size limit.
    pub limit: i64,
}

/// Which images a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFilter {
    /// Skip this many.
    pub offset: i64,
    /// At most this many (1–100).
    pub limit: i64,
    /// Only this board's.
    pub board_id: Option<BoardId>,
    /// Only starred ones.
    pub starred: bool,
}

impl ImageFilter {
    /// The same filter with its offset and limit brought within bounds (offset ≥ 0, limit
    /// 1–[`MAX_PAGE`]), so every caller pages the same way.
    #[must_use]
    pub fn within_bounds(self) -> Self {
        Self { offset: self.offset.max(0), limit: self.limit.clamp(1, MAX_PAGE), ..self }
    }
}

/// Reads a field that may be absent (leave it), `null` (clear it) or a value (set it).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/v1/images/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateImage {
    /// Star or unstar.
    #[serde(default)]
    pub starred: Option<bool>,
    /// Move to one of my boards, or `null` to take it off its board.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BoardId>))]
    pub board_id: Option<Option<BoardId>>,
}

/// One event of `GET /api/v1/jobs/{id}/events` (the SSE `event:` name is `status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobEvent {
    /// The job.
    pub job_id: JobId,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: JobStatus,
    /// Jobs that will start before this one (while queued).
    pub queue_position: Option<i64>,
    /// Steps done, of `total` (steps × images).
    pub step: i32,
    /// Steps in all.
    pub total: i32,
    /// The image being made, at low resolution, as a `data:image/png;base64,…` URL.
    pub preview: Option<String>,
    /// The images made so far.
    pub image_ids: Vec<ImageId>,
    /// The images made, with links signed for the stream's session: on the `completed` event
    /// only (the page shows them without a request per image); empty on the others.
    #[serde(default)]
    pub images: Vec<ImageInfo>,
    /// Why it failed.
    pub error: Option<String>,
}

impl JobEvent {
    /// The SSE event name: the status, or `progress` while running.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self.status {
            JobStatus::Running => "progress",
            other => other.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_out_of_bounds_is_brought_within_them() {
        let board = Some(BoardId(uuid::Uuid::nil()));
        let wild = ImageFilter { offset: -5, limit: 10_000, board_id: board, starred: true };
        assert_eq!(
            wild.within_bounds(),
            ImageFilter { offset: 0, limit: MAX_PAGE, board_id: board, starred: true }
        );
        let empty = ImageFilter { offset: 40, limit: 0, ..ImageFilter::default() };
        assert_eq!(empty.within_bounds(), ImageFilter { offset: 40, limit: 1, ..ImageFilter::default() });
    }

    #[test]
    fn an_edit_tells_absent_from_null() {
        let absent: UpdateImage = serde_json::from_str(r#"{"starred": true}"#).unwrap();
        assert_eq!(absent, UpdateImage { starred: Some(true), board_id: None });
        let cleared: UpdateImage = serde_json::from_str(r#"{"board_id": null}"#).unwrap();
        assert_eq!(cleared.board_id, Some(None));
        let id = BoardId(uuid::Uuid::from_u128(5));
        let moved: UpdateImage = serde_json::from_str(&format!(r#"{{"board_id": "{id}"}}"#)).unwrap();
        assert_eq!(moved.board_id, Some(Some(id)));
    }
}
