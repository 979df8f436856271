DROP TABLE IF EXISTS billing_events;
DROP INDEX IF EXISTS users_billing_due_idx;
DROP INDEX IF EXISTS users_billing_subscription_idx;
DROP INDEX IF EXISTS users_billing_customer_key;
ALTER TABLE users
    DROP CONSTRAINT IF EXISTS users_billing_ids_format,
    DROP COLUMN IF EXISTS billing_updated_at,
    DROP COLUMN IF EXISTS billing_grace_until,
    DROP COLUMN IF EXISTS billing_cancel_at_period_end,
    DROP COLUMN IF EXISTS billing_period_end,
    DROP COLUMN IF EXISTS billing_paid_plan,
    DROP COLUMN IF EXISTS billing_price_plan,
    DROP COLUMN IF EXISTS billing_status;
