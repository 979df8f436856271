DROP TRIGGER revoked_access_tokens_auth_changed ON revoked_access_tokens;
DROP TRIGGER user_sessions_auth_deleted ON user_sessions;
DROP TRIGGER user_sessions_auth_changed ON user_sessions;
DROP TRIGGER users_auth_deleted ON users;
DROP TRIGGER users_auth_changed ON users;
DROP FUNCTION auth_changed_notify_token();
DROP FUNCTION auth_changed_notify_user();
