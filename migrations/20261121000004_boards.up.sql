-- Tenancy by row-level security. Every tenant table carries `user_id` and is visible only to
-- the transaction that declared that user with set_config('app.current_user_id', …, true); a
-- second transaction-local setting, app.is_staff, opens read access to staff. Without either
-- setting a query sees no rows. FORCE makes the policies apply to the table owner too.

-- SECURITY INVOKER (the default): they read the caller's own settings and grant nothing.
CREATE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('app.current_user_id', true), '')::uuid $$;

CREATE FUNCTION app_is_staff() RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(current_setting('app.is_staff', true), '')::boolean, false) $$;

-- Turns a table with a `user_id` column into a tenant table, the same way every time: row-level
-- security enabled and forced, the owner policy (USING and WITH CHECK), the staff read policy,
-- and the updated_at trigger. Migrations of later tenant tables CALL it.
CREATE PROCEDURE make_tenant_table(tbl regclass)
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY %I ON %s USING (user_id = app_current_user_id()) '
        'WITH CHECK (user_id = app_current_user_id())', tbl::text || '_owner', tbl);
    EXECUTE format('CREATE POLICY %I ON %s FOR SELECT USING (app_is_staff())', tbl::text || '_staff_read', tbl);
    EXECUTE format(
        'CREATE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION set_updated_at()',
        tbl::text || '_set_updated_at', tbl);
END;
$$;

REVOKE ALL ON PROCEDURE make_tenant_table(regclass) FROM PUBLIC;

-- A user's collections of images.
CREATE TABLE boards (
    board_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Filled from the transaction's user: a request cannot choose another owner.
    user_id         uuid NOT NULL DEFAULT app_current_user_id()
                    REFERENCES users (user_id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    cover_image_id  uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX boards_user_id_idx ON boards (user_id);

CALL make_tenant_table('boards');
