-- Saved generation presets (Pro and up): a name and the generation parameters as JSON.
-- A tenant table like boards (see make_tenant_table in the boards migration).
CREATE TABLE workflows (
    workflow_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL DEFAULT app_current_user_id()
                 REFERENCES users (user_id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    params       jsonb NOT NULL DEFAULT '{}'::jsonb
                 CHECK (jsonb_typeof(params) = 'object' AND octet_length(params::text) <= 16384),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX workflows_user_id_idx ON workflows (user_id);

CALL make_tenant_table('workflows');
