-- Accounts, linked sign-in identities, refresh-token sessions and revoked access tokens.
-- Columns follow the seed documents' `users` table (SEEDS.md §2); secrets are never stored in
-- plain text: passwords as argon2id PHC strings, provider tokens AEAD-sealed (bytea), refresh
-- tokens as SHA-256 digests.

CREATE TABLE users (
    user_id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Normalised (trimmed, lower-case) by the application before it gets here.
    email                    text NOT NULL
        CONSTRAINT users_email_format CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    username                 text
        CONSTRAINT users_username_format CHECK (username ~ '^[a-z0-9_]{3,32}$'),
    full_name                text CHECK (length(full_name) <= 100),
    -- NULL for accounts that sign in only through a provider.
    password_hash            text,
    email_verified           boolean NOT NULL DEFAULT false,
    -- How the account was created, and that provider's subject id.
    oauth_provider           text NOT NULL DEFAULT 'email' CHECK (oauth_provider IN ('google', 'discord', 'email')),
    oauth_id                 text,
    -- The latest provider sign-in's tokens, sealed with TOKEN_ENCRYPTION_KEY.
    oauth_access_token       bytea,
    oauth_refresh_token      bytea,
    avatar_url               text CHECK (length(avatar_url) <= 2048),
    bio                      text CHECK (length(bio) <= 1000),
    locale                   text NOT NULL DEFAULT 'en' CHECK (length(locale) BETWEEN 2 AND 35),
    timezone                 text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 64),
    subscription_plan        text NOT NULL DEFAULT 'free'
        CHECK (subscription_plan IN ('free', 'pro', 'studio', 'enterprise')),
    subscription_status      text NOT NULL DEFAULT 'active'
        CHECK (subscription_status IN ('active', 'cancelled', 'expired')),
    subscription_start_date  timestamptz,
    subscription_end_date    timestamptz,
    billing_customer_id      text,
    billing_subscription_id  text,
    -- Images per month; NULL means unlimited (Enterprise by default).
    monthly_image_quota      integer DEFAULT 100 CHECK (monthly_image_quota >= 0),
    monthly_images_generated integer NOT NULL DEFAULT 0 CHECK (monthly_images_generated >= 0),
    quota_reset_date         timestamptz NOT NULL DEFAULT (date_trunc('month', now()) + interval '1 month'),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    last_login_at            timestamptz,
    is_active                boolean NOT NULL DEFAULT true,
    is_staff                 boolean NOT NULL DEFAULT false,
    is_superuser             boolean NOT NULL DEFAULT false
);

CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_oauth_provider_idx ON users (oauth_provider);
CREATE INDEX users_oauth_id_idx ON users (oauth_id);
CREATE INDEX users_subscription_plan_idx ON users (subscription_plan);
CREATE INDEX users_created_at_idx ON users (created_at DESC);

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per provider account linked to a user: a user may have Google, Discord and a password.
-- Keyed by the provider's stable subject id, never by email (emails change at the provider).
CREATE TABLE user_identities (
    identity_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    provider         text NOT NULL CHECK (provider IN ('google', 'discord')),
    subject          text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    -- What the provider said at the latest sign-in, for display and audit only.
    email            text,
    email_verified   boolean NOT NULL DEFAULT false,
    access_token     bytea,
    refresh_token    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_login_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_identities_provider_subject_key UNIQUE (provider, subject),
    -- One identity per provider per user.
    CONSTRAINT user_identities_user_provider_key UNIQUE (user_id, provider)
);

-- One row per refresh token. Rotation marks the presented row `rotated_at` and inserts its
-- successor in the same family; presenting a rotated token again revokes the whole family.
-- `family_id` is the session users see and revoke; `expires_at` is the family's absolute end.
CREATE TABLE user_sessions (
    session_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    family_id           uuid NOT NULL,
    user_id             uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    refresh_token_hash  bytea NOT NULL CHECK (length(refresh_token_hash) = 32),
    -- The access token issued alongside this refresh token, revoked with it.
    access_token_jti    uuid NOT NULL,
    device_name         text CHECK (length(device_name) <= 200),
    ip_address          inet,
    user_agent          text CHECK (length(user_agent) <= 512),
    signed_in_at        timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_used_at        timestamptz NOT NULL DEFAULT now(),
    rotated_at          timestamptz,
    revoked_at          timestamptz,
    is_active           boolean NOT NULL GENERATED ALWAYS AS (rotated_at IS NULL AND revoked_at IS NULL) STORED,
    CONSTRAINT user_sessions_refresh_token_hash_key UNIQUE (refresh_token_hash)
);

CREATE INDEX user_sessions_user_id_idx ON user_sessions (user_id);
CREATE INDEX user_sessions_family_id_idx ON user_sessions (family_id);
CREATE INDEX user_sessions_expires_at_idx ON user_sessions (expires_at);

-- Access tokens revoked before their expiry (logout, password change); kept until `expires_at`.
CREATE TABLE revoked_access_tokens (
    jti         uuid PRIMARY KEY,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX revoked_access_tokens_expires_at_idx ON revoked_access_tokens (expires_at);
