-- Messages still waiting lose their sealed body: they would go out empty, so they are given up on.
UPDATE mail_outbox SET failed_at = now(), last_error = 'body sealed by a newer version'
 WHERE sealed_body IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL;
ALTER TABLE mail_outbox DROP COLUMN sealed_body;
