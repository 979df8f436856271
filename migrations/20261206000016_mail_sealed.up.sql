-- Issue 33, finding 10: a queued message's body carries a live token (a verification, reset or
-- email-change link), so it is stored sealed with the server's TOKEN_ENCRYPTION_KEY
-- (XChaCha20-Poly1305, bound to the message id) and a copy of the database alone cannot use it.
-- New messages leave text_body and html_body empty; messages queued before this migration still
-- send from them, and the sender blanks both forms once a message is sent or given up on.
ALTER TABLE mail_outbox ADD COLUMN sealed_body bytea CHECK (length(sealed_body) <= 1048576);
