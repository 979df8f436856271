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

/// Declares a text newtype that is transparent to serde and sqlx and prints as its text.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// A model of the operator's catalog, by the name requests use (`sd15`, `tiny-sd`); the
    /// catalog decides which names exist.
    ModelName
);
text_id!(
    /// A generation worker (`generation_jobs.worker_id`): unique among the workers sharing a
    /// queue, so that a lease is held by exactly one of them.
    WorkerId
);
