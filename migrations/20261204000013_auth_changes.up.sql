-- `pingvas_auth`: something an access-token check reads changed, so every server instance drops
-- the checks it keeps (core/src/accounts/recent_checks.rs). The payload names what changed:
-- `user:<uuid>` (the account or one of its sessions) or `token:<uuid>` (a revoked access token).
-- Sent by PostgreSQL at commit, so every instance hears every change that committed, whichever
-- code (or person at a psql prompt) made it.
CREATE FUNCTION auth_changed_notify_user() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('pingvas_auth', 'user:' || OLD.user_id::text);
    ELSE
        PERFORM pg_notify('pingvas_auth', 'user:' || NEW.user_id::text);
        IF OLD.user_id IS DISTINCT FROM NEW.user_id THEN
            PERFORM pg_notify('pingvas_auth', 'user:' || OLD.user_id::text);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION auth_changed_notify_token() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('pingvas_auth', 'token:' || NEW.jti::text);
    RETURN NULL;
END;
$$;

-- The columns an access-token check reads; writes that leave them as they were stay silent.
CREATE TRIGGER users_auth_changed
    AFTER UPDATE ON users
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.email IS DISTINCT FROM NEW.email
          OR OLD.is_active IS DISTINCT FROM NEW.is_active
          OR OLD.is_staff IS DISTINCT FROM NEW.is_staff
          OR OLD.is_superuser IS DISTINCT FROM NEW.is_superuser
          OR OLD.subscription_plan IS DISTINCT FROM NEW.subscription_plan
          OR OLD.email_verified IS DISTINCT FROM NEW.email_verified)
    EXECUTE FUNCTION auth_changed_notify_user();

CREATE TRIGGER users_auth_deleted
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION auth_changed_notify_user();

CREATE TRIGGER user_sessions_auth_changed
    AFTER UPDATE ON user_sessions
    FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.family_id IS DISTINCT FROM NEW.family_id
          OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION auth_changed_notify_user();

CREATE TRIGGER user_sessions_auth_deleted
    AFTER DELETE ON user_sessions
    FOR EACH ROW EXECUTE FUNCTION auth_changed_notify_user();

CREATE TRIGGER revoked_access_tokens_auth_changed
    AFTER INSERT ON revoked_access_tokens
    FOR EACH ROW EXECUTE FUNCTION auth_changed_notify_token();
