-- Server-side browser sessions (tower-sessions) that hold an OAuth authorization in progress:
-- state, PKCE verifier, nonce. They live about ten minutes.
CREATE TABLE oauth_sessions (
    id           text PRIMARY KEY,
    data         jsonb NOT NULL,
    expiry_date  timestamptz NOT NULL
);

CREATE INDEX oauth_sessions_expiry_date_idx ON oauth_sessions (expiry_date);
