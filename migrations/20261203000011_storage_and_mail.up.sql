-- Storage budgets (SECURITY.md 37) and the mail that verifies, resets and confirms (44–46).

-- Each user's stored images and bytes, kept by a trigger in the transaction that adds or removes
-- the image row, so every path (an upload, the worker, a delete, a cascade) keeps them exact and
-- an upload can check its budget with one locked read instead of summing every row.
ALTER TABLE users
    ADD COLUMN stored_images bigint NOT NULL DEFAULT 0 CHECK (stored_images >= 0),
    ADD COLUMN stored_bytes  bigint NOT NULL DEFAULT 0 CHECK (stored_bytes >= 0);

UPDATE users u SET stored_images = s.images, stored_bytes = s.bytes
FROM (SELECT user_id, count(*) AS images, coalesce(sum(byte_size), 0) AS bytes FROM images GROUP BY user_id) s
WHERE s.user_id = u.user_id;

CREATE FUNCTION images_count_storage() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE users SET stored_images = stored_images - 1, stored_bytes = stored_bytes - OLD.byte_size
        WHERE user_id = OLD.user_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE users SET stored_images = stored_images + 1, stored_bytes = stored_bytes + NEW.byte_size
        WHERE user_id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER images_count_storage AFTER INSERT OR DELETE OR UPDATE OF user_id, byte_size ON images
    FOR EACH ROW EXECUTE FUNCTION images_count_storage();

-- Single-use links sent by email: verifying an address, resetting a password, confirming a new
-- address. Only the SHA-256 of the token is kept; `email` is the address it was sent to, so a
-- verification link proves only that address (an email changed since makes it useless).
CREATE TABLE email_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    email       text NOT NULL CHECK (length(email) <= 254),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose, created_at DESC);
CREATE INDEX email_tokens_expires_at_idx ON email_tokens (expires_at);

-- Mail waiting to be sent, written in the transaction of what it tells about (so it goes out if
-- and only if that commits) and sent by a background task that retries with backoff. A message's
-- body holds its link only until it is sent: the sender blanks it then.
CREATE TABLE mail_outbox (
    message_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid REFERENCES users (user_id) ON DELETE CASCADE,
    recipient        text NOT NULL CHECK (length(recipient) <= 254),
    subject          text NOT NULL CHECK (length(subject) <= 200),
    text_body        text NOT NULL,
    html_body        text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    sent_at          timestamptz,
    -- Given up on after the last retry (logged); kept for the operator.
    failed_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_user_idx ON mail_outbox (user_id);
