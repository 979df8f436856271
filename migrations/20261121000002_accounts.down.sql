DROP TABLE revoked_access_tokens;
DROP TABLE user_sessions;
DROP TABLE user_identities;
DROP TABLE users;
