//! Monthly image quotas. A generation request reserves its images in the same statement that
//! checks the limit (`UPDATE … WHERE used + n <= limit`): PostgreSQL re-checks the condition
//! against the row as it is after any concurrent update, so two requests can never both take the
//! last image. Images not produced (a failure, a cancel) are refunded into the month they were
//! reserved in. Counters reset at the start of each UTC month: lazily when a user's quota is used
//! or read, and for everyone by a periodic task.

use contract::plans::Plan;
use sqlx::PgConnection;
use time::OffsetDateTime;

use contract::ids::UserId;

/// Images taken from a user's monthly quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// How many.
    pub images: i32,
    /// The end of the month they count in (the user's `quota_reset_date` at the time).
    pub period: OffsetDateTime,
}

/// Why images could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// Fewer images are left this month than asked for (429 `quota_exceeded`).
    #[error("{message}")]
    Exceeded {
        /// For people: what is left, when it resets, which plan gives more.
        message: String,
        /// When the counter resets.
        resets_at: OffsetDateTime,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Resets `user`'s counter if their month is over.
///
/// # Errors
/// The database failed.
pub async fn reset_if_due(conn: &mut PgConnection, user: UserId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET monthly_images_generated = 0, quota_reset_date = next_quota_reset()
         WHERE user_id = $1 AND quota_reset_date <= now()",
    )
    .bind(user)
    .execute(conn)
    .await?;
    Ok(())
}

/// Resets every counter whose month is over; returns how many. Run periodically, so that
/// figures read elsewhere (admin lists, reports) are current too.
///
/// # Errors
/// The database failed.
pub async fn reset_all_due(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET monthly_images_generated = 0, quota_reset_date = next_quota_reset()
         WHERE quota_reset_date <= now()",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Takes `images` from `user`'s quota, atomically; run it in the transaction that records what
/// they are for, so a failure there undoes the reservation too. `plan` only words the refusal.
///
/// # Errors
/// [`QuotaError::Exceeded`] if fewer are left.
pub async fn reserve(
    conn: &mut PgConnection,
    user: UserId,
    plan: Plan,
    images: i32,
) -> Result<Reservation, QuotaError> {
    reset_if_due(conn, user).await?;
    let reserved: Option<OffsetDateTime> = sqlx::query_scalar(
        "UPDATE users SET monthly_images_generated = monthly_images_generated + $2
         WHERE user_id = $1
           AND (monthly_image_quota IS NULL OR monthly_images_generated + $2 <= monthly_image_quota)
         RETURNING quota_reset_date",
    )
    .bind(user)
    .bind(images)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(period) = reserved {
        return Ok(Reservation { images, period });
    }
    let (limit, used, resets_at): (Option<i32>, i32, OffsetDateTime) = sqlx::query_as(
        "SELECT monthly_image_quota, monthly_images_generated, quota_reset_date FROM users WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(conn)
    .await?;
    Err(QuotaError::Exceeded { message: exceeded_message(plan, limit, used, images, resets_at), resets_at })
}

/// Gives back `images` of `reservation` that were not produced. A refund for a month that has
/// already reset changes nothing (it would lower the new month's count).
///
/// # Errors
/// The database failed.
pub async fn refund(
    conn: &mut PgConnection,
    user: UserId,
    images: i32,
    reservation_period: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    if images <= 0 {
        return Ok(());
    }
    sqlx::query(
        "UPDATE users SET monthly_images_generated = greatest(monthly_images_generated - $2, 0)
         WHERE user_id = $1 AND quota_reset_date = $3",
    )
    .bind(user)
    .bind(images)
    .bind(reservation_period)
    .execute(conn)
    .await?;
    Ok(())
}

/// How long until `resets_at`, for a `Retry-After` (zero once it has passed).
#[must_use]
pub fn wait_until(resets_at: OffsetDateTime) -> std::time::Duration {
    (resets_at - OffsetDateTime::now_utc()).try_into().unwrap_or_default()
}

/// The 429 message: what is left, when it resets, and the plan that would give more.
#[must_use]
pub fn exceeded_message(
    plan: Plan,
    limit: Option<i32>,
    used: i32,
    asked: i32,
    resets_at: OffsetDateTime,
) -> String {
    let left = limit.map_or(0, |limit| (limit - used).max(0));
    let date = resets_at.date();
    let more = Plan::ALL
        .into_iter()
        .find(|p| *p > plan && p.limits().monthly_images.is_none_or(|m| m > limit.unwrap_or(0)));
    let upgrade = match more {
        Some(p) => match p.limits().monthly_images {
            Some(m) => {
                format!("Upgrade to the {} plan for {m} images a month at /upgrade.", p.display_name())
            }
            None => format!("Upgrade to the {} plan at /upgrade.", p.display_name()),
        },
        None => "Contact us to raise your quota.".to_owned(),
    };
    let images = if left == 1 { "image" } else { "images" };
    format!(
        "Monthly quota exceeded: {left} {images} left of {} and this request needs {asked}; it resets on {date}. {upgrade}",
        limit.unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_refusal_says_what_is_left_when_it_resets_and_which_plan_gives_more() {
        let resets = datetime!(2026-12-01 00:00 UTC);
        let free = exceeded_message(Plan::Free, Some(100), 100, 1, resets);
        assert_eq!(
            free,
            "Monthly quota exceeded: 0 images left of 100 and this request needs 1; it resets on 2026-12-01. \
             Upgrade to the Pro plan for 1000 images a month at /upgrade."
        );
        assert!(exceeded_message(Plan::Pro, Some(1000), 999, 4, resets).contains("1 image left"));
        assert!(
            exceeded_message(Plan::Studio, Some(5000), 5000, 1, resets)
                .contains("Enterprise plan at /upgrade")
        );
        assert!(
            exceeded_message(Plan::Enterprise, Some(20), 20, 1, resets)
                .ends_with("Contact us to raise your quota.")
        );
    }
}
