//! A deleted account's customer at the billing provider (issue 33, finding 9): queued for erasure
//! in the transaction that deletes the account, then every subscription that may still charge it
//! is cancelled and the customer deleted; what the provider could not do at once is retried.

use contract::ids::UserId;

use super::{BillingError, provider::ProviderError};
use crate::Core;

/// Queues `user`'s provider customer, if they have one, for erasure at the provider, in `conn`'s
/// transaction (the one that deletes the account); returns its id.
///
/// # Errors
/// The database failed.
pub async fn queue_erasure(
    conn: &mut sqlx::PgConnection,
    user: UserId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO billing_erasures (customer_id)
         SELECT billing_customer_id FROM users WHERE user_id = $1 AND billing_customer_id IS NOT NULL
         ON CONFLICT (customer_id) DO UPDATE SET next_attempt_at = now()
         RETURNING customer_id",
    )
    .bind(user)
    .fetch_optional(conn)
    .await
}

/// Erases `customer` at the provider: every subscription that may still charge them is cancelled
/// now, then the customer (with their saved cards) is deleted, and the queued erasure is done.
/// Where the provider fails, the erasure stays queued for [`retry_erasures`] (run with the sweep) to retry, later each time.
pub async fn erase_customer(core: &Core, customer: &str) {
    let Some(billing) = core.billing.as_ref() else {
        tracing::warn!(
            customer,
            "billing is not configured: the provider customer of a deleted account stays queued for erasure"
        );
        return;
    };
    let outcome = async {
        for subscription in billing.provider.live_subscriptions(customer).await? {
            match billing.provider.cancel_now(&subscription.id).await {
                Ok(_) | Err(ProviderError::NotFound(_)) => {}
                // Ended meanwhile (e.g. by the webhook); deleting the customer ends the rest.
                Err(e @ (ProviderError::Refused { .. } | ProviderError::Declined { .. })) => {
                    tracing::info!(subscription = %subscription.id, error = %e, "subscription not cancelled separately");
                }
                Err(e) => return Err(e),
            }
        }
        match billing.provider.delete_customer(customer).await {
            Ok(()) | Err(ProviderError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
    .await;
    let recorded = match &outcome {
        Ok(()) => {
            tracing::info!(customer, "provider customer of a deleted account erased");
            sqlx::query("DELETE FROM billing_erasures WHERE customer_id = $1")
                .bind(customer)
                .execute(&core.db)
                .await
        }
        Err(e) => {
            tracing::warn!(customer, error = %e, "provider customer of a deleted account not erased yet; retrying later");
            let error: String = e.to_string().chars().take(500).collect();
            // Backs off: a minute, doubling with each attempt, at most a day.
            sqlx::query(
                "UPDATE billing_erasures SET attempts = attempts + 1, last_error = $2,
                        next_attempt_at = now() + least(interval '1 day', interval '1 minute' * power(2, least(attempts, 20)))
                 WHERE customer_id = $1",
            )
            .bind(customer)
            .bind(error)
            .execute(&core.db)
            .await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(customer, error = %e, "could not record a provider erasure's outcome");
    }
}

/// Retries up to `limit` queued provider erasures that are due; returns how many were tried.
///
/// # Errors
/// The database failed.
pub async fn retry_erasures(core: &Core, limit: i64) -> Result<usize, BillingError> {
    if core.billing.is_none() {
        return Ok(0);
    }
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT customer_id FROM billing_erasures WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&core.db)
    .await?;
    for customer in &due {
        erase_customer(core, customer).await;
    }
    Ok(due.len())
}
