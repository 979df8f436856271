//! Typed identifiers, so a user id can never be passed where an image id is expected. They travel
//! as plain UUID strings (serde-transparent), in the browser, the API and the database alike.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a UUID newtype that is transparent to serde and sqlx and prints as the UUID.
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, uuid::Error> {
                text.parse().map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A user's id (`users.user_id`).
    UserId
);
uuid_id!(
    /// A sign-in session: the family of refresh tokens that rotate from one sign-in
    /// (`user_sessions.family_id`). This is the id users see and revoke.
    SessionId
);
uuid_id!(
    /// A generation job (`generation_jobs.job_id`).
    JobId
);
uuid_id!(
    /// An image in a gallery (`images.image_id`).
    ImageId
);
uuid_id!(
    /// A board of images (`boards.board_id`).
    BoardId
);
uuid_id!(
    /// A saved workflow (`workflows.workflow_id`).
    WorkflowId
);
