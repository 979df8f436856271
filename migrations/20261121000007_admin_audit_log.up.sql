-- Every change an administrator makes to a user: who, to whom, what, when. Append-only for the
-- application role (bootstrap revokes UPDATE and DELETE on it).
CREATE TABLE admin_audit_log (
    audit_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    uuid REFERENCES users (user_id) ON DELETE SET NULL,
    target_id   uuid REFERENCES users (user_id) ON DELETE SET NULL,
    action      text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    changes     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX admin_audit_log_target_idx ON admin_audit_log (target_id, created_at DESC);
