//! Administration of users (superusers only).

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use crate::ids::UserId;

/// A user as administrators see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUser {
    /// The user's id.
    pub user_id: UserId,
    /// Sign-in address.
    pub email: String,
    /// Display name.
    pub full_name: Option<String>,
    /// `free`, `pro`, `studio` or `enterprise`.
    pub subscription_plan: String,
    /// Images per month; `null` means unlimited.
    pub monthly_image_quota: Option<i32>,
    /// Images this period.
    pub monthly_images_generated: i32,
    /// Where their subscription stands (`none`, `pending`, `active`, `past_due`, `cancelled`,
    /// `revoked`).
    pub billing_status: String,
    /// The provider's subscription id, for support.
    pub billing_subscription_id: Option<String>,
    /// When the paid period ends.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub billing_period_end: Option<OffsetDateTime>,
    /// Whether it ends then instead of renewing.
    pub billing_cancel_at_period_end: bool,
    /// May sign in.
    pub is_active: bool,
    /// May read everyone's data.
    pub is_staff: bool,
    /// May administer users.
    pub is_superuser: bool,
    /// When the account was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

/// `GET /api/v1/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserPage {
    /// This page of users, newest first.
    pub items: Vec<AdminUser>,
    /// How many match in all.
    pub total: i64,
    /// Where this page starts.
    pub offset: i64,
    /// Its size.
    pub limit: i64,
}

/// `PATCH /api/v1/admin/users/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserUpdate {
    /// A new plan; the quota follows it unless given too.
    #[serde(default)]
    pub subscription_plan: Option<String>,
    /// Deactivating also ends every session.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Staff flag.
    #[serde(default)]
    pub is_staff: Option<bool>,
    /// Images per month; `null` sets unlimited, absent leaves it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
    pub monthly_image_quota: Option<Option<i32>>,
}

/// Tells "absent" (outer `None`, by `default`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i32>>, D::Error> {
    Option::<i32>::deserialize(deserializer).map(Some)
}
