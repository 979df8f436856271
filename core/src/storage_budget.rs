//! Per-plan storage budgets (SECURITY.md 37): how many images and bytes a user's gallery may
//! hold. The counts live on the user's row, kept exact by a trigger on `images`; a request that
//! would add images locks that row first ([`lock_usage`]), so two uploads at once see each
//! other's images and cannot together pass the budget.

use contract::plans::{GIB, Plan};
use sqlx::PgConnection;

use contract::ids::UserId;

/// What a user's gallery holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct StorageUse {
    /// Images, generated and uploaded.
    pub stored_images: i64,
    /// Bytes of their files (originals; thumbnails are ours to pay for).
    pub stored_bytes: i64,
}

/// What a request would add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adding {
    /// Images.
    pub images: u64,
    /// Bytes, where known (a generation request's are not known yet).
    pub bytes: u64,
}

/// The gallery would pass the plan's budget (413 `storage_quota_exceeded`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StorageFull(pub String);

/// Whether `plan`'s budget has room for `adding` on top of `used`; the refusal says what the
/// budget is, what is used and what to do.
///
/// # Errors
/// [`StorageFull`] when it has not.
pub fn check(plan: Plan, used: StorageUse, adding: Adding) -> Result<(), StorageFull> {
    let limits = plan.limits();
    let images_after = u64::try_from(used.stored_images).unwrap_or(0).saturating_add(adding.images);
    let bytes_used = u64::try_from(used.stored_bytes).unwrap_or(0);
    let bytes_after = bytes_used.saturating_add(adding.bytes);
    let over_images = limits.storage_images.is_some_and(|max| images_after > max);
    // A generation request adds bytes nobody knows yet: a gallery already at its byte budget
    // takes no more, one below it may finish the request.
    let over_bytes =
        limits.storage_bytes.is_some_and(|max| bytes_after > max || (adding.bytes == 0 && bytes_used >= max));
    if !over_images && !over_bytes {
        return Ok(());
    }
    let budget = match (limits.storage_images, limits.storage_bytes) {
        (Some(images), Some(bytes)) => format!("{images} images and {}", size(bytes)),
        (Some(images), None) => format!("{images} images"),
        (None, Some(bytes)) => size(bytes),
        (None, None) => String::new(),
    };
    let upgrade = Plan::cheapest_where(|l| {
        l.storage_images.is_none_or(|max| images_after <= max)
            && l.storage_bytes.is_none_or(|max| bytes_after < max)
    })
    .filter(|better| *better > plan)
    .map_or_else(String::new, |better| {
        format!(", or move to {} for a larger gallery", better.display_name())
    });
    Err(StorageFull(format!(
        "Your gallery is full: the {} plan keeps {budget}, and it holds {} images ({}). Delete images to make \
         room{upgrade}.",
        plan.display_name(),
        used.stored_images,
        size(bytes_used),
    )))
}

/// `bytes` for people: whole GiB, else MB with one decimal.
fn size(bytes: u64) -> String {
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else {
        // Display only: f64's precision is ample for a figure rounded to 0.1 MB.
        #[allow(clippy::cast_precision_loss)]
        let megabytes = bytes as f64 / 1e6;
        format!("{megabytes:.1} MB")
    }
}

/// `user`'s storage use, with their row locked until the transaction ends, so that a concurrent
/// request adding images waits for this one's to be counted.
///
/// # Errors
/// The database failed.
pub async fn lock_usage(conn: &mut PgConnection, user: UserId) -> Result<StorageUse, sqlx::Error> {
    sqlx::query_as("SELECT stored_images, stored_bytes FROM users WHERE user_id = $1 FOR UPDATE")
        .bind(user)
        .fetch_one(conn)
        .await
}

/// `user`'s storage use as last committed, for an early refusal before any work is done.
///
/// # Errors
/// The database failed.
pub async fn usage(conn: &mut PgConnection, user: UserId) -> Result<StorageUse, sqlx::Error> {
    sqlx::query_as("SELECT stored_images, stored_bytes FROM users WHERE user_id = $1")
        .bind(user)
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(images: i64, bytes: i64) -> StorageUse {
        StorageUse { stored_images: images, stored_bytes: bytes }
    }

    #[test]
    fn uploads_fit_up_to_the_last_image_and_byte_and_not_one_past() {
        let max_images = i64::try_from(Plan::Free.limits().storage_images.unwrap()).unwrap();
        let max_bytes = Plan::Free.limits().storage_bytes.unwrap();
        let one = Adding { images: 1, bytes: 1000 };
        assert!(check(Plan::Free, used(max_images - 1, 0), one).is_ok());
        assert!(check(Plan::Free, used(max_images, 0), one).is_err());
        let nearly_full = used(0, i64::try_from(max_bytes - 1000).unwrap());
        assert!(check(Plan::Free, nearly_full, one).is_ok());
        assert!(check(Plan::Free, nearly_full, Adding { images: 1, bytes: 1001 }).is_err());
    }

    #[test]
    fn a_generation_needs_room_for_its_images_and_a_gallery_below_its_byte_budget() {
        let max_images = i64::try_from(Plan::Pro.limits().storage_images.unwrap()).unwrap();
        let max_bytes = i64::try_from(Plan::Pro.limits().storage_bytes.unwrap()).unwrap();
        let batch = Adding { images: 4, bytes: 0 };
        assert!(check(Plan::Pro, used(max_images - 4, max_bytes - 1), batch).is_ok());
        assert!(check(Plan::Pro, used(max_images - 3, 0), batch).is_err());
        assert!(check(Plan::Pro, used(0, max_bytes), batch).is_err());
    }

    #[test]
    fn the_refusal_says_the_budget_the_use_and_the_plan_with_room() {
        let full = check(Plan::Free, used(1000, 5_200_000), Adding { images: 1, bytes: 10 }).unwrap_err();
        assert_eq!(
            full.0,
            "Your gallery is full: the Free plan keeps 1000 images and 1 GiB, and it holds 1000 images (5.2 MB). \
             Delete images to make room, or move to Pro for a larger gallery."
        );
        assert!(check(Plan::Enterprise, used(i64::MAX, i64::MAX), Adding { images: 1, bytes: 1 }).is_ok());
    }
}
