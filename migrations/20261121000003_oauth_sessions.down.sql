DROP TABLE oauth_sessions;
