-- Issue 33. Provider customers of deleted accounts still to be erased at the provider (finding 9):
-- written in the transaction that deletes the account, removed once every subscription of the
-- customer is cancelled and the customer deleted; the billing sweep retries what the provider
-- could not do at once. Only the provider's customer id is kept: nothing else of the person.
CREATE TABLE billing_erasures (
    customer_id     text PRIMARY KEY CHECK (customer_id ~ '^[A-Za-z0-9_]{1,255}$'),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text CHECK (length(last_error) <= 500),
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);

-- The image page runs with the search path it was made with, not the caller's (finding 10), and
-- only roles granted it may run it (the application role is granted EXECUTE after migrating).
ALTER FUNCTION tenant_image_page(uuid, uuid, boolean, bigint, bigint) SET search_path FROM CURRENT;
REVOKE EXECUTE ON FUNCTION tenant_image_page(uuid, uuid, boolean, bigint, bigint) FROM PUBLIC;
