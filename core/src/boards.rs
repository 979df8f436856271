//! Boards, the first tenant table: every query runs in a [`TenantTx`], so row-level security
//! decides what exists, and each query also names the owner (defence in depth).

use contract::boards::Board;
use time::OffsetDateTime;

use crate::tenancy::{TenantDb, TenantError};
use contract::ids::{BoardId, ImageId, UserId};

/// What a second board of the same name is told.
const DUPLICATE_NAME: &str = "You already have a board with this name.";

/// Longest board name.
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, sqlx::FromRow)]
struct BoardRow {
    board_id: BoardId,
    name: String,
    cover_image_id: Option<ImageId>,
    image_count: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<BoardRow> for Board {
    fn from(row: BoardRow) -> Self {
        Self {
            board_id: row.board_id,
            name: row.name,
            cover_image_id: row.cover_image_id,
            image_count: row.image_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str = "board_id, name, cover_image_id, \
     (SELECT count(*) FROM images i WHERE i.board_id = boards.board_id AND i.user_id = boards.user_id \
       AND i.origin IN ('generated', 'uploaded')) AS image_count, \
     created_at, updated_at";

/// A trimmed board name of 1–100 characters on one line.
///
/// # Errors
/// A 422 for `name`.
pub fn check_name(raw: &str) -> Result<String, TenantError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(TenantError::invalid(
            "invalid_name",
            "name",
            format!("Give the board a name of 1 to {MAX_NAME_CHARS} characters, on one line."),
        ));
    }
    Ok(name.to_owned())
}

/// The caller's boards, oldest first.
///
/// # Errors
/// The database failed.
pub async fn list(db: &TenantDb, user: UserId) -> Result<Vec<Board>, TenantError> {
    let mut tx = db.begin(user).await?;
    let rows: Vec<BoardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM boards WHERE user_id = $1 ORDER BY created_at, board_id"
    )))
    .bind(user)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(Board::from).collect())
}

/// Creates a board owned by the caller (whatever else a request says).
///
/// # Errors
/// 422 for an invalid name.
pub async fn create(db: &TenantDb, user: UserId, name: &str) -> Result<Board, TenantError> {
    let name = check_name(name)?;
    let mut tx = db.begin(user).await?;
    let row: BoardRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO boards (user_id, name) VALUES ($1, $2) RETURNING {COLUMNS}"
    )))
    .bind(user)
    .bind(name)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| TenantError::unique_as(e, DUPLICATE_NAME))?;
    tx.commit().await?;
    Ok(row.into())
}

/// One of the caller's boards.
///
/// # Errors
/// 404 if it is not theirs or does not exist.
pub async fn get(db: &TenantDb, user: UserId, id: BoardId) -> Result<Board, TenantError> {
    let mut tx = db.begin(user).await?;
    let row: Option<BoardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM boards WHERE board_id = $1 AND user_id = $2"
    )))
    .bind(id)
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.map(Board::from).ok_or(TenantError::NotFound)
}

/// Renames one of the caller's boards.
///
/// # Errors
/// 404 if it is not theirs; 422 for an invalid name.
pub async fn rename(
    db: &TenantDb,
    user: UserId,
    id: BoardId,
    name: Option<&str>,
) -> Result<Board, TenantError> {
    let name = name.map(check_name).transpose()?;
    let mut tx = db.begin(user).await?;
    let row: Option<BoardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE boards SET name = COALESCE($3, name) WHERE board_id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(user)
    .bind(name)
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| TenantError::unique_as(e, DUPLICATE_NAME))?;
    tx.commit().await?;
    row.map(Board::from).ok_or(TenantError::NotFound)
}

/// Deletes one of the caller's boards.
///
/// # Errors
/// 404 if it is not theirs.
pub async fn delete(db: &TenantDb, user: UserId, id: BoardId) -> Result<(), TenantError> {
    db.delete_owned(user, "boards", "board_id", id.0).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Penguins ").unwrap(), "Penguins");
        for bad in ["", "   ", &"x".repeat(101), "two\nlines"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"é".repeat(100)).is_ok());
    }
}
