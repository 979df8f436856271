//! The user's own profile: reading it (with plan and quota) and validating edits.

use contract::account::{Quota, UpdateProfileRequest, UserProfile};
use contract::text::has_stray_control;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::{AccountError, Accounts, CurrentUser};
use contract::ids::UserId;

/// Longest display name.
pub const MAX_FULL_NAME_CHARS: usize = 100;
/// Longest bio.
pub const MAX_BIO_CHARS: usize = 1000;

#[derive(Debug, sqlx::FromRow)]
struct ProfileRow {
    user_id: UserId,
    email: String,
    email_verified: bool,
    username: Option<String>,
    full_name: Option<String>,
    avatar_url: Option<String>,
    bio: Option<String>,
    locale: String,
    timezone: String,
    subscription_plan: String,
    billing_status: String,
    monthly_image_quota: Option<i32>,
    monthly_images_generated: i32,
    quota_reset_date: OffsetDateTime,
    has_password: bool,
    linked_providers: Vec<String>,
    is_staff: bool,
    is_superuser: bool,
    created_at: OffsetDateTime,
}

impl From<ProfileRow> for UserProfile {
    fn from(row: ProfileRow) -> Self {
        let remaining = row.monthly_image_quota.map(|limit| (limit - row.monthly_images_generated).max(0));
        Self {
            user_id: row.user_id,
            email: row.email,
            email_verified: row.email_verified,
            username: row.username,
            full_name: row.full_name,
            avatar_url: row.avatar_url,
            bio: row.bio,
            locale: row.locale,
            timezone: row.timezone,
            subscription_plan: row.subscription_plan,
            billing_status: row.billing_status,
            quota: Quota {
                limit: row.monthly_image_quota,
                used: row.monthly_images_generated,
                remaining,
                resets_at: row.quota_reset_date,
            },
            has_password: row.has_password,
            linked_providers: row.linked_providers,
            is_staff: row.is_staff,
            is_superuser: row.is_superuser,
            created_at: row.created_at,
        }
    }
}

/// The profile of `user`.
///
/// # Errors
/// [`AccountError::Unauthenticated`] if the user no longer exists; database failures.
pub async fn load(conn: &mut PgConnection, user: UserId) -> Result<UserProfile, AccountError> {
    let row: Option<ProfileRow> = sqlx::query_as(
        "SELECT u.user_id, u.email, u.email_verified, u.username, u.full_name, u.avatar_url, u.bio,
                u.locale, u.timezone, u.subscription_plan, u.billing_status, u.monthly_image_quota,
                -- A month that is over reads as reset, before anything writes the reset.
                CASE WHEN u.quota_reset_date <= now() THEN 0 ELSE u.monthly_images_generated END
                    AS monthly_images_generated,
                CASE WHEN u.quota_reset_date <= now() THEN next_quota_reset() ELSE u.quota_reset_date END
                    AS quota_reset_date,
                u.password_hash IS NOT NULL AS has_password,
                ARRAY(SELECT i.provider FROM user_identities i WHERE i.user_id = u.user_id
                      ORDER BY i.provider) AS linked_providers,
                u.is_staff, u.is_superuser, u.created_at
         FROM users u WHERE u.user_id = $1",
    )
    .bind(user)
    .fetch_optional(conn)
    .await?;
    row.map(UserProfile::from).ok_or(AccountError::Unauthenticated)
}

/// A validated profile edit: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// New display name.
    pub full_name: Option<Option<String>>,
    /// New username (lower-cased).
    pub username: Option<Option<String>>,
    /// New bio.
    pub bio: Option<Option<String>>,
    /// New language tag.
    pub locale: Option<String>,
    /// New time zone (checked against the database's zone list when applied).
    pub timezone: Option<String>,
}

/// Trimmed text, `None` when empty.
fn cleared_if_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Checks a display name: at most [`MAX_FULL_NAME_CHARS`] characters, no control characters.
///
/// # Errors
/// A 422 for `full_name`.
pub fn check_full_name(raw: &str) -> Result<Option<String>, AccountError> {
    let name = cleared_if_empty(raw);
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_FULL_NAME_CHARS || n.chars().any(char::is_control))
    {
        return Err(AccountError::invalid(
            "invalid_full_name",
            "full_name",
            format!("Use at most {MAX_FULL_NAME_CHARS} characters for your name, on one line."),
        ));
    }
    Ok(name)
}

