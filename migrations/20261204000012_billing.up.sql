-- Billing (SECURITY.md 48–50): what the provider last told us about each user's subscription,
-- from which their plan follows (core/src/billing/lifecycle.rs), and every webhook event once.

ALTER TABLE users
    -- none: never subscribed (the plan is an administrator's); pending: first payment not
    -- confirmed; active; past_due (grace until billing_grace_until); cancelled; revoked (refunded
    -- or disputed).
    ADD COLUMN billing_status text NOT NULL DEFAULT 'none'
        CHECK (billing_status IN ('none', 'pending', 'active', 'past_due', 'cancelled', 'revoked')),
    -- The plan of the subscription's price (what renews) and the highest plan paid for in the
    -- current period (a downgrade waits for the period's end).
    ADD COLUMN billing_price_plan text CHECK (billing_price_plan IN ('pro', 'studio', 'enterprise')),
    ADD COLUMN billing_paid_plan text CHECK (billing_paid_plan IN ('pro', 'studio', 'enterprise')),
    ADD COLUMN billing_period_end timestamptz,
    ADD COLUMN billing_cancel_at_period_end boolean NOT NULL DEFAULT false,
    ADD COLUMN billing_grace_until timestamptz,
    -- When the billing fields were last set, for the admin page and support.
    ADD COLUMN billing_updated_at timestamptz,
    ADD CONSTRAINT users_billing_ids_format CHECK (
        (billing_customer_id IS NULL OR billing_customer_id ~ '^[A-Za-z0-9_]{1,255}$')
        AND (billing_subscription_id IS NULL OR billing_subscription_id ~ '^[A-Za-z0-9_]{1,255}$'));

-- A provider customer belongs to one user; webhooks find the user by it.
CREATE UNIQUE INDEX users_billing_customer_key ON users (billing_customer_id) WHERE billing_customer_id IS NOT NULL;
CREATE INDEX users_billing_subscription_idx ON users (billing_subscription_id) WHERE billing_subscription_id IS NOT NULL;
-- The sweep's question: whose period or grace period has ended?
CREATE INDEX users_billing_due_idx ON users (billing_period_end) WHERE billing_status IN ('active', 'past_due');

-- Every webhook event, once: the primary key makes a second delivery of the same event a no-op
-- (SECURITY.md 48). The row is written in the transaction that applies the event, so an event
-- whose processing failed is not recorded and the provider's retry processes it. Only the id,
-- type and outcome are kept, not the payload (it holds personal data); deleting the account
-- keeps the id (for deduplication) but not whose it was.
CREATE TABLE billing_events (
    event_id     text PRIMARY KEY CHECK (event_id ~ '^[A-Za-z0-9_]{1,255}$'),
    event_type   text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
    -- The provider's creation time of the event.
    created_at   timestamptz NOT NULL,
    user_id      uuid REFERENCES users (user_id) ON DELETE SET NULL,
    outcome      text NOT NULL CHECK (length(outcome) BETWEEN 1 AND 200),
    received_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX billing_events_user_idx ON billing_events (user_id, received_at DESC) WHERE user_id IS NOT NULL;