impl ProfileChanges {
    /// Validates a request.
    ///
    /// # Errors
    /// A 422 naming the first invalid field.
    pub fn parse(request: &UpdateProfileRequest) -> Result<Self, AccountError> {
        let mut changes = Self::default();
        if let Some(name) = &request.full_name {
            changes.full_name = Some(check_full_name(name)?);
        }
        if let Some(username) = &request.username {
            let username = cleared_if_empty(username).map(|u| u.to_lowercase());
            let valid = username.as_ref().is_none_or(|u| {
                (3..=32).contains(&u.len())
                    && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
            if !valid {
                return Err(AccountError::invalid(
                    "invalid_username",
                    "username",
                    "Use 3 to 32 letters, digits or underscores for your username.",
                ));
            }
            changes.username = Some(username);
        }
        if let Some(bio) = &request.bio {
            let bio = cleared_if_empty(bio);
            if bio.as_ref().is_some_and(|b| b.chars().count() > MAX_BIO_CHARS || has_stray_control(b)) {
                return Err(AccountError::invalid(
                    "invalid_bio",
                    "bio",
                    format!("Keep your bio to {MAX_BIO_CHARS} characters, without control characters."),
                ));
            }
            changes.bio = Some(bio);
        }
        if let Some(locale) = &request.locale {
            let locale = locale.trim();
            let mut parts = locale.split('-');
            let language_ok = parts
                .next()
                .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
            let rest_ok =
                parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
            if !(language_ok && rest_ok && locale.len() <= 35) {
                return Err(AccountError::invalid(
                    "invalid_locale",
                    "locale",
                    "Use a language tag such as en, de or pt-BR.",
                ));
            }
            changes.locale = Some(locale.to_owned());
        }
        if let Some(timezone) = &request.timezone {
            // Checked against PostgreSQL's list when applied; a control character (NUL above all)
            // cannot even be sent there.
            if timezone.chars().any(char::is_control) {
                return Err(AccountError::invalid(
                    "invalid_timezone",
                    "timezone",
                    "Use a time zone name such as UTC or Europe/Vilnius.",
                ));
            }
            changes.timezone = Some(timezone.trim().to_owned());
        }
        Ok(changes)
    }
}

/// Applies `changes` to `user`'s row.
///
/// # Errors
/// 422 for an unknown time zone, 409 for a taken username, database failures.
pub async fn update(
    conn: &mut PgConnection,
    user: UserId,
    changes: &ProfileChanges,
) -> Result<(), AccountError> {
    if let Some(zone) = &changes.timezone {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)")
                .bind(zone)
                .fetch_one(&mut *conn)
                .await?;
        if !known {
            return Err(AccountError::invalid(
                "invalid_timezone",
                "timezone",
                "Use a time zone name such as UTC or Europe/Vilnius.",
            ));
        }
    }
    let result = sqlx::query(
        "UPDATE users SET
             full_name = CASE WHEN $2 THEN $3 ELSE full_name END,
             username  = CASE WHEN $4 THEN $5 ELSE username END,
             bio       = CASE WHEN $6 THEN $7 ELSE bio END,
             locale    = COALESCE($8, locale),
             timezone  = COALESCE($9, timezone)
         WHERE user_id = $1",
    )
    .bind(user)
    .bind(changes.full_name.is_some())
    .bind(changes.full_name.clone().flatten())
    .bind(changes.username.is_some())
    .bind(changes.username.clone().flatten())
    .bind(changes.bio.is_some())
    .bind(changes.bio.clone().flatten())
    .bind(changes.locale.as_deref())
    .bind(changes.timezone.as_deref())
    .execute(conn)
    .await;
    match result {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("users_username_key") => {
            Err(AccountError::UsernameTaken)
        }
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}

impl Accounts {
    /// A user's own profile.
    ///
    /// # Errors
    /// The database failed.
    pub async fn profile(&self, user: UserId) -> Result<UserProfile, AccountError> {
        let mut conn = self.db.acquire().await?;
        load(&mut conn, user).await
    }

    /// Edits the caller's profile.
    ///
    /// # Errors
    /// 422 for an invalid field, 409 for a taken username.
    pub async fn update_profile(
        &self,
        user: &CurrentUser,
        request: &UpdateProfileRequest,
    ) -> Result<UserProfile, AccountError> {
        let changes = ProfileChanges::parse(request)?;
        let mut tx = self.db.begin().await?;
        update(&mut tx, user.user_id, &changes).await?;
        let updated = load(&mut tx, user.user_id).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> UpdateProfileRequest {
        UpdateProfileRequest::default()
    }

    #[test]
    fn absent_fields_stay_and_empty_ones_clear() {
        assert_eq!(ProfileChanges::parse(&request()).unwrap(), ProfileChanges::default());
        let changes = ProfileChanges::parse(&UpdateProfileRequest {
            full_name: Some("  ".into()),
            username: Some("Ada_Lovelace".into()),
            ..request()
        })
        .unwrap();
        assert_eq!(changes.full_name, Some(None));
        assert_eq!(changes.username, Some(Some("ada_lovelace".into())));
        assert_eq!(changes.bio, None);
    }

    #[test]
    fn each_field_is_checked_with_a_message_naming_it() {
        let cases = [
            (UpdateProfileRequest { full_name: Some("x".repeat(101)), ..request() }, "full_name"),
            (UpdateProfileRequest { full_name: Some("a\nb".into()), ..request() }, "full_name"),
            (UpdateProfileRequest { username: Some("ab".into()), ..request() }, "username"),
            (UpdateProfileRequest { username: Some("ada lovelace".into()), ..request() }, "username"),
            (UpdateProfileRequest { bio: Some("b".repeat(1001)), ..request() }, "bio"),
            (UpdateProfileRequest { locale: Some("english".into()), ..request() }, "locale"),
            (UpdateProfileRequest { locale: Some("en_US".into()), ..request() }, "locale"),
        ];
        for (request, expected) in cases {
            match ProfileChanges::parse(&request) {
                Err(AccountError::Invalid { field, .. }) => assert_eq!(field, expected, "{request:?}"),
                other => panic!("{request:?} gave {other:?}"),
            }
        }
        for locale in ["en", "pt-BR", "zh-Hant-TW"] {
            let parsed =
                ProfileChanges::parse(&UpdateProfileRequest { locale: Some(locale.into()), ..request() });
            assert_eq!(parsed.unwrap().locale.as_deref(), Some(locale));
        }
    }
}
